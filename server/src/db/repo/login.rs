//! `login_attempts` and `login_lockouts`: the shared state behind log-in rate limits and lockout.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::limit::FirstRow;
use crate::db::schema::{login_attempts, login_lockouts};
use crate::db::AnyConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = login_lockouts)]
pub struct Lockout {
    pub username: String,
    pub failures: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

pub fn record_attempt(
    conn: &mut AnyConnection,
    ip: &str,
    username: &str,
    succeeded: bool,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::id.eq(uuid::Uuid::now_v7().to_string()),
            login_attempts::ip.eq(ip),
            login_attempts::username.eq(username),
            login_attempts::succeeded.eq(succeeded),
            login_attempts::at.eq(at),
        ))
        .execute(conn)
}

/// Attempts from an IP since a time, and the oldest of them (for Retry-After).
pub fn attempts_by_ip(
    conn: &mut AnyConnection,
    ip: &str,
    since: NaiveDateTime,
) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    login_attempts::table
        .filter(login_attempts::ip.eq(ip))
        .filter(login_attempts::at.gt(since))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(login_attempts::at),
        ))
        .first_row(conn)
}

pub fn attempts_by_username(
    conn: &mut AnyConnection,
    username: &str,
    since: NaiveDateTime,
) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    login_attempts::table
        .filter(login_attempts::username.eq(username))
        .filter(login_attempts::at.gt(since))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(login_attempts::at),
        ))
        .first_row(conn)
}

pub fn purge_attempts(conn: &mut AnyConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(login_attempts::table.filter(login_attempts::at.lt(before))).execute(conn)
}

pub fn lockout(conn: &mut AnyConnection, username: &str) -> QueryResult<Option<Lockout>> {
    login_lockouts::table
        .find(username)
        .select(Lockout::as_select())
        .first_row(conn)
        .optional()
}

pub fn save_lockout(conn: &mut AnyConnection, row: &Lockout) -> QueryResult<usize> {
    let n = diesel::update(login_lockouts::table.find(&row.username))
        .set(row)
        .execute(conn)?;
    if n == 1 {
        return Ok(n);
    }
    diesel::insert_into(login_lockouts::table)
        .values(row)
        .execute(conn)
}

pub fn clear_lockout(conn: &mut AnyConnection, username: &str) -> QueryResult<usize> {
    diesel::delete(login_lockouts::table.find(username)).execute(conn)
}
