-- Order Management and customer tokens: an order is a session of kind 'order' (its status machine, its events in the
-- feed, its timers), so is a customer token ('customer_token'), and the orders table keeps what the database itself guards: one order per
-- authorization and per payment session, and amounts that never break Klarna's rules.
--
-- SQLite cannot change a CHECK in place: both tables are rebuilt, which SQLite allows only with
-- foreign keys off; kassa runs its migrations so and checks the keys after (sql/mod.rs).

CREATE TABLE sessions_new (
    kind        TEXT NOT NULL CHECK (kind IN ('payment', 'hpp', 'distribution', 'order', 'customer_token')),
    id          TEXT NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    parent_id   TEXT,
    status      TEXT NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    revision    INTEGER NOT NULL CHECK (revision >= 1),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    state       TEXT NOT NULL,
    token       TEXT,
    PRIMARY KEY (kind, id)
) STRICT;
INSERT INTO sessions_new (kind, id, merchant_id, parent_id, status, version, revision, created_at, updated_at,
                          expires_at, state, token)
SELECT kind, id, merchant_id, parent_id, status, version, revision, created_at, updated_at, expires_at, state, token
FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_by_parent ON sessions (kind, parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX sessions_by_merchant ON sessions (merchant_id, created_at);
CREATE UNIQUE INDEX sessions_by_token ON sessions (kind, token) WHERE token IS NOT NULL;

-- Orders placed before this migration become order sessions: their lines were not kept (the
-- order shows none), a captured one gets its one capture, and their history starts here (no
-- events before the next change).
INSERT INTO sessions (kind, id, merchant_id, parent_id, status, version, revision, created_at, updated_at,
                      expires_at, state)
SELECT 'order', o.order_id, o.merchant_id, o.payment_session_id, o.status,
       CASE o.status WHEN 'CAPTURED' THEN 2 ELSE 1 END, 1, o.created_at, o.created_at,
       (o.created_at / 86400000 + 28) * 86400000,
       json_object(
           'order_id', o.order_id,
           'klarna_reference', o.klarna_reference,
           'merchant_id', o.merchant_id,
           'payment_session_id', o.payment_session_id,
           'authorization_token', o.authorization_token,
           'lifecycle', json_object('status', o.status, 'version', CASE o.status WHEN 'CAPTURED' THEN 2 ELSE 1 END,
                                    'updated_at', o.created_at),
           'fraud_status', 'ACCEPTED',
           'purchase_country', upper(coalesce(json_extract(p.state, '$.request.purchase_country'), '')),
           'purchase_currency', o.purchase_currency,
           'order_amount', o.order_amount,
           'original_order_amount', o.order_amount,
           'order_lines', json('[]'),
           'created_at', o.created_at,
           'expires_at', (o.created_at / 86400000 + 28) * 86400000,
           'captures', CASE o.status WHEN 'CAPTURED' THEN json_array(json_object(
               'capture_id', lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
                   || substr(lower(hex(randomblob(2))), 2) || '-a' || substr(lower(hex(randomblob(2))), 2) || '-'
                   || lower(hex(randomblob(6))),
               'klarna_reference', o.klarna_reference || '-1',
               'captured_amount', o.captured_amount,
               'captured_at', o.created_at,
               'description', '',
               'order_lines', json('[]'),
               'refunded_amount', 0,
               'shipping_info', json('[]'))) ELSE json('[]') END,
           'refunds', json('[]'),
           'shipping_info', json('[]'),
           'acknowledged', json('false'),
           'initial_payment_method', json_object('type', 'INVOICE', 'description', 'Pay later'))
FROM orders o LEFT JOIN sessions p ON p.kind = 'payment' AND p.id = o.payment_session_id;

-- An uncaptured one expires on its timer, as new orders do.
INSERT INTO jobs (id, session_kind, session_id, action, due_at, attempts, created_at)
SELECT lower(hex(randomblob(16))), 'order', order_id, 'expire_order', (created_at / 86400000 + 28) * 86400000, 0,
       created_at
FROM orders WHERE status = 'AUTHORIZED';

-- Token orders have no authorization and share their payment session: both may be NULL.
CREATE TABLE orders_new (
    order_id            TEXT PRIMARY KEY,
    klarna_reference    TEXT NOT NULL UNIQUE,
    merchant_id         TEXT NOT NULL REFERENCES merchants (id),
    payment_session_id  TEXT UNIQUE,
    authorization_token TEXT UNIQUE REFERENCES authorizations (token),
    purchase_currency   TEXT NOT NULL,
    order_amount        INTEGER NOT NULL,
    captured_amount     INTEGER NOT NULL,
    refunded_amount     INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    CHECK (0 <= refunded_amount AND refunded_amount <= captured_amount AND captured_amount <= order_amount)
) STRICT;
INSERT INTO orders_new (order_id, klarna_reference, merchant_id, payment_session_id, authorization_token,
                        purchase_currency, order_amount, captured_amount, refunded_amount, created_at)
SELECT order_id, klarna_reference, merchant_id, payment_session_id, authorization_token, purchase_currency,
       order_amount, captured_amount, 0, created_at
FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
