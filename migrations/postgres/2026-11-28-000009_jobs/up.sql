-- The queue of background jobs (department imports, heavy statistics). A worker claims a job by
-- taking its lease (PostgreSQL: FOR UPDATE SKIP LOCKED, so instances never take the same job);
-- a lease that runs out (the worker died) lets another worker run the job again, and only the
-- holder of the lease may record its result.

CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    org_path TEXT COLLATE "C" NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL,
    runs INTEGER NOT NULL,
    result TEXT,
    error TEXT,
    lease_owner TEXT,
    lease_until TIMESTAMP,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP
);
CREATE INDEX jobs_claim ON jobs (state, created_at);
CREATE INDEX jobs_scope ON jobs (org_path, id);
