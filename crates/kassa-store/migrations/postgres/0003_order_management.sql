-- Order Management and customer tokens: an order is a session of kind 'order' (its status machine, its events in the
-- feed, its timers), so is a customer token ('customer_token'), and the orders table keeps what the database itself guards: one order per
-- authorization and per payment session, and amounts that never break Klarna's rules. The same
-- schema as migrations/sqlite/0004_order_management.sql.

ALTER TABLE sessions DROP CONSTRAINT sessions_kind_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_kind_check CHECK (kind IN ('payment', 'hpp', 'distribution', 'order', 'customer_token'));

-- Orders placed before this migration become order sessions: their lines were not kept (the
-- order shows none), a captured one gets its one capture, and their history starts here (no
-- events before the next change).
INSERT INTO sessions (kind, id, merchant_id, parent_id, status, version, revision, created_at, updated_at,
                      expires_at, state)
SELECT 'order', o.order_id, o.merchant_id, o.payment_session_id, o.status,
       CASE o.status WHEN 'CAPTURED' THEN 2 ELSE 1 END, 1, o.created_at, o.created_at,
       (o.created_at / 86400000 + 28) * 86400000,
       json_build_object(
           'order_id', o.order_id,
           'klarna_reference', o.klarna_reference,
           'merchant_id', o.merchant_id,
           'payment_session_id', o.payment_session_id,
           'authorization_token', o.authorization_token,
           'lifecycle', json_build_object('status', o.status,
                                          'version', CASE o.status WHEN 'CAPTURED' THEN 2 ELSE 1 END,
                                          'updated_at', o.created_at),
           'fraud_status', 'ACCEPTED',
           'purchase_country', upper(coalesce(p.state::json #>> '{request,purchase_country}', '')),
           'purchase_currency', o.purchase_currency,
           'order_amount', o.order_amount,
           'original_order_amount', o.order_amount,
           'order_lines', json_build_array(),
           'created_at', o.created_at,
           'expires_at', (o.created_at / 86400000 + 28) * 86400000,
           'captures', CASE o.status WHEN 'CAPTURED' THEN json_build_array(json_build_object(
               'capture_id', gen_random_uuid()::text,
               'klarna_reference', o.klarna_reference || '-1',
               'captured_amount', o.captured_amount,
               'captured_at', o.created_at,
               'description', '',
               'order_lines', json_build_array(),
               'refunded_amount', 0,
               'shipping_info', json_build_array())) ELSE json_build_array() END,
           'refunds', json_build_array(),
           'shipping_info', json_build_array(),
           'acknowledged', false,
           'initial_payment_method', json_build_object('type', 'INVOICE', 'description', 'Pay later'))::text
FROM orders o LEFT JOIN sessions p ON p.kind = 'payment' AND p.id = o.payment_session_id;

-- An uncaptured one expires on its timer, as new orders do.
INSERT INTO jobs (id, session_kind, session_id, action, due_at, attempts, created_at)
SELECT gen_random_uuid()::text, 'order', order_id, 'expire_order', (created_at / 86400000 + 28) * 86400000, 0,
       created_at
FROM orders WHERE status = 'AUTHORIZED';

-- Token orders have no authorization and share their payment session: both may be NULL.
ALTER TABLE orders DROP COLUMN status;
ALTER TABLE orders ALTER COLUMN payment_session_id DROP NOT NULL;
ALTER TABLE orders ALTER COLUMN authorization_token DROP NOT NULL;
ALTER TABLE orders ADD COLUMN refunded_amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ALTER COLUMN refunded_amount DROP DEFAULT;
ALTER TABLE orders ADD CHECK (0 <= refunded_amount AND refunded_amount <= captured_amount AND captured_amount <= order_amount);
