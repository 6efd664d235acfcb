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

CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();

-- The head only moves forward, and the switch-over point, once set, stays.
CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.seq < OLD.seq
       OR (OLD.keyed_after IS NOT NULL AND NEW.keyed_after IS DISTINCT FROM OLD.keyed_after) THEN
        RAISE EXCEPTION 'the audit head only moves forward' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_head_forward BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();

-- A deployment whose application role does not own the tables (recommended; see
-- ARCHITECTURE.md) grants it SELECT and INSERT on audit_log and SELECT, UPDATE on audit_head.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
REVOKE DELETE, TRUNCATE ON audit_head FROM PUBLIC;
