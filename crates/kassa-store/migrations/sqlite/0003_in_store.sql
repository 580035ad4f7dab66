-- In-store payments (seed 000): consumer-facing tokens on sessions, durable timers, and
-- consumer sessions with short codes.

-- The token a consumer-facing URL carries (an in-store payment link, an HPP distribution-module
-- token): finds the session without revealing its id.
ALTER TABLE sessions ADD COLUMN token TEXT;
CREATE UNIQUE INDEX sessions_by_token ON sessions (kind, token) WHERE token IS NOT NULL;

-- Work on a session due at a service-clock time. A node claims due rows with a wall-clock lease;
-- the work commits together with the row's deletion, so it takes effect once.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    session_kind TEXT NOT NULL,
    session_id   TEXT NOT NULL,
    action       TEXT NOT NULL,
    due_at       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    lease_until  INTEGER,
    lease_token  TEXT,
    created_at   INTEGER NOT NULL,
    FOREIGN KEY (session_kind, session_id) REFERENCES sessions (kind, id)
) STRICT;

CREATE INDEX jobs_due ON jobs (due_at);
CREATE INDEX jobs_by_lease ON jobs (lease_token) WHERE lease_token IS NOT NULL;

-- A customer's session on their phone, found by its short code while it is live and free.
CREATE TABLE consumer_sessions (
    id                 TEXT PRIMARY KEY,
    merchant_id        TEXT NOT NULL REFERENCES merchants (id),
    short_code         TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    payment_session_id TEXT
) STRICT;

CREATE INDEX consumer_sessions_by_code ON consumer_sessions (merchant_id, short_code, expires_at);
