-- Households (一户一档), members with encrypted ID numbers, status history, ID conflicts,
-- import jobs, and the hash-chained audit log.

CREATE TABLE households (
    id TEXT PRIMARY KEY NOT NULL,
    external_id TEXT UNIQUE,
    address TEXT NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    grid_id TEXT NOT NULL REFERENCES org_units (id),
    org_path TEXT COLLATE "C" NOT NULL,
    grid_overridden BOOLEAN NOT NULL DEFAULT FALSE,
    status TEXT NOT NULL,
    notes TEXT NOT NULL,
    head_member_id TEXT,
    head_name TEXT,
    member_count INTEGER NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- Keyset pagination within a scope: (org_path, id).
CREATE INDEX households_scope ON households (org_path, id);
CREATE INDEX households_status ON households (status, org_path);
CREATE INDEX households_grid ON households (grid_id);
CREATE INDEX households_head_name ON households (head_name);

CREATE TABLE household_tags (
    household_id TEXT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (household_id, tag)
);
CREATE INDEX household_tags_tag ON household_tags (tag);

CREATE TABLE members (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    relation TEXT NOT NULL,
    id_cipher TEXT NOT NULL,
    id_key_id TEXT NOT NULL,
    id_blind TEXT NOT NULL,
    id_masked TEXT NOT NULL,
    birth_date DATE NOT NULL,
    gender TEXT NOT NULL,
    health TEXT NOT NULL,
    disability_type TEXT,
    disability_level INTEGER,
    daily_living TEXT NOT NULL,
    work_status TEXT NOT NULL,
    student_status TEXT NOT NULL,
    income TEXT NOT NULL,
    annual_income_fen BIGINT NOT NULL,
    phone_cipher TEXT,
    phone_masked TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX members_household ON members (household_id, position);
-- Exact search by ID number and the one-household-per-number check go through the blind index.
CREATE INDEX members_id_blind ON members (id_blind);

CREATE TABLE household_status_history (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    from_date DATE NOT NULL,
    to_date DATE,
    note TEXT NOT NULL,
    recorded_by TEXT,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX household_status_history_household ON household_status_history (household_id, from_date);

CREATE TABLE id_conflicts (
    id TEXT PRIMARY KEY NOT NULL,
    id_blind TEXT NOT NULL,
    id_masked TEXT NOT NULL,
    existing_household_id TEXT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    org_path TEXT COLLATE "C" NOT NULL,
    attempted TEXT NOT NULL,
    attempted_by TEXT,
    resolved BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX id_conflicts_scope ON id_conflicts (org_path, created_at);

CREATE TABLE import_jobs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    org_path TEXT COLLATE "C" NOT NULL,
    created_by TEXT,
    rows_read BIGINT NOT NULL,
    households_created BIGINT NOT NULL,
    households_unchanged BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    errors TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Append-only and hash-chained: each row's hash covers its content and the previous row's hash.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    org_path TEXT COLLATE "C" NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);

-- One row: the head of the chain. Writers update it first, which serialises them on both backends.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
