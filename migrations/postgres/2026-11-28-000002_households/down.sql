DROP TABLE audit_head;
DROP TABLE audit_log;
DROP TABLE import_jobs;
DROP TABLE id_conflicts;
DROP TABLE household_status_history;
DROP TABLE members;
DROP TABLE household_tags;
DROP TABLE households;
