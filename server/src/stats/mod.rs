//! Statistics per org unit in scope: the overview, the relative poverty line and the
//! Alkire–Foster multidimensional poverty index. Counts are grouped in SQL; the per-household
//! figures (per-capita income, deprivations) come from the same facts the rules read, a page of
//! households at a time, so memory stays flat.

pub mod household_scan;
pub mod overview;
pub mod poverty;

use jiuzhu_proto::OrgUnitId;

use crate::db::repo::org_units;
use crate::db::AnyConnection;
use crate::error::{ApiError, ApiResult};
use crate::scope::Scope;

/// The unit a statistic is about: the one asked for (in the caller's scope), or the caller's own.
pub fn unit_scope(
    conn: &mut AnyConnection,
    caller_scope: &Scope,
    caller_unit: &OrgUnitId,
    asked: Option<OrgUnitId>,
) -> ApiResult<(OrgUnitId, Scope)> {
    let id = asked.unwrap_or(*caller_unit);
    let unit = org_units::find_in_scope(conn, caller_scope, &id.to_string())?
        .ok_or_else(ApiError::not_found)?;
    Ok((id, Scope::subtree(&unit.path)))
}
