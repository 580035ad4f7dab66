-- Klarna-Idempotency-Key: what each key of a merchant's operation did, for 24 hours. A record of
-- work done is written with the work; refusal_status and refusal_body hold a refusal's answer.
CREATE TABLE idempotency_keys (
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    scope          TEXT NOT NULL,
    key            TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    resource_id    TEXT,
    refusal_status INTEGER,
    refusal_body   TEXT,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, scope, key)
) STRICT;

-- Records older than their 24 hours are deleted in the background (oldest first).
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
