-- The events feed in commit order. A position comes from a sequence when its row is inserted, so
-- with transactions committing side by side (the group commit's batches in flight, other nodes)
-- a reader could see position 11 before position 10 committed, and page past 10 for good. Each
-- event now carries its transaction's id: the feed is ordered by (transaction, position) and shows
-- only the events of transactions older than every change transaction still running (see
-- FEED_HORIZON in sql/dialect.rs), so an event that becomes visible later always sorts after what
-- was read. Events from before this migration keep
-- 0: their order and the cursors handed out for them stay as they were.
ALTER TABLE events ADD COLUMN tx BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ALTER COLUMN tx SET DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX events_in_commit_order ON events (merchant_id, tx, position);
DROP INDEX events_by_merchant;
