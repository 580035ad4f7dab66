-- Sandbox settings per merchant (sandbox mode only; production never writes or reads them).
--
-- sandbox_callbacks: how kassa misbehaves when it sends this merchant's status callbacks, the
-- ways at-least-once delivery allows (see docs/API.md, "Sandbox routes"). A merchant without a
-- row gets well-behaved callbacks. counted numbers the callbacks the drop_every setting has seen
-- since the settings were last written (the Nth, 2Nth … is dropped).
CREATE TABLE sandbox_callbacks (
    merchant_id   TEXT PRIMARY KEY REFERENCES merchants (id),
    duplicate     BIGINT NOT NULL CHECK (duplicate >= 0 AND duplicate <= 1),
    delay_seconds BIGINT NOT NULL CHECK (delay_seconds >= 0),
    fail_first    BIGINT NOT NULL CHECK (fail_first >= 0),
    failure       TEXT NOT NULL CHECK (failure IN ('http_500', 'timeout')),
    drop_every    BIGINT NOT NULL CHECK (drop_every >= 0),
    counted       BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL
);

-- The sandbox clock of each merchant: how far (milliseconds, never negative, only growing) its
-- time is ahead of the wall clock. A merchant without a row is at the wall clock.
CREATE TABLE sandbox_clocks (
    merchant_id   TEXT PRIMARY KEY REFERENCES merchants (id),
    offset_millis BIGINT NOT NULL CHECK (offset_millis >= 0),
    updated_at    BIGINT NOT NULL
);
