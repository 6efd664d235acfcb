//! `households`, `members`, `household_tags`, `household_status_history`, `id_conflicts`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::keyset::Bound;
use crate::db::limit::{FirstRow, LimitRowsDsl};
use crate::db::one_of::one_of;
use crate::db::schema::{
    household_status_history, household_tags, households, id_conflicts, members, org_units,
};
use crate::db::sqltime::{SqlDate, SqlTimestamp};
use crate::db::{AnyConnection, INSERT_CHUNK};
use crate::scope::Scope;
use crate::{each_backend, in_scope, keyset_bound};

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
pub fn find_many_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    ids: &[String],
) -> QueryResult<Vec<(HouseholdRow, String)>> {
    in_scope!(
        households::table
            .inner_join(org_units::table)
            .filter(one_of(households::id, ids)),
        households::org_path,
        scope
    )
    .select((HouseholdRow::as_select(), org_units::code))
    .load(conn)
}

/// The members of these households as the API shows them, by household then position.
pub fn member_views_of_many(
    conn: &mut AnyConnection,
    ids: &[String],
) -> QueryResult<Vec<MemberView>> {
    members::table
        .filter(one_of(members::household_id, ids))
        .order((members::household_id.asc(), members::position.asc()))
        .select(MemberView::as_select())
        .load(conn)
}

/// The members of these households, by household then position.
pub fn members_of_many(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<Vec<MemberRow>> {
    members::table
        .filter(one_of(members::household_id, ids))
        .order((members::household_id.asc(), members::position.asc()))
        .select(MemberRow::as_select())
        .load(conn)
}

/// The status history of these households, by household, then oldest period first.
pub fn history_of_many(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<Vec<StatusRow>> {
    household_status_history::table
        .filter(one_of(household_status_history::household_id, ids))
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

pub fn delete_members(
    conn: &mut AnyConnection,
    household_id: &str,
    ids: &[String],
) -> QueryResult<usize> {
    diesel::delete(
        members::table
            .filter(members::household_id.eq(household_id))
            .filter(one_of(members::id, ids)),
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
// disallowed_methods: blind indexes are bytes, which db::one_of (a text list) does not bind.
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
pub fn existing_external_ids(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<Vec<String>> {
    households::table
        .filter(one_of(households::external_id, ids))
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

// disallowed_methods: `eq_any` over a subquery (the tag and name filters) is one fixed statement;
// the row count is the request's page size, not a constant limit_rows::<N>() can write.
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

pub fn tags_for(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    household_tags::table
        .filter(one_of(household_tags::household_id, ids))
        .order((
            household_tags::household_id.asc(),
            household_tags::tag.asc(),
        ))
        .select((household_tags::household_id, household_tags::tag))
        .load(conn)
}

/// Households (external id → org path) among these external ids.
pub fn paths_of_external_ids(
    conn: &mut AnyConnection,
    ids: &[String],
) -> QueryResult<Vec<(String, String)>> {
    households::table
        .filter(one_of(households::external_id, ids))
        .select((
            households::external_id.assume_not_null(),
            households::org_path,
        ))
        .load(conn)
}

/// Open conflicts of an attempted write for any of these blind indexes: (blind, existing
/// household id).
// disallowed_methods: blind indexes are bytes, which db::one_of (a text list) does not bind.
#[allow(clippy::disallowed_methods)]
pub fn open_conflicts_of(
    conn: &mut AnyConnection,
    attempted: &str,
    blinds: &[&[u8]],
) -> QueryResult<Vec<(Vec<u8>, String)>> {
    id_conflicts::table
        .filter(id_conflicts::attempted.eq(attempted))
        .filter(id_conflicts::resolved.eq(false))
        .filter(id_conflicts::id_blind.eq_any(blinds))
        .select((id_conflicts::id_blind, id_conflicts::existing_household_id))
        .load(conn)
}

/// Members in scope holding any of these blind indexes: (blind, member id, household id).
// disallowed_methods: blind indexes are bytes, which db::one_of (a text list) does not bind.
#[allow(clippy::disallowed_methods)]
pub fn members_by_blind_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    blinds: &[Vec<u8>],
) -> QueryResult<Vec<(Vec<u8>, String, String)>> {
    let lower = scope.lower();
    let upper = scope.upper();
    members::table
        .inner_join(households::table)
        .filter(members::id_blind.eq_any(blinds))
        .filter(households::org_path.ge(&lower))
        .filter(households::org_path.lt(&upper))
        .select((members::id_blind, members::id, members::household_id))
        .load(conn)
}

/// The member with the highest income of a household, if any has an income.
pub fn main_earner(conn: &mut AnyConnection, household_id: &str) -> QueryResult<Option<String>> {
    members::table
        .filter(members::household_id.eq(household_id))
        .filter(members::annual_income_fen.gt(0))
        .order(members::annual_income_fen.desc())
        .select(members::id)
        .first_row(conn)
        .optional()
}

/// The org paths of these households: (id, org path).
pub fn paths_of(conn: &mut AnyConnection, ids: &[&str]) -> QueryResult<Vec<(String, String)>> {
    households::table
        .filter(one_of(households::id, ids))
        .select((households::id, households::org_path))
        .load(conn)
}

/// A household by id (`NotFound` when there is none).
pub fn get(conn: &mut AnyConnection, id: &str) -> QueryResult<HouseholdRow> {
    households::table
        .find(id)
        .select(HouseholdRow::as_select())
        .first_row(conn)
}

/// The next `PAGE` households after `after` (by id) whose grid follows their location and that
/// have one: (id, lat, lon, grid id).
pub fn placed_by_location_after<const PAGE: u32>(
    conn: &mut AnyConnection,
    after: &str,
) -> QueryResult<Vec<(String, f64, f64, String)>> {
    households::table
        .filter(households::grid_overridden.eq(false))
        .filter(households::id.gt(after))
        .filter(households::lat.is_not_null())
        .filter(households::lon.is_not_null())
        .order(households::id.asc())
        .select((
            households::id,
            households::lat.assume_not_null(),
            households::lon.assume_not_null(),
            households::grid_id,
        ))
        .limit_rows::<PAGE>()
        .load(conn)
}

/// Moves a household to another grid, a new version of it.
pub fn move_to_grid(
    conn: &mut AnyConnection,
    id: &str,
    grid_id: &str,
    org_path: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(households::table.find(id))
        .set((
            households::grid_id.eq(grid_id),
            households::org_path.eq(org_path),
            households::version.eq(households::version + 1),
            households::updated_at.eq(now),
        ))
        .execute(conn)
}

/// The first `limit` households in scope (by id) that a bulk target names: (id, org path).
// disallowed_methods: the row count is the request's page size, not a constant limit_rows::<N>() can write.
#[allow(clippy::disallowed_methods)]
pub fn targets_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    target: &jiuzhu_proto::task::BulkTarget,
    limit: i64,
) -> QueryResult<Vec<(String, String)>> {
    use jiuzhu_proto::task::BulkTarget;
    let named: Vec<String> = match target {
        BulkTarget::Households(ids) => ids.iter().map(|i| i.to_string()).collect(),
        _ => Vec::new(),
    };
    let q = in_scope!(households::table, households::org_path, scope)
        .select((households::id, households::org_path))
        .order(households::id.asc())
        .limit(limit)
        .into_boxed();
    let q = match target {
        BulkTarget::Grid(g) => q.filter(households::grid_id.eq(g.to_string())),
        BulkTarget::Status(s) => q.filter(households::status.eq(s.as_str())),
        BulkTarget::Households(_) => q.filter(one_of(households::id, &named)),
    };
    q.load(conn)
}

/// These households (those that exist), in no particular order.
pub fn find_many(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<Vec<HouseholdRow>> {
    households::table
        .filter(one_of(households::id, ids))
        .select(HouseholdRow::as_select())
        .load(conn)
}

/// Holds these households' rows until the transaction ends. PostgreSQL takes the row locks in id
/// order (two callers with overlapping sets cannot deadlock); SQLite's write transaction already
/// holds the whole database.
pub fn lock_rows(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<()> {
    if let AnyConnection::Postgresql(pg) = conn {
        households::table
            .filter(one_of(households::id, ids))
            .order(households::id)
            .select(households::id)
            .for_update()
            .load::<String>(pg)?;
    }
    Ok(())
}

/// A row of the households export: the household, its grid (code, name), its head's masked ID
/// and phone numbers.
pub type ExportRow = (
    (
        String,
        Option<String>,
        String,
        String,
        Option<f64>,
        Option<f64>,
        String,
        Option<String>,
        i32,
        NaiveDateTime,
    ),
    (String, String),
    (Option<String>, Option<String>),
);

/// A page of the households export in (org_path, id) order from `bound`, with a status and a tag
/// when given.
// disallowed_methods: `eq_any` over a subquery (the tag filter) is one fixed statement; the row
// count is the request's page size, not a constant limit_rows::<N>() can write.
#[allow(clippy::disallowed_methods)]
pub fn export_page(
    conn: &mut AnyConnection,
    scope: &Scope,
    status: Option<&str>,
    tag: Option<&str>,
    bound: Bound<'_>,
    limit: i64,
) -> QueryResult<Vec<ExportRow>> {
    let mut q = in_scope!(
        households::table
            .inner_join(org_units::table)
            .left_join(members::table.on(households::head_member_id.eq(members::id.nullable()))),
        households::org_path,
        scope
    )
    .select((
        (
            households::id,
            households::external_id,
            households::org_path,
            households::address,
            households::lat,
            households::lon,
            households::status,
            households::head_name,
            households::member_count,
            households::updated_at,
        ),
        (org_units::code, org_units::name),
        (
            members::id_masked.nullable(),
            members::phone_masked.nullable(),
        ),
    ))
    .order((households::org_path.asc(), households::id.asc()))
    .limit(limit)
    .into_boxed();
    if let Some(status) = status {
        q = q.filter(households::status.eq(status.to_owned()));
    }
    if let Some(tag) = tag {
        q = q.filter(
            households::id.eq_any(
                household_tags::table
                    .filter(household_tags::tag.eq(tag.to_owned()))
                    .select(household_tags::household_id),
            ),
        );
    }
    keyset_bound!(q, bound, households::org_path, households::id).load(conn)
}

/// Households in scope by status: (status, count), by status.
pub fn count_by_status(conn: &mut AnyConnection, scope: &Scope) -> QueryResult<Vec<(String, i64)>> {
    in_scope!(households::table, households::org_path, scope)
        .group_by(households::status)
        .select((households::status, diesel::dsl::count_star()))
        .order(households::status)
        .load(conn)
}

/// The next `PAGE` households in scope after `after` (by id).
pub fn page_in_scope<const PAGE: u32>(
    conn: &mut AnyConnection,
    scope: &Scope,
    after: &str,
) -> QueryResult<Vec<HouseholdRow>> {
    in_scope!(households::table, households::org_path, scope)
        .filter(households::id.gt(after))
        .order(households::id.asc())
        .select(HouseholdRow::as_select())
        .limit_rows::<PAGE>()
        .load(conn)
}

/// Receives the rows of [`wire_rows`] as the database returns them, each read in place by column
/// number (nothing copied into owned rows): what a sync page writes straight into its JSON
/// (`crate::registry::wire`). `DB` is the backend the rows come from; `E` the receiver's error.
pub trait WireRows<DB: diesel::backend::Backend, E> {
    /// Columns: household_id, id, name, relation, id_masked, birth_date, gender, health,
    /// disability_type, disability_level, daily_living, work_status, student_status, income,
    /// phone_masked. By household, then position.
    fn member<'r, R>(&mut self, row: &R) -> Result<(), E>
    where
        R: diesel::row::Row<'r, DB> + diesel::row::RowIndex<usize>;
    /// Columns: household_id, status, from_date, to_date, note. By household, then date.
    fn period<'r, R>(&mut self, row: &R) -> Result<(), E>
    where
        R: diesel::row::Row<'r, DB> + diesel::row::RowIndex<usize>;
    /// Columns: household_id, tag. By household, then tag.
    fn tag<'r, R>(&mut self, row: &R) -> Result<(), E>
    where
        R: diesel::row::Row<'r, DB> + diesel::row::RowIndex<usize>;
    /// Columns: id, external_id, address, lat, lon, grid_id, grid_overridden, status, notes,
    /// head_member_id, version, created_at, updated_at, grid code. Only households in scope;
    /// after every member, period and tag.
    fn household<'r, R>(&mut self, row: &R) -> Result<(), E>
    where
        R: diesel::row::Row<'r, DB> + diesel::row::RowIndex<usize>;
}

/// Reads the households `ids` (those in scope) with their members, status periods and tags into
/// `sink`. Four statements whatever the number of ids, each bound to the whole list once
/// ([`one_of`]), so they stay prepared. They run on the concrete connection: diesel's
/// `MultiConnection` renders a query's whole SQL text on every execution, even when its prepared
/// statement is cached.
pub fn wire_rows<V, E>(
    conn: &mut AnyConnection,
    scope: &Scope,
    ids: &[String],
    sink: &mut V,
) -> Result<(), E>
where
    V: WireRows<diesel::sqlite::Sqlite, E> + WireRows<diesel::pg::Pg, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{DefaultLoadingMode, LoadConnection};
    macro_rules! read {
        ($c:ident, $db:ty) => {{
            let members = members::table
                .filter(one_of(members::household_id, ids))
                .order((members::household_id.asc(), members::position.asc()))
                .select((
                    members::household_id,
                    members::id,
                    members::name,
                    members::relation,
                    members::id_masked,
                    members::birth_date,
                    members::gender,
                    members::health,
                    members::disability_type,
                    members::disability_level,
                    members::daily_living,
                    members::work_status,
                    members::student_status,
                    members::income,
                    members::phone_masked,
                ));
            for row in LoadConnection::<DefaultLoadingMode>::load($c, members)? {
                WireRows::<$db, E>::member(sink, &row?)?;
            }
            let history = household_status_history::table
                .filter(one_of(household_status_history::household_id, ids))
                .order((
                    household_status_history::household_id.asc(),
                    household_status_history::from_date.asc(),
                    household_status_history::recorded_at.asc(),
                ))
                .select((
                    household_status_history::household_id,
                    household_status_history::status,
                    household_status_history::from_date,
                    household_status_history::to_date,
                    household_status_history::note,
                ));
            for row in LoadConnection::<DefaultLoadingMode>::load($c, history)? {
                WireRows::<$db, E>::period(sink, &row?)?;
            }
            let tags = household_tags::table
                .filter(one_of(household_tags::household_id, ids))
                .order((
                    household_tags::household_id.asc(),
                    household_tags::tag.asc(),
                ))
                .select((household_tags::household_id, household_tags::tag));
            for row in LoadConnection::<DefaultLoadingMode>::load($c, tags)? {
                WireRows::<$db, E>::tag(sink, &row?)?;
            }
            let rows = in_scope!(
                households::table
                    .inner_join(org_units::table)
                    .filter(one_of(households::id, ids)),
                households::org_path,
                scope
            )
            .select((
                households::id,
                households::external_id,
                households::address,
                households::lat,
                households::lon,
                households::grid_id,
                households::grid_overridden,
                households::status,
                households::notes,
                households::head_member_id,
                households::version,
                households::created_at,
                households::updated_at,
                org_units::code,
            ));
            for row in LoadConnection::<DefaultLoadingMode>::load($c, rows)? {
                WireRows::<$db, E>::household(sink, &row?)?;
            }
        }};
    }
    match conn {
        AnyConnection::Sqlite(c) => read!(c, diesel::sqlite::Sqlite),
        AnyConnection::Postgresql(c) => read!(c, diesel::pg::Pg),
    }
    Ok(())
}

/// Inserts new households and their members the fastest way each backend offers: SQLite re-runs
/// one prepared single-row INSERT per table (no 11,500-parameter statement to build and parse per
/// 500 rows); PostgreSQL takes COPY.
pub fn insert_new_bulk(
    conn: &mut AnyConnection,
    households: &[HouseholdRow],
    members: &[MemberRow],
) -> QueryResult<()> {
    match conn {
        AnyConnection::Sqlite(c) => {
            sqlite_rows::households(c, households)?;
            sqlite_rows::members(c, members)?;
        }
        AnyConnection::Postgresql(c) => {
            pg_copy::households(c, households)?;
            pg_copy::members(c, members)?;
        }
    }
    Ok(())
}

/// SQLite's writes of the two large tables: one fixed INSERT per table, prepared once and re-run
/// per row ([`bulk::insert`]), its dates formatted here rather than by diesel's query builder per
/// row (which walked each row's 23 values three times and hashed its SQL for the statement cache).
mod sqlite_rows {
    use diesel::sql_types::{BigInt, Binary, Bool, Double, Integer, Nullable, Text};
    use diesel::sqlite::SqliteConnection;
    use diesel::QueryResult;

    use super::{HouseholdRow, MemberRow};
    use crate::db::bulk::{self, Binds, SqliteRow};
    use crate::db::schema::{households, members};

    /// `created_at` and `updated_at` as text; the second only where it differs from the first
    /// (never, for a new row).
    struct Stamps {
        created: String,
        updated: Option<String>,
    }

    impl Stamps {
        fn of(created: chrono::NaiveDateTime, updated: chrono::NaiveDateTime) -> Self {
            Self {
                created: bulk::timestamp_text(created),
                updated: (updated != created).then(|| bulk::timestamp_text(updated)),
            }
        }

        fn bind<'b>(&'b self, out: &mut Binds<'_, '_, 'b>) -> QueryResult<()> {
            out.value::<Text, _>(&self.created)?;
            out.value::<Text, _>(self.updated.as_ref().unwrap_or(&self.created))
        }
    }

    struct Household<'r> {
        r: &'r HouseholdRow,
        stamps: Stamps,
    }

    impl SqliteRow for Household<'_> {
        type Key = households::table;
        const INSERT: &'static str = "INSERT INTO households (id, external_id, address, lat, \
            lon, grid_id, org_path, grid_overridden, status, notes, head_member_id, head_name, \
            member_count, version, created_at, updated_at) VALUES ";

        fn bind<'b>(&'b self, out: &mut Binds<'_, '_, 'b>) -> QueryResult<()> {
            let r = self.r;
            out.value::<Text, _>(&r.id)?;
            out.value::<Nullable<Text>, _>(&r.external_id)?;
            out.value::<Text, _>(&r.address)?;
            out.value::<Nullable<Double>, _>(&r.lat)?;
            out.value::<Nullable<Double>, _>(&r.lon)?;
            out.value::<Text, _>(&r.grid_id)?;
            out.value::<Text, _>(&r.org_path)?;
            out.value::<Bool, _>(&r.grid_overridden)?;
            out.value::<Text, _>(&r.status)?;
            out.value::<Text, _>(&r.notes)?;
            out.value::<Nullable<Text>, _>(&r.head_member_id)?;
            out.value::<Nullable<Text>, _>(&r.head_name)?;
            out.value::<Integer, _>(&r.member_count)?;
            out.value::<BigInt, _>(&r.version)?;
            self.stamps.bind(out)
        }
    }

    struct Member<'r> {
        r: &'r MemberRow,
        birth_date: String,
        stamps: Stamps,
    }

    impl SqliteRow for Member<'_> {
        type Key = members::table;
        const INSERT: &'static str = "INSERT INTO members (id, household_id, position, name, \
            relation, id_cipher, id_key_id, id_blind, id_masked, birth_date, gender, health, \
            disability_type, disability_level, daily_living, work_status, student_status, income, \
            annual_income_fen, phone_cipher, phone_masked, created_at, updated_at) VALUES ";

        fn bind<'b>(&'b self, out: &mut Binds<'_, '_, 'b>) -> QueryResult<()> {
            let r = self.r;
            out.value::<Text, _>(&r.id)?;
            out.value::<Text, _>(&r.household_id)?;
            out.value::<Integer, _>(&r.position)?;
            out.value::<Text, _>(&r.name)?;
            out.value::<Text, _>(&r.relation)?;
            out.value::<Text, _>(&r.id_cipher)?;
            out.value::<Text, _>(&r.id_key_id)?;
            out.value::<Binary, _>(&r.id_blind)?;
            out.value::<Text, _>(&r.id_masked)?;
            out.value::<Text, _>(&self.birth_date)?;
            out.value::<Text, _>(&r.gender)?;
            out.value::<Text, _>(&r.health)?;
            out.value::<Nullable<Text>, _>(&r.disability_type)?;
            out.value::<Nullable<Integer>, _>(&r.disability_level)?;
            out.value::<Text, _>(&r.daily_living)?;
            out.value::<Text, _>(&r.work_status)?;
            out.value::<Text, _>(&r.student_status)?;
            out.value::<Text, _>(&r.income)?;
            out.value::<BigInt, _>(&r.annual_income_fen)?;
            out.value::<Nullable<Text>, _>(&r.phone_cipher)?;
            out.value::<Nullable<Text>, _>(&r.phone_masked)?;
            self.stamps.bind(out)
        }
    }

    pub fn households(conn: &mut SqliteConnection, rows: &[HouseholdRow]) -> QueryResult<usize> {
        let rows: Vec<Household<'_>> = rows
            .iter()
            .map(|r| Household {
                r,
                stamps: Stamps::of(r.created_at, r.updated_at),
            })
            .collect();
        bulk::insert(conn, &rows)
    }

    pub fn members(conn: &mut SqliteConnection, rows: &[MemberRow]) -> QueryResult<usize> {
        let rows: Vec<Member<'_>> = rows
            .iter()
            .map(|r| Member {
                r,
                birth_date: bulk::date_text(r.birth_date),
                stamps: Stamps::of(r.created_at, r.updated_at),
            })
            .collect();
        bulk::insert(conn, &rows)
    }
}

/// PostgreSQL's `COPY … FROM STDIN (FORMAT csv)` for the two large tables: no statement to parse
/// and plan per 500 rows, no per-value bind. Every text is quoted, so an empty string stays an empty
/// string and an unquoted empty field is NULL.
mod pg_copy {
    use diesel::pg::CopyFormat;
    use diesel::prelude::*;
    use diesel::result::Error;

    use super::{HouseholdRow, MemberRow};
    use crate::db::pg_copy::{bytea, optional, plain, text, write_all, TIMESTAMP};
    use crate::db::schema::{households, members};

    pub fn households(
        conn: &mut diesel::PgConnection,
        rows: &[HouseholdRow],
    ) -> Result<usize, Error> {
        if rows.is_empty() {
            return Ok(0);
        }
        diesel::copy_from(households::table)
            .from_raw_data(households::table, |out: &mut dyn std::io::Write| {
                write_all(out, rows.len(), |i, l| {
                    let r = &rows[i];
                    text(l, &r.id);
                    optional(l, r.external_id.as_deref());
                    text(l, &r.address);
                    match r.lat {
                        Some(v) => plain(l, v),
                        None => l.push(','),
                    }
                    match r.lon {
                        Some(v) => plain(l, v),
                        None => l.push(','),
                    }
                    text(l, &r.grid_id);
                    text(l, &r.org_path);
                    plain(l, if r.grid_overridden { "t" } else { "f" });
                    text(l, &r.status);
                    text(l, &r.notes);
                    optional(l, r.head_member_id.as_deref());
                    optional(l, r.head_name.as_deref());
                    plain(l, r.member_count);
                    plain(l, r.version);
                    plain(l, r.created_at.format(TIMESTAMP));
                    plain(l, r.updated_at.format(TIMESTAMP));
                })
            })
            .with_format(CopyFormat::Csv)
            .execute(conn)
    }

    pub fn members(conn: &mut diesel::PgConnection, rows: &[MemberRow]) -> Result<usize, Error> {
        if rows.is_empty() {
            return Ok(0);
        }
        diesel::copy_from(members::table)
            .from_raw_data(members::table, |out: &mut dyn std::io::Write| {
                write_all(out, rows.len(), |i, l| {
                    let r = &rows[i];
                    text(l, &r.id);
                    text(l, &r.household_id);
                    plain(l, r.position);
                    text(l, &r.name);
                    text(l, &r.relation);
                    text(l, &r.id_cipher);
                    text(l, &r.id_key_id);
                    bytea(l, &r.id_blind);
                    text(l, &r.id_masked);
                    plain(l, r.birth_date.format("%Y-%m-%d"));
                    text(l, &r.gender);
                    text(l, &r.health);
                    optional(l, r.disability_type.as_deref());
                    match r.disability_level {
                        Some(v) => plain(l, v),
                        None => l.push(','),
                    }
                    text(l, &r.daily_living);
                    text(l, &r.work_status);
                    text(l, &r.student_status);
                    text(l, &r.income);
                    plain(l, r.annual_income_fen);
                    optional(l, r.phone_cipher.as_deref());
                    optional(l, r.phone_masked.as_deref());
                    plain(l, r.created_at.format(TIMESTAMP));
                    plain(l, r.updated_at.format(TIMESTAMP));
                })
            })
            .with_format(CopyFormat::Csv)
            .execute(conn)
    }
}
