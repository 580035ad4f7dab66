-- Sandbox settings per merchant (sandbox mode only; production never writes or reads them).
--
-- sandbox_callbacks: how kassa misbehaves when it sends this merchant's status callbacks, the
-- ways at-least-once delivery allows (see docs/API.md, "Sandbox routes"). A merchant without a
-- row gets well-behaved callbacks. counted numbers the callbacks the drop_every setting has seen
-- since the settings were last written (the Nth, 2Nth … is dropped).
CREATE TABLE sandbox_callbacks (
    merchant_id   TEXT PRIMARY KEY REFERENCES merchants (id),
    duplicate     INTEGER NOT NULL CHECK (duplicate >= 0 AND duplicate <= 1),
    delay_seconds INTEGER NOT NULL CHECK (delay_seconds >= 0),
    fail_first    INTEGER NOT NULL CHECK (fail_first >= 0),
    failure       TEXT NOT NULL CHECK (failure IN ('http_500', 'timeout')),
    drop_every    INTEGER NOT NULL CHECK (drop_every >= 0),
    counted       INTEGER NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL
) STRICT;

-- The sandbox clock of each merchant: how far (milliseconds, never negative, only growing) its
-- time is ahead of the wall clock. A merchant without a row is at the wall clock.
CREATE TABLE sandbox_clocks (
    merchant_id   TEXT PRIMARY KEY REFERENCES merchants (id),
    offset_millis INTEGER NOT NULL CHECK (offset_millis >= 0),
    updated_at    INTEGER NOT NULL
) STRICT;
