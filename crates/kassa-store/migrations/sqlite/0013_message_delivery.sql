-- Distribution messages are sent, not only recorded: each row is an outbox entry committed with
-- the change that caused it (an HPP distribution, an order's send-out) and sent by the message
-- worker under a wall-clock lease, retried with back-off.
--
-- status: pending (to send at next_attempt_at, on the merchant's clock), sent (sent_at), or failed
-- (refused for good or out of attempts; last_error says why). Only a pending message has a next
-- attempt or a lease; a lease is a token with its end. attempts counts the sends made.
-- recipient is the address (for SMS the phone number, its country in country).
--
-- Messages recorded before kept only the record: they count as sent when recorded (SQLite changes
-- a table's CHECKs only by rebuilding it).
CREATE TABLE messages_delivered (
    id              TEXT PRIMARY KEY,
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    session_id      TEXT NOT NULL,
    method          TEXT NOT NULL CHECK (method IN ('sms', 'email', 'token')),
    recipient       TEXT NOT NULL,
    country         TEXT,
    subject         TEXT,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at INTEGER,
    last_error      TEXT,
    sent_at         INTEGER,
    lease_token     TEXT,
    lease_until     INTEGER,
    updated_at      INTEGER NOT NULL,
    CHECK (status <> 'pending' OR next_attempt_at IS NOT NULL),
    CHECK (status = 'pending' OR (next_attempt_at IS NULL AND lease_token IS NULL)),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
    CHECK (status <> 'failed' OR last_error IS NOT NULL),
    CHECK ((lease_token IS NULL) = (lease_until IS NULL))
) STRICT;

INSERT INTO messages_delivered (id, merchant_id, session_id, method, recipient, subject, body, created_at, status,
                                attempts, sent_at, updated_at)
SELECT id, merchant_id, session_id, method, recipient, subject, body, created_at, 'sent', 0, created_at, created_at
FROM messages;

DROP TABLE messages;
ALTER TABLE messages_delivered RENAME TO messages;

CREATE INDEX messages_by_session ON messages (session_id, created_at);
-- Due messages in the order a claim takes them; the claims a lease token holds.
CREATE INDEX messages_due ON messages (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX messages_by_lease ON messages (lease_token) WHERE lease_token IS NOT NULL;
