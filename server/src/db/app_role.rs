//! PostgreSQL's least-privilege deployment: the server connects as a role that does not own the
//! tables, so it cannot rewrite the audit log. Triggers refuse `UPDATE`, `DELETE` and `TRUNCATE`
//! of `audit_log` for everyone, but a table's owner may disable them; a role that owns nothing
//! can only insert and read audit records.
//!
//! `jiuzhu migrate --app-role NAME`, run as the owner, migrates and then grants NAME what the
//! server needs ([`grant`]); the server then runs as NAME (`database_url` with NAME's log-in),
//! and at start it neither needs nor tries to create anything ([`super::migrate`] checks that
//! every migration is applied first).

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::{AnyConnection, DbSetupError};

#[derive(QueryableByName)]
struct RoleFacts {
    #[diesel(sql_type = Bool)]
    exists: bool,
    #[diesel(sql_type = Bool)]
    superuser: bool,
    #[diesel(sql_type = Bool)]
    owner_or_member: bool,
}

/// A role name the statements below can carry: lower-case letters, digits and `_`.
fn valid_name(role: &str) -> bool {
    !role.is_empty()
        && role.len() <= 63
        && role
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !role.starts_with(|c: char| c.is_ascii_digit())
        && !role.starts_with("pg_")
}

fn refused(reason: String) -> DbSetupError {
    DbSetupError::Migration(reason)
}

/// Grants `role` what the server needs on every table, and no more: rows of every table but
/// `audit_log` (insert and read only), `audit_head` (read and move, never delete) and the
/// migrations' own table (read only). Refuses a role that does not exist, a superuser, the owner
/// itself and a member of it (either could disable the audit log's triggers). Idempotent; tables
/// made by later migrations are granted by default privileges, and running it again after an
/// upgrade does no harm.
pub fn grant(conn: &mut AnyConnection, role: &str) -> Result<(), DbSetupError> {
    let AnyConnection::Postgresql(pg) = conn else {
        return Err(refused(
            "--app-role is for PostgreSQL: the embedded SQLite file has no roles".into(),
        ));
    };
    if !valid_name(role) {
        return Err(refused(format!(
            "--app-role {role:?}: use lower-case letters, digits and _ (not pg_…)"
        )));
    }
    let facts: RoleFacts = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists, \
                COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = $1), false) AS superuser, \
                COALESCE((SELECT pg_has_role($1, current_user, 'MEMBER') \
                          FROM pg_roles WHERE rolname = $1), false) AS owner_or_member",
    )
    .bind::<Text, _>(role)
    .get_result(pg)?;
    if !facts.exists {
        return Err(refused(format!(
            "role {role} does not exist: create it first (CREATE ROLE {role} LOGIN PASSWORD '…')"
        )));
    }
    if facts.superuser {
        return Err(refused(format!(
            "role {role} is a superuser: it could rewrite the audit log"
        )));
    }
    if facts.owner_or_member {
        return Err(refused(format!(
            "role {role} is the tables' owner or a member of it: it could disable the audit log's triggers"
        )));
    }
    let statements = [
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}"),
        format!(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public \
             GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}"
        ),
        format!(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public \
             GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role}"
        ),
        // Planner statistics after a bulk import, as the owner (only ANALYZE).
        format!("GRANT EXECUTE ON FUNCTION analyze_tables(TEXT[]) TO {role}"),
        format!("REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {role}"),
        format!("REVOKE DELETE, TRUNCATE ON audit_head FROM {role}"),
        format!(
            "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON __diesel_schema_migrations FROM {role}"
        ),
    ];
    pg.transaction(|pg| {
        for sql in &statements {
            diesel::sql_query(sql.as_str()).execute(pg)?;
        }
        Ok(())
    })
    .map_err(DbSetupError::Query)
}

/// Whether the connection's role may alter the audit log (its owner, a member of the owner, or a
/// superuser): true on SQLite, where the file's owner is the only guard.
pub fn can_rewrite_audit(conn: &mut AnyConnection) -> Result<bool, DbSetupError> {
    #[derive(QueryableByName)]
    struct Answer {
        #[diesel(sql_type = Bool)]
        can: bool,
    }
    let AnyConnection::Postgresql(pg) = conn else {
        return Ok(true);
    };
    let answer: Answer = diesel::sql_query(
        "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) \
             OR pg_has_role(current_user, (SELECT tableowner FROM pg_tables \
                WHERE schemaname = 'public' AND tablename = 'audit_log'), 'MEMBER') AS can",
    )
    .get_result(pg)?;
    Ok(answer.can)
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn role_names_are_plain_identifiers() {
        for ok in ["jiuzhu_app", "app2", "_x"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "App",
            "2app",
            "pg_read_all_data",
            "a;drop",
            "a b",
            "a\"b",
            &"a".repeat(64),
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
