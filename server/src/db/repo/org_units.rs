//! `org_units`: the hierarchy, with materialised paths and WGS-84 boundaries.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use jiuzhu_proto::org::OrgKind;

use crate::db::limit::FirstRow;
use crate::db::one_of::one_of;
use crate::db::schema::org_units;
use crate::db::AnyConnection;
use crate::in_scope;
use crate::scope::Scope;

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = org_units)]
pub struct OrgUnitRow {
    pub id: String,
    pub kind: String,
    pub code: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub path: String,
    pub boundary: Option<String>,
    pub min_lon: Option<f64>,
    pub min_lat: Option<f64>,
    pub max_lon: Option<f64>,
    pub max_lat: Option<f64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = org_units)]
pub struct NewOrgUnit {
    pub id: String,
    pub kind: String,
    pub code: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub path: String,
    pub boundary: Option<String>,
    pub min_lon: Option<f64>,
    pub min_lat: Option<f64>,
    pub max_lon: Option<f64>,
    pub max_lat: Option<f64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A change of name or boundary; `None` leaves the boundary as it is.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = org_units)]
pub struct OrgUnitChanges {
    pub name: String,
    pub boundary: Option<Option<String>>,
    pub min_lon: Option<Option<f64>>,
    pub min_lat: Option<Option<f64>>,
    pub max_lon: Option<Option<f64>>,
    pub max_lat: Option<Option<f64>>,
    pub updated_at: NaiveDateTime,
}

/// Filters for a list.
#[derive(Debug, Clone, Default)]
pub struct OrgUnitFilter {
    pub parent_id: Option<String>,
    pub kind: Option<String>,
    /// Keyset: only rows whose path sorts after this one.
    pub after_path: Option<String>,
    pub limit: i64,
}

pub fn insert(conn: &mut AnyConnection, new: &NewOrgUnit) -> QueryResult<usize> {
    diesel::insert_into(org_units::table)
        .values(new)
        .execute(conn)
}

pub fn update(conn: &mut AnyConnection, id: &str, changes: &OrgUnitChanges) -> QueryResult<usize> {
    diesel::update(org_units::table.find(id))
        .set(changes)
        .execute(conn)
}

pub fn find_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> QueryResult<Option<OrgUnitRow>> {
    in_scope!(org_units::table.find(id), org_units::path, scope)
        .select(OrgUnitRow::as_select())
        .first_row(conn)
        .optional()
}

/// By code, without a scope: for imports that must see whether a code is taken anywhere.
pub fn find_by_code(conn: &mut AnyConnection, code: &str) -> QueryResult<Option<OrgUnitRow>> {
    org_units::table
        .filter(org_units::code.eq(code))
        .select(OrgUnitRow::as_select())
        .first_row(conn)
        .optional()
}

// disallowed_methods: the row count is the request's page size, not a constant limit_rows::<N>() can write.
#[allow(clippy::disallowed_methods)]
pub fn list_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    filter: &OrgUnitFilter,
) -> QueryResult<Vec<OrgUnitRow>> {
    let mut query = in_scope!(org_units::table, org_units::path, scope)
        .select(OrgUnitRow::as_select())
        .order(org_units::path.asc())
        .limit(filter.limit)
        .into_boxed();
    if let Some(parent) = &filter.parent_id {
        query = query.filter(org_units::parent_id.eq(parent.clone()));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(org_units::kind.eq(kind.clone()));
    }
    if let Some(after) = &filter.after_path {
        query = query.filter(org_units::path.gt(after.clone()));
    }
    query.load(conn)
}

/// Every grid that has a boundary: (id, code, name, GeoJSON).
pub fn grid_boundaries(
    conn: &mut AnyConnection,
) -> QueryResult<Vec<(String, String, String, String)>> {
    org_units::table
        .filter(org_units::kind.eq(OrgKind::Grid.as_str()))
        .filter(org_units::boundary.is_not_null())
        .select((
            org_units::id,
            org_units::code,
            org_units::name,
            org_units::boundary.assume_not_null(),
        ))
        .order(org_units::code.asc())
        .load(conn)
}

/// Changes whenever a grid is added or its boundary changes: the number of grids and the latest
/// update time, so an instance can tell cheaply that its lookup is stale.
pub fn grid_fingerprint(conn: &mut AnyConnection) -> QueryResult<String> {
    let (count, latest): (i64, Option<NaiveDateTime>) = org_units::table
        .filter(org_units::kind.eq(OrgKind::Grid.as_str()))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::max(org_units::updated_at),
        ))
        .first_row(conn)?;
    Ok(format!(
        "{count}:{}",
        latest.map(|t| t.and_utc().timestamp_micros()).unwrap_or(0)
    ))
}

impl OrgUnitRow {
    /// The unit as the API shows it; the boundary only when asked for.
    pub fn into_api(
        self,
        with_boundary: bool,
    ) -> crate::error::ApiResult<jiuzhu_proto::org::OrgUnit> {
        use crate::error::ApiError;
        let bbox = match (self.min_lon, self.min_lat, self.max_lon, self.max_lat) {
            (Some(a), Some(b), Some(c), Some(d)) => Some([a, b, c, d]),
            _ => None,
        };
        let boundary = match (with_boundary, self.boundary) {
            (true, Some(text)) => Some(serde_json::from_str(&text).map_err(ApiError::internal)?),
            _ => None,
        };
        Ok(jiuzhu_proto::org::OrgUnit {
            id: self.id.parse().map_err(ApiError::internal)?,
            kind: jiuzhu_proto::org::OrgKind::parse(&self.kind).ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("unknown org kind in database"))
            })?,
            code: self.code,
            name: self.name,
            parent_id: self
                .parent_id
                .map(|p| p.parse())
                .transpose()
                .map_err(ApiError::internal)?,
            path: self.path,
            bbox,
            boundary,
            updated_at: self.updated_at.and_utc(),
        })
    }
}

pub fn find_by_id(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<OrgUnitRow>> {
    org_units::table
        .find(id)
        .select(OrgUnitRow::as_select())
        .first_row(conn)
        .optional()
}

/// The units with these codes (a path's ancestors, five at most), in no particular order. Asked
/// once per map click.
pub fn find_by_codes(conn: &mut AnyConnection, codes: &[String]) -> QueryResult<Vec<OrgUnitRow>> {
    org_units::table
        .filter(one_of(org_units::code, codes))
        .select(OrgUnitRow::as_select())
        .load(conn)
}

/// Units other than grids whose bounding box holds the point (their boundary may still not).
pub fn with_bbox_around(
    conn: &mut AnyConnection,
    lon: f64,
    lat: f64,
) -> QueryResult<Vec<OrgUnitRow>> {
    org_units::table
        .filter(org_units::kind.ne(OrgKind::Grid.as_str()))
        .filter(org_units::min_lon.le(lon))
        .filter(org_units::max_lon.ge(lon))
        .filter(org_units::min_lat.le(lat))
        .filter(org_units::max_lat.ge(lat))
        .select(OrgUnitRow::as_select())
        .load(conn)
}

/// Every grid: (id, code, path).
pub fn grids(conn: &mut AnyConnection) -> QueryResult<Vec<(String, String, String)>> {
    org_units::table
        .filter(org_units::kind.eq(OrgKind::Grid.as_str()))
        .select((org_units::id, org_units::code, org_units::path))
        .load(conn)
}

/// Every district: (code, path).
pub fn districts(conn: &mut AnyConnection) -> QueryResult<Vec<(String, String)>> {
    org_units::table
        .filter(org_units::kind.eq(OrgKind::District.as_str()))
        .select((org_units::code, org_units::path))
        .load(conn)
}

/// The codes of every district.
pub fn district_codes(conn: &mut AnyConnection) -> QueryResult<Vec<String>> {
    org_units::table
        .filter(org_units::kind.eq(OrgKind::District.as_str()))
        .select(org_units::code)
        .load(conn)
}

/// The first city by path: (id, path).
pub fn first_city(conn: &mut AnyConnection) -> QueryResult<Option<(String, String)>> {
    org_units::table
        .filter(org_units::kind.eq(OrgKind::City.as_str()))
        .order(org_units::path.asc())
        .select((org_units::id, org_units::path))
        .first_row(conn)
        .optional()
}

/// The id of the unit at a path.
pub fn id_at_path(conn: &mut AnyConnection, path: &str) -> QueryResult<Option<String>> {
    org_units::table
        .filter(org_units::path.eq(path))
        .select(org_units::id)
        .first_row(conn)
        .optional()
}

/// The path of a unit (`NotFound` when there is none).
pub fn path_of(conn: &mut AnyConnection, id: &str) -> QueryResult<String> {
    org_units::table
        .find(id)
        .select(org_units::path)
        .first_row(conn)
}
