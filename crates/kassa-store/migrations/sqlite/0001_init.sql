-- kassa on SQLite: merchants, sessions of every kind, their events, authorizations, orders and
-- distribution messages. Timestamps are Unix milliseconds (UTC).

CREATE TABLE merchants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    username    TEXT NOT NULL UNIQUE,
    secret_salt TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

-- One row per session. Every write is guarded on status and revision (which every write
-- increases); version is the sequence number of the session's latest event. state is the whole
-- record as JSON.
CREATE TABLE sessions (
    kind        TEXT NOT NULL CHECK (kind IN ('payment', 'hpp', 'distribution')),
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
    PRIMARY KEY (kind, id)
) STRICT;

CREATE INDEX sessions_by_parent ON sessions (kind, parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX sessions_by_merchant ON sessions (merchant_id, created_at);

-- Append-only. position is the global cursor; (kind, session, seq) is gap-free per session.
CREATE TABLE events (
    position     INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT NOT NULL UNIQUE,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    session_kind TEXT NOT NULL,
    session_id   TEXT NOT NULL,
    seq          INTEGER NOT NULL CHECK (seq >= 1),
    status       TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (session_kind, session_id, seq),
    FOREIGN KEY (session_kind, session_id) REFERENCES sessions (kind, id)
) STRICT;

CREATE INDEX events_by_merchant ON events (merchant_id, position);

CREATE TABLE authorizations (
    token              TEXT PRIMARY KEY,
    merchant_id        TEXT NOT NULL REFERENCES merchants (id),
    payment_session_id TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('valid', 'ordered', 'released')),
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL
) STRICT;

CREATE INDEX authorizations_by_session ON authorizations (payment_session_id);

-- One order per payment session, one per authorization.
CREATE TABLE orders (
    order_id            TEXT PRIMARY KEY,
    klarna_reference    TEXT NOT NULL UNIQUE,
    merchant_id         TEXT NOT NULL REFERENCES merchants (id),
    payment_session_id  TEXT NOT NULL UNIQUE,
    authorization_token TEXT NOT NULL UNIQUE REFERENCES authorizations (token),
    status              TEXT NOT NULL CHECK (status IN ('AUTHORIZED', 'CAPTURED')),
    purchase_currency   TEXT NOT NULL,
    order_amount        INTEGER NOT NULL,
    captured_amount     INTEGER NOT NULL,
    created_at          INTEGER NOT NULL
) STRICT;

CREATE TABLE messages (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    session_id  TEXT NOT NULL,
    method      TEXT NOT NULL CHECK (method IN ('sms', 'email', 'token')),
    recipient   TEXT NOT NULL,
    subject     TEXT,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX messages_by_session ON messages (session_id, created_at);
