-- Org hierarchy, accounts, tokens and log-in throttling.
-- IDs are UUIDs made in Rust and stored as text; times are UTC.

CREATE TABLE org_units (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('city', 'district', 'street', 'community', 'grid')),
    code TEXT COLLATE "C" NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent_id TEXT REFERENCES org_units (id),
    path TEXT COLLATE "C" NOT NULL UNIQUE,
    boundary TEXT,
    min_lon DOUBLE PRECISION,
    min_lat DOUBLE PRECISION,
    max_lon DOUBLE PRECISION,
    max_lat DOUBLE PRECISION,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX org_units_parent ON org_units (parent_id);
CREATE INDEX org_units_kind ON org_units (kind, code);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    org_unit_id TEXT NOT NULL REFERENCES org_units (id),
    org_path TEXT COLLATE "C" NOT NULL,
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX users_org_path ON users (org_path);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    user_id TEXT NOT NULL REFERENCES users (id),
    family_id TEXT NOT NULL,
    device_id TEXT,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX tokens_family ON tokens (family_id);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_expires ON tokens (expires_at);

-- One row per log-in attempt, for the per-IP and per-account rate limits (shared by all instances).
CREATE TABLE login_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    ip TEXT NOT NULL,
    username TEXT NOT NULL,
    succeeded BOOLEAN NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX login_attempts_ip ON login_attempts (ip, at);
CREATE INDEX login_attempts_username ON login_attempts (username, at);

-- Lockout state per normalised username, kept whether or not the account exists, so that a
-- locked answer tells an attacker nothing about which usernames are real.
CREATE TABLE login_lockouts (
    username TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    locked_until TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
