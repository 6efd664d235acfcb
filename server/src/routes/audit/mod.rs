//! `/audit`: the audit log, searched by admins and district officers in their subtree.

pub mod search;

use jiuzhu_proto::user::Role;

/// Who may read the audit log (each in their own subtree).
pub const AUDITORS: &[Role] = &[Role::Admin, Role::DistrictOfficer];
