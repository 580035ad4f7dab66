-- Distribution messages are sent, not only recorded: each row is an outbox entry committed with
-- the change that caused it (an HPP distribution, an order's send-out) and sent by the message
-- worker under a wall-clock lease, retried with back-off.
--
-- status: pending (to send at next_attempt_at, on the merchant's clock), sent (sent_at), or failed
-- (refused for good or out of attempts; last_error says why). Only a pending message has a next
-- attempt or a lease; a lease is a token with its end. attempts counts the sends made.
-- recipient is the address (for SMS the phone number, its country in country).
--
-- Messages recorded before kept only the record: they count as sent when recorded.
ALTER TABLE messages ADD COLUMN country TEXT;
ALTER TABLE messages ADD COLUMN status TEXT NOT NULL DEFAULT 'sent' CHECK (status IN ('pending', 'sent', 'failed'));
ALTER TABLE messages ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0);
ALTER TABLE messages ADD COLUMN next_attempt_at BIGINT;
ALTER TABLE messages ADD COLUMN last_error TEXT;
ALTER TABLE messages ADD COLUMN sent_at BIGINT;
ALTER TABLE messages ADD COLUMN lease_token TEXT;
ALTER TABLE messages ADD COLUMN lease_until BIGINT;
ALTER TABLE messages ADD COLUMN updated_at BIGINT;

UPDATE messages SET sent_at = created_at, updated_at = created_at;

ALTER TABLE messages
    ALTER COLUMN status DROP DEFAULT,
    ALTER COLUMN attempts DROP DEFAULT,
    ALTER COLUMN updated_at SET NOT NULL,
    ADD CHECK (status <> 'pending' OR next_attempt_at IS NOT NULL),
    ADD CHECK (status = 'pending' OR (next_attempt_at IS NULL AND lease_token IS NULL)),
    ADD CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
    ADD CHECK (status <> 'failed' OR last_error IS NOT NULL),
    ADD CHECK ((lease_token IS NULL) = (lease_until IS NULL));

-- Due messages in the order a claim takes them; the claims a lease token holds.
CREATE INDEX messages_due ON messages (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX messages_by_lease ON messages (lease_token) WHERE lease_token IS NOT NULL;
