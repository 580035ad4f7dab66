-- The correlation id of the request (or the job) whose change wrote an event or scheduled a
-- job, so the delivery worker's and the scheduler's work is traced back to it. NULL for rows
-- written before, and for work nothing caused.
ALTER TABLE events ADD COLUMN caused_by TEXT;
ALTER TABLE jobs ADD COLUMN caused_by TEXT;
