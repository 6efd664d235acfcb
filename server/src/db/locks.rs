//! Transaction-scoped locks that serialise writers where a check and a write must not interleave.
//! PostgreSQL under READ COMMITTED needs them (advisory locks held until the transaction ends);
//! on SQLite they do nothing, since a write transaction (`BEGIN IMMEDIATE`) already holds the
//! whole database.

use diesel::sql_types::Text;
use diesel::{QueryResult, RunQueryDsl};

use crate::db::AnyConnection;

/// Serialises every writer of members' ID numbers for the rest of the transaction.
pub fn id_numbers(conn: &mut AnyConnection) -> QueryResult<()> {
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(7415203311)").execute(pg)?;
    }
    Ok(())
}

/// Serialises the writers that name the same `key` for the rest of the transaction.
pub fn key(conn: &mut AnyConnection, key: &str) -> QueryResult<()> {
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(74152, hashtext($1))")
            .bind::<Text, _>(key)
            .execute(pg)?;
    }
    Ok(())
}
