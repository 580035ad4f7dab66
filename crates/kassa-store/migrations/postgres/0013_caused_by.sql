-- The correlation id of the request (or the job) whose change wrote an event or a message or
-- scheduled a job, so the work of the delivery worker, the message worker and the scheduler is
-- traced back to it. NULL for rows written before, and for work nothing caused.
ALTER TABLE events ADD COLUMN caused_by TEXT;
ALTER TABLE jobs ADD COLUMN caused_by TEXT;
ALTER TABLE messages ADD COLUMN caused_by TEXT;
