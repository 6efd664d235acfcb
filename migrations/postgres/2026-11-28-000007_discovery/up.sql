-- Proactive discovery to decision: dated standards, versioned rules, findings, applications with
-- their categories and timeline, citizens' verification codes and self-reports.

CREATE TABLE standards (
    district_code TEXT NOT NULL,
    effective_from DATE NOT NULL,
    -- Whole yuan: S per month, D per year, X per year.
    s_urban BIGINT,
    s_rural BIGINT,
    d_urban BIGINT,
    d_rural BIGINT,
    k DOUBLE PRECISION,
    r DOUBLE PRECISION,
    x BIGINT,
    p DOUBLE PRECISION,
    approval_delegated BOOLEAN NOT NULL,
    demo BOOLEAN NOT NULL,
    note TEXT NOT NULL,
    recorded_by TEXT,
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (district_code, effective_from)
);

-- Rule versions are immutable; an edit adds a version.
CREATE TABLE rules (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (id, version)
);

-- Rules that could not run for a district because a standard was missing there.
CREATE TABLE rule_gaps (
    rule_id TEXT NOT NULL,
    district_code TEXT NOT NULL,
    missing TEXT NOT NULL,
    rule_version INTEGER NOT NULL,
    times BIGINT NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    PRIMARY KEY (rule_id, district_code, missing)
);

CREATE TABLE findings (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    household_id TEXT REFERENCES households (id),
    self_report_id TEXT,
    org_path TEXT COLLATE "C" NOT NULL,
    rule_id TEXT,
    rule_version INTEGER,
    source TEXT NOT NULL,
    source_id TEXT,
    inputs TEXT NOT NULL,
    computed TEXT NOT NULL,
    categories TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'converted', 'dismissed')),
    reason TEXT,
    application_id TEXT,
    closed_by TEXT,
    closed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- At most one open finding per household and type.
CREATE UNIQUE INDEX findings_one_open ON findings (household_id, kind) WHERE state = 'open';
CREATE INDEX findings_scope ON findings (org_path, id);

CREATE TABLE applications (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    org_path TEXT COLLATE "C" NOT NULL,
    finding_id TEXT REFERENCES findings (id),
    state TEXT NOT NULL,
    delegated BOOLEAN NOT NULL,
    visit_id TEXT REFERENCES visits (id),
    data_check TEXT,
    objections INTEGER NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP,
    notice_ends_on DATE,
    decided_at TIMESTAMP,
    exit_until DATE,
    step_due DATE,
    total_due DATE,
    version BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX applications_scope ON applications (org_path, id);
CREATE INDEX applications_household ON applications (household_id);

CREATE TABLE application_categories (
    application_id TEXT NOT NULL REFERENCES applications (id),
    category TEXT NOT NULL,
    department TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (application_id, category)
);

CREATE TABLE application_events (
    application_id TEXT NOT NULL REFERENCES applications (id),
    seq INTEGER NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    actor_id TEXT,
    actor_role TEXT,
    note TEXT NOT NULL,
    public_note TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    PRIMARY KEY (application_id, seq)
);

-- A citizen's phone verification: the code is stored as a keyed hash.
CREATE TABLE citizen_codes (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL,
    verified_at TIMESTAMP
);

CREATE TABLE self_reports (
    id TEXT PRIMARY KEY NOT NULL,
    citizen_id TEXT NOT NULL REFERENCES users (id),
    -- The grid's path, or the city's when the report lies outside every grid (the unassigned queue).
    org_path TEXT COLLATE "C" NOT NULL,
    grid_id TEXT REFERENCES org_units (id),
    household_id TEXT REFERENCES households (id),
    description TEXT NOT NULL,
    category_hint TEXT,
    location_as_sent TEXT NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    phone_cipher TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    photo_ids TEXT NOT NULL,
    status TEXT NOT NULL,
    public_note TEXT NOT NULL,
    finding_id TEXT,
    task_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX self_reports_citizen ON self_reports (citizen_id, id);
CREATE INDEX self_reports_scope ON self_reports (org_path, id);
