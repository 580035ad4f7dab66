-- kassa on PostgreSQL: the same tables as on SQLite (see migrations/sqlite), in PostgreSQL's
-- types. Timestamps are Unix milliseconds (UTC); JSON is kept as text so both backends answer
-- byte for byte the same.

CREATE TABLE merchants (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    username        TEXT NOT NULL UNIQUE,
    secret_salt     TEXT NOT NULL,
    secret_hash     TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    webhook_secrets TEXT NOT NULL DEFAULT '',
    retry_policy    TEXT NOT NULL DEFAULT 'klarna' CHECK (retry_policy IN ('klarna', 'extended'))
);

CREATE TABLE sessions (
    kind        TEXT NOT NULL CHECK (kind IN ('payment', 'hpp', 'distribution')),
    id          TEXT NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    parent_id   TEXT,
    status      TEXT NOT NULL,
    version     BIGINT NOT NULL CHECK (version >= 1),
    revision    BIGINT NOT NULL CHECK (revision >= 1),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    state       TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);

CREATE INDEX sessions_by_parent ON sessions (kind, parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX sessions_by_merchant ON sessions (merchant_id, created_at);

CREATE TABLE events (
    position     BIGSERIAL PRIMARY KEY,
    event_id     TEXT NOT NULL UNIQUE,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    session_kind TEXT NOT NULL,
    session_id   TEXT NOT NULL,
    seq          BIGINT NOT NULL CHECK (seq >= 1),
    status       TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (session_kind, session_id, seq),
    FOREIGN KEY (session_kind, session_id) REFERENCES sessions (kind, id)
);

CREATE INDEX events_by_merchant ON events (merchant_id, position);
CREATE INDEX events_by_session ON events (session_id, seq);

CREATE TABLE authorizations (
    token              TEXT PRIMARY KEY,
    merchant_id        TEXT NOT NULL REFERENCES merchants (id),
    payment_session_id TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('valid', 'ordered', 'released')),
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL
);

CREATE INDEX authorizations_by_session ON authorizations (payment_session_id);

CREATE TABLE orders (
    order_id            TEXT PRIMARY KEY,
    klarna_reference    TEXT NOT NULL UNIQUE,
    merchant_id         TEXT NOT NULL REFERENCES merchants (id),
    payment_session_id  TEXT NOT NULL UNIQUE,
    authorization_token TEXT NOT NULL UNIQUE REFERENCES authorizations (token),
    status              TEXT NOT NULL CHECK (status IN ('AUTHORIZED', 'CAPTURED')),
    purchase_currency   TEXT NOT NULL,
    order_amount        BIGINT NOT NULL,
    captured_amount     BIGINT NOT NULL,
    created_at          BIGINT NOT NULL
);

CREATE TABLE messages (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    session_id  TEXT NOT NULL,
    method      TEXT NOT NULL CHECK (method IN ('sms', 'email', 'token')),
    recipient   TEXT NOT NULL,
    subject     TEXT,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE INDEX messages_by_session ON messages (session_id, created_at);

CREATE TABLE deliveries (
    position        BIGSERIAL PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    event_id        TEXT NOT NULL REFERENCES events (event_id),
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    session_kind    TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    url             TEXT NOT NULL,
    policy          TEXT NOT NULL CHECK (policy IN ('klarna', 'extended')),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    lease_token     TEXT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_in_order ON deliveries (session_id, url, seq) WHERE status = 'pending';
CREATE INDEX deliveries_by_event ON deliveries (event_id);
CREATE INDEX deliveries_by_session ON deliveries (session_id, position);
CREATE INDEX deliveries_by_lease ON deliveries (lease_token) WHERE lease_token IS NOT NULL;

CREATE TABLE delivery_attempts (
    id               BIGSERIAL PRIMARY KEY,
    delivery_id      TEXT NOT NULL REFERENCES deliveries (id),
    attempt          BIGINT NOT NULL,
    started_at       BIGINT NOT NULL,
    duration_ms      BIGINT NOT NULL,
    status_code      BIGINT,
    error            TEXT,
    response_excerpt TEXT
);

CREATE INDEX attempts_by_delivery ON delivery_attempts (delivery_id, attempt);
