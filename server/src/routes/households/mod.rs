//! `/households`: the registry within the caller's subtree.

pub mod conflicts;
pub mod create;
pub mod evaluate;
pub mod get;
pub mod import;
pub mod list;
pub mod reveal;
pub mod update;

use jiuzhu_proto::user::Role;

/// Staff who read and write households (everyone but citizens).
pub const STAFF: &[Role] = &[
    Role::Admin,
    Role::DistrictOfficer,
    Role::StreetOfficer,
    Role::Coordinator,
    Role::GridWorker,
];

/// Coordinators and above: grid overrides, reveals, conflicts, imports.
pub const COORDINATORS: &[Role] = &[
    Role::Admin,
    Role::DistrictOfficer,
    Role::StreetOfficer,
    Role::Coordinator,
];
