//! `/users`: accounts within the caller's subtree.

pub mod create;
pub mod list;
pub mod update;

use jiuzhu_proto::org::OrgKind;
use jiuzhu_proto::user::Role;
use jiuzhu_proto::ErrorCode;

use crate::db::repo::org_units::OrgUnitRow;
use crate::error::{ApiError, ApiResult};

/// Roles that manage accounts, and which roles each may create or change: an admin any; other
/// managers only roles below their own.
pub fn may_manage(caller: Role, target: Role) -> bool {
    match caller {
        Role::Admin => true,
        Role::DistrictOfficer | Role::StreetOfficer | Role::Coordinator => {
            target > Role::Citizen && target < caller
        }
        Role::GridWorker | Role::Citizen => false,
    }
}

pub const MANAGERS: &[Role] = &[
    Role::Admin,
    Role::DistrictOfficer,
    Role::StreetOfficer,
    Role::Coordinator,
];

/// A role may only be bound to units of the kinds it works at.
pub fn check_binding(role: Role, unit: &OrgUnitRow) -> ApiResult<()> {
    let kind = OrgKind::parse(&unit.kind);
    if kind.is_some_and(|k| role.allowed_org_kinds().contains(&k)) {
        return Ok(());
    }
    let kinds: Vec<&str> = role
        .allowed_org_kinds()
        .iter()
        .map(|k| k.as_str())
        .collect();
    Err(ApiError::bad_request(
        ErrorCode::RoleNotAllowed,
        format!("角色 {} 只能绑定到 {}", role.as_str(), kinds.join("/")),
        format!(
            "a {} must be bound to a {}",
            role.as_str(),
            kinds.join(" or ")
        ),
    ))
}
