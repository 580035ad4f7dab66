-- The index PostgreSQL has had since its first migration, found missing here by the schema-parity
-- test (tests/conformance/schema.rs): without it a session's events (`Store::session_events`, read
-- by the delivery log and the dashboard's session page) were a scan of every event.
CREATE INDEX events_by_session ON events (session_id, seq);
