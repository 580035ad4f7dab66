-- Status callbacks: the transactional outbox. A delivery row is inserted in the same transaction
-- as the event it carries; the delivery worker claims due rows with a lease, sends with no
-- transaction open, and records every attempt.

-- Standard Webhooks signing secrets (`whsec_…`, space-separated, newest first; two during a
-- rotation) and the retry policy for the merchant's callbacks.
ALTER TABLE merchants ADD COLUMN webhook_secrets TEXT NOT NULL DEFAULT '';
ALTER TABLE merchants ADD COLUMN retry_policy TEXT NOT NULL DEFAULT 'klarna' CHECK (retry_policy IN ('klarna', 'extended'));

CREATE TABLE deliveries (
    position        INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    event_id        TEXT NOT NULL REFERENCES events (event_id),
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    session_kind    TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    url             TEXT NOT NULL,
    policy          TEXT NOT NULL CHECK (policy IN ('klarna', 'extended')),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    lease_token     TEXT,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_in_order ON deliveries (session_id, url, seq) WHERE status = 'pending';
CREATE INDEX deliveries_by_event ON deliveries (event_id);
CREATE INDEX deliveries_by_session ON deliveries (session_id, position);
CREATE INDEX deliveries_by_lease ON deliveries (lease_token) WHERE lease_token IS NOT NULL;

CREATE TABLE delivery_attempts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id      TEXT NOT NULL REFERENCES deliveries (id),
    attempt          INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    status_code      INTEGER,
    error            TEXT,
    response_excerpt TEXT
) STRICT;

CREATE INDEX attempts_by_delivery ON delivery_attempts (delivery_id, attempt);
