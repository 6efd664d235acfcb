-- Visit reports. The phone's UUID is the id, so a resent visit is recognised; answers are sealed
-- (they hold ID numbers, health and income) and the body hash tells a replay from a clash.

CREATE TABLE visits (
    id TEXT PRIMARY KEY NOT NULL,
    task_id TEXT NOT NULL REFERENCES tasks (id),
    household_id TEXT NOT NULL REFERENCES households (id),
    org_path TEXT NOT NULL,
    worker_id TEXT NOT NULL REFERENCES users (id),
    form_key TEXT NOT NULL,
    form_version INTEGER NOT NULL,
    answers_key_id TEXT NOT NULL,
    answers_sealed TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    fix_as_sent TEXT NOT NULL,
    lat DOUBLE NOT NULL,
    lon DOUBLE NOT NULL,
    accuracy_m DOUBLE NOT NULL,
    fix_time TIMESTAMP NOT NULL,
    mock_location BOOLEAN NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    photo_ids TEXT NOT NULL,
    staff TEXT NOT NULL,
    supersedes TEXT REFERENCES visits (id),
    flags TEXT NOT NULL,
    flag_count INTEGER NOT NULL,
    review_state TEXT NOT NULL CHECK (review_state IN ('pending', 'approved', 'has_issues', 'rejected', 'superseded')),
    review_note TEXT,
    reviewed_by TEXT REFERENCES users (id),
    reviewed_at TIMESTAMP,
    received_at TIMESTAMP NOT NULL
);
CREATE INDEX visits_scope ON visits (org_path, id);
CREATE INDEX visits_household ON visits (household_id, received_at);
CREATE INDEX visits_worker_day ON visits (worker_id, started_at);
CREATE INDEX visits_task ON visits (task_id);

-- Periodic jobs: the row is held (FOR UPDATE SKIP LOCKED on PostgreSQL) while a run is in
-- progress, and says when the job last completed.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY NOT NULL,
    last_run_at TIMESTAMP
);
INSERT INTO job_leases (name, last_run_at) VALUES ('recheck', NULL);
