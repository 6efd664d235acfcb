-- Household import speed. The blind index of ID numbers becomes 16 raw bytes (the first half of
-- the HMAC-SHA-256 it held as 64 hex characters), which shrinks the largest random-order index
-- about threefold; stored values are converted in place, so a migrated database keeps finding
-- its numbers. `households_head_name` goes: no query reads it (name search looks at members).
--
-- SQLite cannot change a column's type, so `members` and `id_conflicts` are rebuilt (nothing
-- references either table), with their columns in the same order and their indexes recreated.
-- `unhex` returns NULL for anything that is not hex, which the NOT NULL refuses: a damaged value
-- stops the migration instead of silently becoming unfindable.

DROP INDEX households_head_name;

CREATE TABLE members_new (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    relation TEXT NOT NULL,
    id_cipher TEXT NOT NULL,
    id_key_id TEXT NOT NULL,
    id_blind BLOB NOT NULL,
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
INSERT INTO members_new (id, household_id, position, name, relation, id_cipher, id_key_id, id_blind,
    id_masked, birth_date, gender, health, disability_type, disability_level, daily_living,
    work_status, student_status, income, annual_income_fen, phone_cipher, phone_masked, created_at,
    updated_at)
SELECT id, household_id, position, name, relation, id_cipher, id_key_id, unhex(substr(id_blind, 1, 32)),
    id_masked, birth_date, gender, health, disability_type, disability_level, daily_living,
    work_status, student_status, income, annual_income_fen, phone_cipher, phone_masked, created_at,
    updated_at
FROM members ORDER BY rowid;
DROP TABLE members;
ALTER TABLE members_new RENAME TO members;
CREATE INDEX members_household ON members (household_id, position);
-- Exact search by ID number and the one-household-per-number check go through the blind index.
CREATE INDEX members_id_blind ON members (id_blind);

CREATE TABLE id_conflicts_new (
    id TEXT PRIMARY KEY NOT NULL,
    id_blind BLOB NOT NULL,
    id_masked TEXT NOT NULL,
    existing_household_id TEXT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    org_path TEXT NOT NULL,
    attempted TEXT NOT NULL,
    attempted_by TEXT,
    resolved BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO id_conflicts_new (id, id_blind, id_masked, existing_household_id, org_path, attempted,
    attempted_by, resolved, created_at)
SELECT id, unhex(substr(id_blind, 1, 32)), id_masked, existing_household_id, org_path, attempted,
    attempted_by, resolved, created_at
FROM id_conflicts ORDER BY rowid;
DROP TABLE id_conflicts;
ALTER TABLE id_conflicts_new RENAME TO id_conflicts;
CREATE INDEX id_conflicts_scope ON id_conflicts (org_path, created_at);
