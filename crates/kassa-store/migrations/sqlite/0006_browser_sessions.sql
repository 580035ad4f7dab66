-- Dashboard logins kept on the server: the cookie holds a random 256-bit token, the table only
-- its SHA-256 (hex), so the cookie cannot be made from what the database holds. Logout deletes
-- the row; every node reads the same table, so it ends the login everywhere at once.
CREATE TABLE browser_sessions (
    token_hash   TEXT PRIMARY KEY,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) STRICT;

CREATE INDEX browser_sessions_by_merchant ON browser_sessions (merchant_id);
CREATE INDEX browser_sessions_by_expiry ON browser_sessions (expires_at);

-- Expired consumer sessions (short codes) are deleted in the background, oldest first.
CREATE INDEX consumer_sessions_by_expiry ON consumer_sessions (expires_at);
