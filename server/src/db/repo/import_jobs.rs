//! `import_jobs`: the status and counts of a bulk import run through the API.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::limit::FirstRow;
use crate::db::schema::import_jobs;
use crate::db::AnyConnection;
use crate::in_scope;
use crate::scope::Scope;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = import_jobs)]
pub struct ImportJobRow {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub org_path: String,
    pub created_by: Option<String>,
    pub rows_read: i64,
    pub households_created: i64,
    pub households_unchanged: i64,
    pub rows_rejected: i64,
    pub errors: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A job's status and counts as [`update`] writes them.
#[derive(Debug, Clone, Copy)]
pub struct JobCounts<'a> {
    pub status: &'a str,
    pub rows_read: i64,
    pub households_created: i64,
    pub households_unchanged: i64,
    pub rows_rejected: i64,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, row: &ImportJobRow) -> QueryResult<usize> {
    diesel::insert_into(import_jobs::table)
        .values(row)
        .execute(conn)
}

/// The job of this kind with this id, in scope.
pub fn find_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    kind: &str,
    id: &str,
) -> QueryResult<Option<ImportJobRow>> {
    in_scope!(
        import_jobs::table
            .find(id)
            .filter(import_jobs::kind.eq(kind)),
        import_jobs::org_path,
        scope
    )
    .select(ImportJobRow::as_select())
    .first_row(conn)
    .optional()
}

/// Writes a job's status and counts; its error list (JSON text) only when `errors` is given.
pub fn update(
    conn: &mut AnyConnection,
    id: &str,
    counts: JobCounts<'_>,
    errors: Option<&str>,
) -> QueryResult<usize> {
    let target = import_jobs::table.find(id);
    let set = (
        import_jobs::status.eq(counts.status),
        import_jobs::rows_read.eq(counts.rows_read),
        import_jobs::households_created.eq(counts.households_created),
        import_jobs::households_unchanged.eq(counts.households_unchanged),
        import_jobs::rows_rejected.eq(counts.rows_rejected),
        import_jobs::updated_at.eq(counts.updated_at),
    );
    match errors {
        Some(text) => diesel::update(target)
            .set((set, import_jobs::errors.eq(text)))
            .execute(conn),
        None => diesel::update(target).set(set).execute(conn),
    }
}
