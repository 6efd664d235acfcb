-- A running job's progress (an import's rows so far, households evaluated), written with each
-- renewal of its lease.
ALTER TABLE jobs ADD COLUMN progress TEXT;
