//! `applications`, `application_categories`, `application_events`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::keyset::Bound;
use crate::db::limit::FirstRow;
use crate::db::one_of::one_of;
use crate::db::schema::{application_categories, application_events, applications, org_units};
use crate::db::AnyConnection;
use crate::scope::Scope;
use crate::{in_scope, keyset_bound};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = applications, treat_none_as_null = true)]
pub struct ApplicationRow {
    pub id: String,
    pub household_id: String,
    pub org_path: String,
    pub finding_id: Option<String>,
    pub state: String,
    pub delegated: bool,
    pub visit_id: Option<String>,
    pub data_check: Option<String>,
    pub objections: i32,
    pub submitted_at: NaiveDateTime,
    pub accepted_at: Option<NaiveDateTime>,
    pub notice_ends_on: Option<NaiveDate>,
    pub decided_at: Option<NaiveDateTime>,
    pub exit_until: Option<NaiveDate>,
    pub step_due: Option<NaiveDate>,
    pub total_due: Option<NaiveDate>,
    pub version: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = application_categories)]
pub struct CategoryRow {
    pub application_id: String,
    pub category: String,
    pub department: String,
    pub status: String,
    pub note: Option<String>,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = application_events)]
pub struct EventRow {
    pub application_id: String,
    pub seq: i32,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    pub note: String,
    pub public_note: String,
    pub at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, row: &ApplicationRow) -> QueryResult<usize> {
    diesel::insert_into(applications::table)
        .values(row)
        .execute(conn)
}

pub fn insert_categories(conn: &mut AnyConnection, rows: &[CategoryRow]) -> QueryResult<usize> {
    let mut n = 0;
    for row in rows {
        n += diesel::insert_into(application_categories::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(n)
}

pub fn insert_event(conn: &mut AnyConnection, row: &EventRow) -> QueryResult<usize> {
    diesel::insert_into(application_events::table)
        .values(row)
        .execute(conn)
}

/// Writes the new state of an application if it is still at `expected_version`; 0 rows when
/// another step got there first.
pub fn compare_and_set(
    conn: &mut AnyConnection,
    row: &ApplicationRow,
    expected_version: i64,
) -> QueryResult<usize> {
    diesel::update(
        applications::table
            .find(&row.id)
            .filter(applications::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
}

pub fn set_category(
    conn: &mut AnyConnection,
    application_id: &str,
    category: &str,
    status: &str,
    note: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        application_categories::table
            .filter(application_categories::application_id.eq(application_id))
            .filter(application_categories::category.eq(category)),
    )
    .set((
        application_categories::status.eq(status),
        application_categories::note.eq(note),
        application_categories::updated_at.eq(now),
    ))
    .execute(conn)
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<ApplicationRow>> {
    applications::table
        .find(id)
        .select(ApplicationRow::as_select())
        .first_row(conn)
        .optional()
}

pub fn find_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> QueryResult<Option<ApplicationRow>> {
    in_scope!(applications::table.find(id), applications::org_path, scope)
        .select(ApplicationRow::as_select())
        .first_row(conn)
        .optional()
}

pub fn categories_of(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<Vec<CategoryRow>> {
    application_categories::table
        .filter(one_of(application_categories::application_id, ids))
        .order((
            application_categories::application_id,
            application_categories::category,
        ))
        .select(CategoryRow::as_select())
        .load(conn)
}

pub fn events_of(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<Vec<EventRow>> {
    application_events::table
        .filter(one_of(application_events::application_id, ids))
        .order((application_events::application_id, application_events::seq))
        .select(EventRow::as_select())
        .load(conn)
}

pub fn last_seq(conn: &mut AnyConnection, id: &str) -> QueryResult<i32> {
    application_events::table
        .filter(application_events::application_id.eq(id))
        .select(diesel::dsl::max(application_events::seq))
        .first_row::<Option<i32>>(conn)
        .map(Option::unwrap_or_default)
}

#[derive(Debug, Clone, Default)]
pub struct ApplicationFilter {
    pub household_id: Option<String>,
    pub state: Option<String>,
    pub households: Option<Vec<String>>,
    pub after: Option<String>,
    pub limit: i64,
}

// disallowed_methods: the row count is the request's page size, not a constant limit_rows::<N>() can write.
#[allow(clippy::disallowed_methods)]
pub fn list_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    f: &ApplicationFilter,
) -> QueryResult<Vec<ApplicationRow>> {
    let mut q = in_scope!(applications::table, applications::org_path, scope)
        .select(ApplicationRow::as_select())
        .order(applications::id.asc())
        .limit(f.limit)
        .into_boxed();
    if let Some(h) = &f.household_id {
        q = q.filter(applications::household_id.eq(h.clone()));
    }
    if let Some(hs) = &f.households {
        q = q.filter(one_of(applications::household_id, hs));
    }
    if let Some(s) = &f.state {
        q = q.filter(applications::state.eq(s.clone()));
    }
    if let Some(after) = &f.after {
        q = q.filter(applications::id.gt(after.clone()));
    }
    q.load(conn)
}

/// A row of the applications export, with the unit's code and name.
pub type ExportRow = (
    (String, String, String, String, bool),
    (
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<NaiveDate>,
        Option<NaiveDate>,
        NaiveDateTime,
    ),
    (Option<String>, Option<String>),
);

/// A page of the applications export in (org_path, id) order from `bound`.
// disallowed_methods: the row count is the request's page size, not a constant limit_rows::<N>() can write.
#[allow(clippy::disallowed_methods)]
pub fn export_page(
    conn: &mut AnyConnection,
    scope: &Scope,
    bound: Bound<'_>,
    limit: i64,
) -> QueryResult<Vec<ExportRow>> {
    let q = in_scope!(
        applications::table
            .left_join(org_units::table.on(org_units::path.eq(applications::org_path))),
        applications::org_path,
        scope
    )
    .select((
        (
            applications::id,
            applications::org_path,
            applications::household_id,
            applications::state,
            applications::delegated,
        ),
        (
            applications::submitted_at,
            applications::accepted_at,
            applications::decided_at,
            applications::step_due,
            applications::total_due,
            applications::updated_at,
        ),
        (org_units::code.nullable(), org_units::name.nullable()),
    ))
    .order((applications::org_path.asc(), applications::id.asc()))
    .limit(limit)
    .into_boxed();
    keyset_bound!(q, bound, applications::org_path, applications::id).load(conn)
}

/// Applications in scope by state: (state, count), by state.
pub fn count_by_state(conn: &mut AnyConnection, scope: &Scope) -> QueryResult<Vec<(String, i64)>> {
    in_scope!(applications::table, applications::org_path, scope)
        .group_by(applications::state)
        .select((applications::state, diesel::dsl::count_star()))
        .order(applications::state)
        .load(conn)
}

/// An application's state and limits: (state, step due, total due).
pub type StateLimits = (String, Option<NaiveDate>, Option<NaiveDate>);

/// Every application in scope: (state, step due, total due).
pub fn limits_in_scope(conn: &mut AnyConnection, scope: &Scope) -> QueryResult<Vec<StateLimits>> {
    in_scope!(applications::table, applications::org_path, scope)
        .select((
            applications::state,
            applications::step_due,
            applications::total_due,
        ))
        .load(conn)
}

/// Every event of the applications in scope, by application then order: (application id, state
/// entered, when).
pub fn states_entered_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
) -> QueryResult<Vec<(String, String, NaiveDateTime)>> {
    application_events::table
        .inner_join(applications::table)
        .filter(applications::org_path.ge(scope.lower()))
        .filter(applications::org_path.lt(scope.upper()))
        .order((application_events::application_id, application_events::seq))
        .select((
            application_events::application_id,
            application_events::to_state,
            application_events::at,
        ))
        .load(conn)
}
