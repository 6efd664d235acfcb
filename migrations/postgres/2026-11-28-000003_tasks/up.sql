-- Forms and their immutable published versions, visit tasks with their event trail, and the change
-- log that per-worker sync reads.

CREATE TABLE forms (
    key TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    latest_version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE form_versions (
    form_key TEXT NOT NULL REFERENCES forms (key),
    version INTEGER NOT NULL,
    definition TEXT NOT NULL,
    published_by TEXT,
    published_at TIMESTAMP NOT NULL,
    PRIMARY KEY (form_key, version)
);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('visit', 'verify', 'recheck')),
    household_id TEXT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    org_path TEXT COLLATE "C" NOT NULL,
    form_key TEXT NOT NULL REFERENCES forms (key),
    form_version INTEGER,
    assignee_id TEXT REFERENCES users (id),
    state TEXT NOT NULL,
    due_date DATE NOT NULL,
    priority INTEGER NOT NULL,
    note TEXT NOT NULL,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX tasks_assignee ON tasks (assignee_id, state);
CREATE INDEX tasks_scope ON tasks (org_path, id);
CREATE INDEX tasks_household ON tasks (household_id, state);

CREATE TABLE task_events (
    id TEXT PRIMARY KEY NOT NULL,
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    from_state TEXT,
    to_state TEXT NOT NULL,
    actor_id TEXT,
    note TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX task_events_task ON task_events (task_id, at);

-- A global, gap-free sequence of what changed for whom. Writers take the head row first, so
-- sequence numbers become visible in order and a cursor never skips a change.
CREATE TABLE changes (
    seq BIGINT PRIMARY KEY NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    worker_id TEXT,
    op TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX changes_worker ON changes (worker_id, seq);

CREATE TABLE change_head (
    id INTEGER PRIMARY KEY NOT NULL,
    seq BIGINT NOT NULL
);
INSERT INTO change_head (id, seq) VALUES (1, 0);
