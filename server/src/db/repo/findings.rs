//! `findings`.

use chrono::NaiveDateTime;
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::limit::FirstRow;
use crate::db::schema::findings;
use crate::db::AnyConnection;
use crate::in_scope;
use crate::scope::Scope;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = findings)]
pub struct FindingRow {
    pub id: String,
    pub kind: String,
    pub household_id: Option<String>,
    pub self_report_id: Option<String>,
    pub org_path: String,
    pub rule_id: Option<String>,
    pub rule_version: Option<i32>,
    pub source: String,
    pub source_id: Option<String>,
    pub inputs: String,
    pub computed: String,
    pub categories: String,
    pub state: String,
    pub reason: Option<String>,
    pub application_id: Option<String>,
    pub closed_by: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, row: &FindingRow) -> QueryResult<usize> {
    diesel::insert_into(findings::table)
        .values(row)
        .execute(conn)
}

/// `state = 'open'` with the value in the SQL text. It matches the partial index
/// `findings_one_open`; with the value bound, SQLite reads the bound value to see whether the
/// index applies, and so plans a cached statement again at every execution.
fn is_open() -> diesel::dsl::Eq<findings::state, SqlLiteral<Text>> {
    findings::state.eq(diesel::dsl::sql::<Text>("'open'"))
}

pub fn open_of(
    conn: &mut AnyConnection,
    household_id: &str,
    kind: &str,
) -> QueryResult<Option<FindingRow>> {
    findings::table
        .filter(findings::household_id.eq(household_id))
        .filter(findings::kind.eq(kind))
        .filter(is_open())
        .select(FindingRow::as_select())
        .first_row(conn)
        .optional()
}

/// The open findings of these households.
pub fn open_of_many(
    conn: &mut AnyConnection,
    household_ids: &[String],
) -> QueryResult<Vec<FindingRow>> {
    findings::table
        .filter(findings::household_id.eq_any(household_ids))
        .filter(findings::state.eq("open"))
        .select(FindingRow::as_select())
        .load(conn)
}

/// Refreshes an open finding's evidence.
#[allow(clippy::too_many_arguments)]
pub fn refresh(
    conn: &mut AnyConnection,
    id: &str,
    rule_version: Option<i32>,
    source: &str,
    source_id: Option<&str>,
    inputs: &str,
    computed: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(findings::table.find(id))
        .set((
            findings::rule_version.eq(rule_version),
            findings::source.eq(source),
            findings::source_id.eq(source_id),
            findings::inputs.eq(inputs),
            findings::computed.eq(computed),
            findings::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn find_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> QueryResult<Option<FindingRow>> {
    in_scope!(findings::table.find(id), findings::org_path, scope)
        .select(FindingRow::as_select())
        .first_row(conn)
        .optional()
}

/// Closes an open finding (converted or dismissed); 0 rows when it was no longer open.
pub fn close(
    conn: &mut AnyConnection,
    id: &str,
    state: &str,
    reason: Option<&str>,
    application_id: Option<&str>,
    actor: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(findings::table.find(id).filter(is_open()))
        .set((
            findings::state.eq(state),
            findings::reason.eq(reason),
            findings::application_id.eq(application_id),
            findings::closed_by.eq(Some(actor)),
            findings::closed_at.eq(Some(now)),
            findings::updated_at.eq(now),
        ))
        .execute(conn)
}

#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    pub household_id: Option<String>,
    pub kind: Option<String>,
    pub state: Option<String>,
    pub after: Option<String>,
    pub limit: i64,
}

pub fn list_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    f: &FindingFilter,
) -> QueryResult<Vec<FindingRow>> {
    let mut q = in_scope!(findings::table, findings::org_path, scope)
        .select(FindingRow::as_select())
        .order(findings::id.asc())
        .limit(f.limit)
        .into_boxed();
    if let Some(h) = &f.household_id {
        q = q.filter(findings::household_id.eq(h.clone()));
    }
    if let Some(k) = &f.kind {
        q = q.filter(findings::kind.eq(k.clone()));
    }
    if let Some(s) = &f.state {
        q = q.filter(findings::state.eq(s.clone()));
    }
    if let Some(after) = &f.after {
        q = q.filter(findings::id.gt(after.clone()));
    }
    q.load(conn)
}
