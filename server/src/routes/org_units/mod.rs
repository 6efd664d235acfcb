//! `/org-units`: the hierarchy within the caller's subtree.

pub mod create;
pub mod get;
pub mod import;
pub mod list;

use jiuzhu_proto::user::Role;

/// Roles that may change the hierarchy (within their own subtree).
pub const EDITORS: &[Role] = &[Role::Admin, Role::DistrictOfficer];
