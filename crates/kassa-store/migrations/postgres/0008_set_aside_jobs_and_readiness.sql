-- A job that keeps failing is set aside with its last error: kept, never claimed, until an
-- operator retries it. `attempts` already counts the failed runs.
ALTER TABLE jobs ADD COLUMN last_error TEXT;
ALTER TABLE jobs ADD COLUMN failed_at BIGINT;
ALTER TABLE jobs ADD COLUMN status TEXT NOT NULL DEFAULT 'scheduled'
    CHECK (status IN ('scheduled', 'set_aside'));
ALTER TABLE jobs ADD CHECK (status = 'scheduled' OR last_error IS NOT NULL);

-- A session's jobs (its page), and the few set aside (the operator's list).
CREATE INDEX jobs_by_session ON jobs (session_kind, session_id);
CREATE INDEX jobs_set_aside ON jobs (created_at) WHERE status = 'set_aside';

-- The readiness probe's write (`Store::ping`): ready means a durable write commits now.
CREATE TABLE readiness (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    probes BIGINT NOT NULL
);
INSERT INTO readiness (id, probes) VALUES (1, 0);
