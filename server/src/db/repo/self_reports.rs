//! `self_reports` and `citizen_codes`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::limit::FirstRow;
use crate::db::schema::{citizen_codes, self_reports};
use crate::db::AnyConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = self_reports)]
pub struct SelfReportRow {
    pub id: String,
    pub citizen_id: String,
    pub org_path: String,
    pub grid_id: Option<String>,
    pub household_id: Option<String>,
    pub description: String,
    pub category_hint: Option<String>,
    pub location_as_sent: String,
    pub lat: f64,
    pub lon: f64,
    pub phone_cipher: String,
    pub phone_masked: String,
    pub photo_ids: String,
    pub status: String,
    pub public_note: String,
    pub finding_id: Option<String>,
    pub task_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, row: &SelfReportRow) -> QueryResult<usize> {
    diesel::insert_into(self_reports::table)
        .values(row)
        .execute(conn)
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<SelfReportRow>> {
    self_reports::table
        .find(id)
        .select(SelfReportRow::as_select())
        .first_row(conn)
        .optional()
}

pub fn link(
    conn: &mut AnyConnection,
    id: &str,
    finding_id: Option<&str>,
    task_id: Option<&str>,
    status: &str,
) -> QueryResult<usize> {
    diesel::update(self_reports::table.find(id))
        .set((
            self_reports::finding_id.eq(finding_id),
            self_reports::task_id.eq(task_id),
            self_reports::status.eq(status),
        ))
        .execute(conn)
}

// disallowed_methods: the row count is the request's page size, not a constant limit_rows::<N>() can write.
#[allow(clippy::disallowed_methods)]
pub fn of_citizen(
    conn: &mut AnyConnection,
    citizen_id: &str,
    limit: i64,
) -> QueryResult<Vec<SelfReportRow>> {
    self_reports::table
        .filter(self_reports::citizen_id.eq(citizen_id))
        .order(self_reports::id.desc())
        .limit(limit)
        .select(SelfReportRow::as_select())
        .load(conn)
}

/// Households the citizen's reports were routed to.
pub fn households_of_citizen(
    conn: &mut AnyConnection,
    citizen_id: &str,
) -> QueryResult<Vec<String>> {
    self_reports::table
        .filter(self_reports::citizen_id.eq(citizen_id))
        .filter(self_reports::household_id.is_not_null())
        .select(self_reports::household_id.assume_not_null())
        .distinct()
        .load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = citizen_codes)]
pub struct CodeRow {
    pub user_id: String,
    pub code_hash: String,
    pub expires_at: NaiveDateTime,
    pub attempts: i32,
    pub verified_at: Option<NaiveDateTime>,
}

pub fn put_code(conn: &mut AnyConnection, row: &CodeRow) -> QueryResult<()> {
    diesel::delete(citizen_codes::table.find(&row.user_id)).execute(conn)?;
    diesel::insert_into(citizen_codes::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn code_of(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Option<CodeRow>> {
    citizen_codes::table
        .find(user_id)
        .select(CodeRow::as_select())
        .first_row(conn)
        .optional()
}

pub fn count_attempt(conn: &mut AnyConnection, user_id: &str) -> QueryResult<usize> {
    diesel::update(citizen_codes::table.find(user_id))
        .set(citizen_codes::attempts.eq(citizen_codes::attempts + 1))
        .execute(conn)
}

pub fn mark_verified(
    conn: &mut AnyConnection,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(citizen_codes::table.find(user_id))
        .set(citizen_codes::verified_at.eq(Some(now)))
        .execute(conn)
}
