//! `households`, `members`, `household_tags`, `household_status_history`, `id_conflicts`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::limit::FirstRow;
use crate::db::schema::{
    household_status_history, household_tags, households, id_conflicts, members, org_units,
};
use crate::db::sqltime::{SqlDate, SqlTimestamp};
use crate::db::{AnyConnection, INSERT_CHUNK};
use crate::scope::Scope;
use crate::{each_backend, in_scope};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = households)]
pub struct HouseholdRow {
    pub id: String,
    pub external_id: Option<String>,
    pub address: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub grid_id: String,
    pub org_path: String,
    pub grid_overridden: bool,
    pub status: String,
    pub notes: String,
    pub head_member_id: Option<String>,
    pub head_name: Option<String>,
    pub member_count: i32,
    pub version: i64,
    #[diesel(deserialize_as = SqlTimestamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = SqlTimestamp)]
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = members)]
pub struct MemberRow {
    pub id: String,
    pub household_id: String,
    pub position: i32,
    pub name: String,
    pub relation: String,
    pub id_cipher: String,
    pub id_key_id: String,
    /// [`crate::crypto::BlindIndex`] bytes.
    pub id_blind: Vec<u8>,
    pub id_masked: String,
    pub birth_date: NaiveDate,
    pub gender: String,
    pub health: String,
    pub disability_type: Option<String>,
    pub disability_level: Option<i32>,
    pub daily_living: String,
    pub work_status: String,
    pub student_status: String,
    pub income: String,
    pub annual_income_fen: i64,
    pub phone_cipher: Option<String>,
    pub phone_masked: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A member as the API shows one: the masked numbers only. Reading the sealed numbers and the
/// blind index (most of a member row's bytes) for a view that never shows them is wasted work on
/// sync's hottest read.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = members)]
pub struct MemberView {
    pub id: String,
    pub household_id: String,
    pub name: String,
    pub relation: String,
    pub id_masked: String,
    #[diesel(deserialize_as = SqlDate)]
    pub birth_date: NaiveDate,
    pub gender: String,
    pub health: String,
    pub disability_type: Option<String>,
    pub disability_level: Option<i32>,
    pub daily_living: String,
    pub work_status: String,
    pub student_status: String,
    pub income: String,
    pub phone_masked: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = household_status_history)]
pub struct StatusRow {
    pub id: String,
    pub household_id: String,
    pub status: String,
    #[diesel(deserialize_as = SqlDate)]
    pub from_date: NaiveDate,
    pub to_date: Option<NaiveDate>,
    pub note: String,
    pub recorded_by: Option<String>,
    #[diesel(deserialize_as = SqlTimestamp)]
    pub recorded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = id_conflicts)]
pub struct ConflictRow {
    pub id: String,
    /// [`crate::crypto::BlindIndex`] bytes.
    pub id_blind: Vec<u8>,
    pub id_masked: String,
    pub existing_household_id: String,
    pub org_path: String,
    pub attempted: String,
    pub attempted_by: Option<String>,
    pub resolved: bool,
    pub created_at: NaiveDateTime,
}

/// Household-level columns a PATCH may change.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = households)]
pub struct HouseholdChanges {
    pub address: Option<String>,
    pub lat: Option<Option<f64>>,
    pub lon: Option<Option<f64>>,
    pub grid_id: Option<String>,
    pub org_path: Option<String>,
    pub grid_overridden: Option<bool>,
    pub status: Option<String>,
    pub notes: Option<String>,
    pub head_member_id: Option<Option<String>>,
    pub head_name: Option<Option<String>>,
    pub member_count: Option<i32>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn insert_household(conn: &mut AnyConnection, row: &HouseholdRow) -> QueryResult<usize> {
    diesel::insert_into(households::table)
        .values(row)
        .execute(conn)
}

pub fn insert_households(conn: &mut AnyConnection, rows: &[HouseholdRow]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in rows.chunks(INSERT_CHUNK) {
        n += each_backend!(conn, c => diesel::insert_into(households::table).values(chunk).execute(c))?;
    }
    Ok(n)
}

pub fn insert_members(conn: &mut AnyConnection, rows: &[MemberRow]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in rows.chunks(INSERT_CHUNK) {
        n +=
            each_backend!(conn, c => diesel::insert_into(members::table).values(chunk).execute(c))?;
    }
    Ok(n)
}

pub fn insert_statuses(conn: &mut AnyConnection, rows: &[StatusRow]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in rows.chunks(INSERT_CHUNK) {
        n += each_backend!(conn, c => diesel::insert_into(household_status_history::table).values(chunk).execute(c))?;
    }
    Ok(n)
}

pub fn insert_tags(
    conn: &mut AnyConnection,
    household_id: &str,
    tags: &[String],
) -> QueryResult<usize> {
    let rows: Vec<(String, String)> = tags
        .iter()
        .map(|t| (household_id.to_owned(), t.clone()))
        .collect();
    insert_tag_rows(conn, &rows)
}

pub fn insert_tag_rows(conn: &mut AnyConnection, rows: &[(String, String)]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in rows.chunks(INSERT_CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(h, t)| {
                (
                    household_tags::household_id.eq(h),
                    household_tags::tag.eq(t),
                )
            })
            .collect();
        n += each_backend!(conn, c => diesel::insert_into(household_tags::table).values(&values).execute(c))?;
    }
    Ok(n)
}

pub fn replace_tags(
    conn: &mut AnyConnection,
    household_id: &str,
    tags: &[String],
) -> QueryResult<usize> {
    diesel::delete(household_tags::table.filter(household_tags::household_id.eq(household_id)))
        .execute(conn)?;
    insert_tags(conn, household_id, tags)
}

/// Applies changes and bumps the version, only if the version is still `expected`.
pub fn update_versioned(
    conn: &mut AnyConnection,
    id: &str,
    expected: i64,
    changes: &HouseholdChanges,
) -> QueryResult<bool> {
    let n = diesel::update(
        households::table
            .find(id)
            .filter(households::version.eq(expected)),
    )
    .set((changes, households::version.eq(expected + 1)))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn find_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> QueryResult<Option<(HouseholdRow, String)>> {
    in_scope!(
        households::table
            .inner_join(org_units::table)
            .filter(households::id.eq(id)),
        households::org_path,
        scope
    )
    .select((HouseholdRow::as_select(), org_units::code))
    .first_row(conn)
    .optional()
}

/// The org path of a household in scope.
pub fn org_path_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> QueryResult<Option<String>> {
    in_scope!(
        households::table.filter(households::id.eq(id)),
        households::org_path,
        scope
    )
    .select(households::org_path)
    .first_row(conn)
    .optional()
}

/// Households among `ids` that are in scope, each with its grid's code; in no particular order.
// disallowed_methods: a list of ids of any length: to become db::one_of (issue 20).
#[allow(clippy::disallowed_methods)]
pub fn find_many_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    ids: &[String],
) -> QueryResult<Vec<(HouseholdRow, String)>> {
    in_scope!(
        households::table
            .inner_join(org_units::table)
            .filter(households::id.eq_any(ids)),
        households::org_path,
        scope
    )
    .select((HouseholdRow::as_select(), org_units::code))
    .load(conn)
}

/// The members of these households as the API shows them, by household then position.
// disallowed_methods: a list of ids of any length: to become db::one_of (issue 20).
#[allow(clippy::disallowed_methods)]
pub fn member_views_of_many(
    conn: &mut AnyConnection,
    ids: &[String],
) -> QueryResult<Vec<MemberView>> {
    members::table
        .filter(members::household_id.eq_any(ids))
        .order((members::household_id.asc(), members::position.asc()))
        .select(MemberView::as_select())
        .load(conn)
}

/// The members of these households, by household then position.
// disallowed_methods: a list of ids of any length: to become db::one_of (issue 20).
#[allow(clippy::disallowed_methods)]
pub fn members_of_many(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<Vec<MemberRow>> {
    members::table
        .filter(members::household_id.eq_any(ids))
        .order((members::household_id.asc(), members::position.asc()))
        .select(MemberRow::as_select())
        .load(conn)
}

/// The status history of these households, by household, then oldest period first.
// disallowed_methods: a list of ids of any length: to become db::one_of (issue 20).
#[allow(clippy::disallowed_methods)]
pub fn history_of_many(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<Vec<StatusRow>> {
    household_status_history::table
        .filter(household_status_history::household_id.eq_any(ids))
        .order((
            household_status_history::household_id.asc(),
            household_status_history::from_date.asc(),
            household_status_history::recorded_at.asc(),
        ))
        .select(StatusRow::as_select())
        .load(conn)
}

pub fn members_of(conn: &mut AnyConnection, household_id: &str) -> QueryResult<Vec<MemberRow>> {
    members::table
        .filter(members::household_id.eq(household_id))
        .order(members::position.asc())
        .select(MemberRow::as_select())
        .load(conn)
}

/// Closes the open status period (if any) on `to`.
pub fn close_open_status(
    conn: &mut AnyConnection,
    household_id: &str,
    to: NaiveDate,
) -> QueryResult<usize> {
    diesel::update(
        household_status_history::table
            .filter(household_status_history::household_id.eq(household_id))
            .filter(household_status_history::to_date.is_null()),
    )
    .set(household_status_history::to_date.eq(Some(to)))
    .execute(conn)
}

// disallowed_methods: a list of ids of any length: to become db::one_of (issue 20).
#[allow(clippy::disallowed_methods)]
pub fn delete_members(
    conn: &mut AnyConnection,
    household_id: &str,
    ids: &[String],
) -> QueryResult<usize> {
    diesel::delete(
        members::table
            .filter(members::household_id.eq(household_id))
            .filter(members::id.eq_any(ids)),
    )
    .execute(conn)
}

pub fn update_member(conn: &mut AnyConnection, row: &MemberRow) -> QueryResult<usize> {
    diesel::update(members::table.find(&row.id))
        .set((
            members::name.eq(&row.name),
            members::relation.eq(&row.relation),
            members::health.eq(&row.health),
            members::disability_type.eq(&row.disability_type),
            members::disability_level.eq(row.disability_level),
            members::daily_living.eq(&row.daily_living),
            members::work_status.eq(&row.work_status),
            members::student_status.eq(&row.student_status),
            members::income.eq(&row.income),
            members::annual_income_fen.eq(row.annual_income_fen),
            members::phone_cipher.eq(&row.phone_cipher),
            members::phone_masked.eq(&row.phone_masked),
            members::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
}

/// Households (other than `except`) holding any of these blind indexes: (blind, household id, org path).
// disallowed_methods: binary blind indexes, which db::one_of (text ids) does not take.
#[allow(clippy::disallowed_methods)]
pub fn holders_of(
    conn: &mut AnyConnection,
    blinds: &[Vec<u8>],
    except: Option<&str>,
) -> QueryResult<Vec<(Vec<u8>, String, String)>> {
    let mut q = members::table
        .inner_join(households::table)
        .filter(members::id_blind.eq_any(blinds))
        .select((members::id_blind, households::id, households::org_path))
        .into_boxed();
    if let Some(except) = except {
        q = q.filter(households::id.ne(except.to_owned()));
    }
    q.load(conn)
}

pub fn find_by_external_id(
    conn: &mut AnyConnection,
    external_id: &str,
) -> QueryResult<Option<HouseholdRow>> {
    households::table
        .filter(households::external_id.eq(external_id))
        .select(HouseholdRow::as_select())
        .first_row(conn)
        .optional()
}

/// Which of these external ids exist already.
// disallowed_methods: a list of ids of any length: to become db::one_of (issue 20).
#[allow(clippy::disallowed_methods)]
pub fn existing_external_ids(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<Vec<String>> {
    households::table
        .filter(households::external_id.eq_any(ids))
        .select(households::external_id.assume_not_null())
        .load(conn)
}

pub fn insert_conflict(conn: &mut AnyConnection, row: &ConflictRow) -> QueryResult<usize> {
    diesel::insert_into(id_conflicts::table)
        .values(row)
        .execute(conn)
}

// disallowed_methods: the row count is the request's page size, not a constant limit_rows::<N>() can write.
#[allow(clippy::disallowed_methods)]
pub fn conflicts_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    limit: i64,
) -> QueryResult<Vec<ConflictRow>> {
    in_scope!(id_conflicts::table, id_conflicts::org_path, scope)
        .order(id_conflicts::created_at.desc())
        .limit(limit)
        .select(ConflictRow::as_select())
        .load(conn)
}

/// Filters for the household list.
#[derive(Debug, Clone, Default)]
pub struct HouseholdFilter {
    pub grid_id: Option<String>,
    pub status: Option<String>,
    pub tag: Option<String>,
    /// Any member's name starts with this.
    pub name_prefix: Option<String>,
    /// Exact ID number, as its blind index.
    pub id_blind: Option<Vec<u8>>,
    /// Keyset: after this (org_path, id).
    pub after: Option<(String, String)>,
    pub limit: i64,
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

// disallowed_methods: a list of ids of any length: to become db::one_of (issue 20).
// disallowed_methods: the row count is the request's page size, not a constant limit_rows::<N>() can write.
#[allow(clippy::disallowed_methods)]
pub fn list_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    filter: &HouseholdFilter,
) -> QueryResult<Vec<(HouseholdRow, String)>> {
    let mut q = in_scope!(
        households::table.inner_join(org_units::table),
        households::org_path,
        scope
    )
    .select((HouseholdRow::as_select(), org_units::code))
    .order((households::org_path.asc(), households::id.asc()))
    .limit(filter.limit)
    .into_boxed();
    if let Some(grid) = &filter.grid_id {
        q = q.filter(households::grid_id.eq(grid.clone()));
    }
    if let Some(status) = &filter.status {
        q = q.filter(households::status.eq(status.clone()));
    }
    if let Some(tag) = &filter.tag {
        q = q.filter(
            households::id.eq_any(
                household_tags::table
                    .filter(household_tags::tag.eq(tag.clone()))
                    .select(household_tags::household_id),
            ),
        );
    }
    if let Some(prefix) = &filter.name_prefix {
        q = q.filter(
            households::id.eq_any(
                members::table
                    .filter(members::name.like(escape_like(prefix)).escape('\\'))
                    .select(members::household_id),
            ),
        );
    }
    if let Some(blind) = &filter.id_blind {
        q = q.filter(
            households::id.eq_any(
                members::table
                    .filter(members::id_blind.eq(blind.clone()))
                    .select(members::household_id),
            ),
        );
    }
    if let Some((path, id)) = &filter.after {
        q = q.filter(
            households::org_path
                .gt(path.clone())
                .or(households::org_path
                    .eq(path.clone())
                    .and(households::id.gt(id.clone()))),
        );
    }
    q.load(conn)
}

// disallowed_methods: a list of ids of any length: to become db::one_of (issue 20).
#[allow(clippy::disallowed_methods)]
pub fn tags_for(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    household_tags::table
        .filter(household_tags::household_id.eq_any(ids))
        .order((
            household_tags::household_id.asc(),
            household_tags::tag.asc(),
        ))
        .select((household_tags::household_id, household_tags::tag))
        .load(conn)
}
