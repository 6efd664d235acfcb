//! `visits`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use jiuzhu_proto::visit::ReviewState;

use crate::db::keyset::Bound;
use crate::db::limit::FirstRow;
use crate::db::one_of::one_of;
use crate::db::schema::{changes, households, users, visits};
use crate::db::AnyConnection;
use crate::scope::Scope;
use crate::{in_scope, keyset_bound};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = visits)]
pub struct VisitRow {
    pub id: String,
    pub task_id: String,
    pub household_id: String,
    pub org_path: String,
    pub worker_id: String,
    pub form_key: String,
    pub form_version: i32,
    pub answers_key_id: String,
    pub answers_sealed: String,
    pub body_hash: String,
    pub fix_as_sent: String,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    pub fix_time: NaiveDateTime,
    pub mock_location: bool,
    pub started_at: NaiveDateTime,
    pub finished_at: NaiveDateTime,
    pub photo_ids: String,
    pub staff: String,
    pub supersedes: Option<String>,
    pub flags: String,
    pub flag_count: i32,
    pub review_state: String,
    pub review_note: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub received_at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, row: &VisitRow) -> QueryResult<usize> {
    diesel::insert_into(visits::table).values(row).execute(conn)
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<VisitRow>> {
    visits::table
        .find(id)
        .select(VisitRow::as_select())
        .first_row(conn)
        .optional()
}

pub fn find_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> QueryResult<Option<VisitRow>> {
    in_scope!(visits::table.find(id), visits::org_path, scope)
        .select(VisitRow::as_select())
        .first_row(conn)
        .optional()
}

/// The household's latest approved visit.
pub fn latest_approved(
    conn: &mut AnyConnection,
    household_id: &str,
) -> QueryResult<Option<VisitRow>> {
    visits::table
        .filter(visits::household_id.eq(household_id))
        .filter(visits::review_state.eq(ReviewState::Approved.as_str()))
        .order((visits::received_at.desc(), visits::id.desc()))
        .select(VisitRow::as_select())
        .first_row(conn)
        .optional()
}

/// The latest accepted visit of each of these households that has one: the candidates' keys
/// first (household, time, id), then only the winning rows with their sealed answers.
pub fn latest_approved_of_many(
    conn: &mut AnyConnection,
    household_ids: &[String],
) -> QueryResult<Vec<VisitRow>> {
    let keys: Vec<(String, NaiveDateTime, String)> = visits::table
        .filter(one_of(visits::household_id, household_ids))
        .filter(visits::review_state.eq(ReviewState::Approved.as_str()))
        .select((visits::household_id, visits::received_at, visits::id))
        .load(conn)?;
    let mut best: std::collections::HashMap<String, (NaiveDateTime, String)> =
        std::collections::HashMap::new();
    for (household, at, id) in keys {
        let newer = best
            .get(&household)
            .is_none_or(|(t, i)| (at, id.as_str()) > (*t, i.as_str()));
        if newer {
            best.insert(household, (at, id));
        }
    }
    if best.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = best.into_values().map(|(_, id)| id).collect();
    visits::table
        .filter(one_of(visits::id, &ids))
        .select(VisitRow::as_select())
        .load(conn)
}

/// A worker's visits whose start lies in `[from, to)`: (household, lat, lon).
pub fn spots_of_worker(
    conn: &mut AnyConnection,
    worker_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<(String, f64, f64)>> {
    visits::table
        .filter(visits::worker_id.eq(worker_id))
        .filter(visits::started_at.ge(from))
        .filter(visits::started_at.lt(to))
        .select((visits::household_id, visits::lat, visits::lon))
        .load(conn)
}

/// Whether a visit supersedes this one already.
pub fn is_superseded(conn: &mut AnyConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        visits::table.filter(visits::supersedes.eq(id)),
    ))
    .get_result(conn)
}

pub fn set_review(
    conn: &mut AnyConnection,
    id: &str,
    state: &str,
    note: Option<&str>,
    reviewer: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        visits::table
            .find(id)
            .filter(visits::review_state.eq(ReviewState::Pending.as_str())),
    )
    .set((
        visits::review_state.eq(state),
        visits::review_note.eq(note),
        visits::reviewed_by.eq(reviewer),
        visits::reviewed_at.eq(at),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

#[derive(Debug, Clone, Default)]
pub struct VisitFilter {
    pub household_id: Option<String>,
    pub worker_id: Option<String>,
    pub flagged: Option<bool>,
    pub review_state: Option<String>,
    pub after: Option<String>,
    pub limit: i64,
}

// disallowed_methods: the row count is the request's page size, not a constant limit_rows::<N>() can write.
#[allow(clippy::disallowed_methods)]
pub fn list_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    f: &VisitFilter,
) -> QueryResult<Vec<VisitRow>> {
    let mut q = in_scope!(visits::table, visits::org_path, scope)
        .select(VisitRow::as_select())
        .order(visits::id.asc())
        .limit(f.limit)
        .into_boxed();
    if let Some(h) = &f.household_id {
        q = q.filter(visits::household_id.eq(h.clone()));
    }
    if let Some(w) = &f.worker_id {
        q = q.filter(visits::worker_id.eq(w.clone()));
    }
    match f.flagged {
        Some(true) => q = q.filter(visits::flag_count.gt(0)),
        Some(false) => q = q.filter(visits::flag_count.eq(0)),
        None => {}
    }
    if let Some(s) = &f.review_state {
        q = q.filter(visits::review_state.eq(s.clone()));
    }
    if let Some(after) = &f.after {
        q = q.filter(visits::id.gt(after.clone()));
    }
    q.load(conn)
}

/// Whether a task was ever put on this worker's phone (a change row names them).
pub fn task_was_workers(
    conn: &mut AnyConnection,
    task_id: &str,
    worker_id: &str,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        changes::table
            .filter(changes::entity.eq("task"))
            .filter(changes::entity_id.eq(task_id))
            .filter(changes::worker_id.eq(worker_id)),
    ))
    .get_result(conn)
}

/// A row of the visits export: the visit, its flags and review, the household's address and head
/// and the worker's username.
pub type ExportRow = (
    (
        String,
        String,
        String,
        String,
        String,
        i32,
        NaiveDateTime,
        NaiveDateTime,
        NaiveDateTime,
        f64,
        f64,
        f64,
    ),
    (bool, i32, String, String, Option<NaiveDateTime>),
    (String, Option<String>, String),
);

/// What the visits export may be narrowed by.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportFilters<'a> {
    /// Started at or after (UTC).
    pub from: Option<NaiveDateTime>,
    /// Started before (UTC).
    pub to: Option<NaiveDateTime>,
    pub flagged: Option<bool>,
    pub review_state: Option<&'a str>,
}

/// A page of the visits export in (org_path, id) order from `bound`.
// disallowed_methods: the row count is the request's page size, not a constant limit_rows::<N>() can write.
#[allow(clippy::disallowed_methods)]
pub fn export_page(
    conn: &mut AnyConnection,
    scope: &Scope,
    filters: ExportFilters<'_>,
    bound: Bound<'_>,
    limit: i64,
) -> QueryResult<Vec<ExportRow>> {
    let mut q = in_scope!(
        visits::table
            .inner_join(households::table.on(households::id.eq(visits::household_id)))
            .inner_join(users::table.on(users::id.eq(visits::worker_id))),
        visits::org_path,
        scope
    )
    .select((
        (
            visits::id,
            visits::task_id,
            visits::household_id,
            visits::org_path,
            visits::form_key,
            visits::form_version,
            visits::started_at,
            visits::finished_at,
            visits::received_at,
            visits::lat,
            visits::lon,
            visits::accuracy_m,
        ),
        (
            visits::mock_location,
            visits::flag_count,
            visits::flags,
            visits::review_state,
            visits::reviewed_at,
        ),
        (households::address, households::head_name, users::username),
    ))
    .order((visits::org_path.asc(), visits::id.asc()))
    .limit(limit)
    .into_boxed();
    if let Some(from) = filters.from {
        q = q.filter(visits::started_at.ge(from));
    }
    if let Some(to) = filters.to {
        q = q.filter(visits::started_at.lt(to));
    }
    match filters.flagged {
        Some(true) => q = q.filter(visits::flag_count.gt(0)),
        Some(false) => q = q.filter(visits::flag_count.eq(0)),
        None => {}
    }
    if let Some(state) = filters.review_state {
        q = q.filter(visits::review_state.eq(state.to_owned()));
    }
    keyset_bound!(q, bound, visits::org_path, visits::id).load(conn)
}

/// Households in scope with a visit received since `since` and not rejected.
pub fn households_visited_since(
    conn: &mut AnyConnection,
    scope: &Scope,
    since: NaiveDateTime,
) -> QueryResult<i64> {
    in_scope!(visits::table, visits::org_path, scope)
        .filter(visits::received_at.ge(since))
        .filter(visits::review_state.ne(ReviewState::Rejected.as_str()))
        .select(diesel::dsl::count(visits::household_id).aggregate_distinct())
        .first_row(conn)
}

/// Flagged visits in scope waiting for review.
pub fn count_flagged_pending(conn: &mut AnyConnection, scope: &Scope) -> QueryResult<i64> {
    in_scope!(visits::table, visits::org_path, scope)
        .filter(visits::flag_count.gt(0))
        .filter(visits::review_state.eq(ReviewState::Pending.as_str()))
        .count()
        .get_result(conn)
}

/// The approved visits of these households.
pub fn approved_of_many(
    conn: &mut AnyConnection,
    household_ids: &[String],
) -> QueryResult<Vec<VisitRow>> {
    visits::table
        .filter(one_of(visits::household_id, household_ids))
        .filter(visits::review_state.eq(ReviewState::Approved.as_str()))
        .select(VisitRow::as_select())
        .load(conn)
}
