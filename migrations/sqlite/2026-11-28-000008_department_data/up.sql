-- Records from other departments (medical insurance, disabled persons' federation, education,
-- unemployment, deaths), one row per source record: importing the same record again changes
-- nothing. The ID number is kept only as its blind index and masked form.

CREATE TABLE department_records (
    source TEXT NOT NULL,
    record_id TEXT NOT NULL,
    import_id TEXT NOT NULL,
    line BIGINT NOT NULL,
    id_blind BLOB NOT NULL,
    id_masked TEXT NOT NULL,
    member_id TEXT REFERENCES members (id),
    household_id TEXT REFERENCES households (id),
    event_date DATE NOT NULL,
    amount_fen BIGINT,
    detail TEXT NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, record_id)
);
CREATE INDEX department_records_household ON department_records (household_id, source, event_date);
CREATE INDEX department_records_import ON department_records (import_id, household_id);

CREATE TABLE department_imports (
    id TEXT PRIMARY KEY NOT NULL,
    source TEXT NOT NULL,
    org_path TEXT NOT NULL,
    rows_read BIGINT NOT NULL,
    matched BIGINT NOT NULL,
    unmatched BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    findings_opened BIGINT NOT NULL,
    tasks_created BIGINT NOT NULL,
    errors TEXT NOT NULL,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
