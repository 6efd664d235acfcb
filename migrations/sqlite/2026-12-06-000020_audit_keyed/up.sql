-- The audit chain keyed by a secret outside the database (HMAC-SHA256), each record's result and
-- request id, and the log made append-only for the application's SQL.
ALTER TABLE audit_log ADD COLUMN result TEXT NOT NULL DEFAULT 'success';
ALTER TABLE audit_log ADD COLUMN request_id TEXT;
-- The last record chained under plain SHA-256 (records of earlier versions); NULL until the
-- first keyed write of an upgraded database sets it, 0 for a database that never had any.
ALTER TABLE audit_head ADD COLUMN keyed_after BIGINT;
UPDATE audit_head SET keyed_after = 0 WHERE seq = 0;
-- The search API filters by the caller's subtree or by the actor, newest first.
CREATE INDEX audit_log_org_path ON audit_log (org_path, seq);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- The head only moves forward, and the switch-over point, once set, stays.
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
WHEN NEW.seq < OLD.seq OR (OLD.keyed_after IS NOT NULL AND NEW.keyed_after IS NOT OLD.keyed_after)
BEGIN
    SELECT RAISE(ABORT, 'the audit head only moves forward');
END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'the audit head cannot be deleted');
END;
