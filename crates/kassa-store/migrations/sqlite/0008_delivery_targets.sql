-- A delivery keeps its callback target as the merchant gave it (placeholders unfilled): the
-- per-session order of callbacks holds per target, whatever its placeholders expand to, and a
-- target that answers again makes all of its waiting deliveries due at once.
ALTER TABLE deliveries ADD COLUMN target TEXT NOT NULL DEFAULT '';
UPDATE deliveries SET target = url;
DROP INDEX deliveries_in_order;
CREATE INDEX deliveries_in_order ON deliveries (session_id, target, seq) WHERE status = 'pending';

-- An attempt sent ahead of its delivery's schedule to learn whether a failing target answers
-- again; a failed probe leaves the delivery's attempts and schedule as they were.
ALTER TABLE delivery_attempts ADD COLUMN probe INTEGER NOT NULL DEFAULT 0 CHECK (probe >= 0 AND probe <= 1);
