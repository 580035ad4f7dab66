-- Due deliveries in the order a claim takes them (next attempt, then position), so a claim walks
-- the index and stops at its limit instead of sorting every due delivery.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, position) WHERE status = 'pending';
