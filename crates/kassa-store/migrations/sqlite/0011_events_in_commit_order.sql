-- The events feed's order key beside the position (see PostgreSQL's migration of the same name).
-- SQLite has one writer, whose transactions commit in position order: every event keeps 0.
ALTER TABLE events ADD COLUMN tx INTEGER NOT NULL DEFAULT 0;
CREATE INDEX events_in_commit_order ON events (merchant_id, tx, position);
DROP INDEX events_by_merchant;
