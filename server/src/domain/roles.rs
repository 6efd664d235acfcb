//! Who may do what: the role lists the handlers check (`caller.require(roles::STAFF)`) and which
//! roles a manager may create or change. They sit with the roles (`jiuzhu_proto::user::Role`),
//! not in the handlers, so that every layer names the same groups.

use jiuzhu_proto::user::Role;

/// Staff who read and write households (everyone but citizens).
pub const STAFF: &[Role] = &[
    Role::Admin,
    Role::DistrictOfficer,
    Role::StreetOfficer,
    Role::Coordinator,
    Role::GridWorker,
];

/// Coordinators and above: grid overrides, reveals, conflicts, imports, tasks, reviews.
pub const COORDINATORS: &[Role] = &[
    Role::Admin,
    Role::DistrictOfficer,
    Role::StreetOfficer,
    Role::Coordinator,
];

/// Roles that manage accounts (which roles each may touch: [`may_manage`]).
pub const MANAGERS: &[Role] = COORDINATORS;

/// Who edits the organisation tree and imports department data.
pub const EDITORS: &[Role] = &[Role::Admin, Role::DistrictOfficer];

/// Who loads department data: the district and the city.
pub const IMPORTERS: &[Role] = EDITORS;

/// Who takes photos: grid workers for visits, citizens for their self-reports (which re-file
/// them under the grid the report is routed to).
pub const PHOTO_TAKERS: &[Role] = &[Role::GridWorker, Role::Citizen];

/// Forms, rules and standards are edited by admins only.
pub const ADMINS: &[Role] = &[Role::Admin];

/// Visits are made (and synced) by grid workers only.
pub const GRID_WORKERS: &[Role] = &[Role::GridWorker];

/// The citizen's own pages.
pub const CITIZENS: &[Role] = &[Role::Citizen];

/// Which roles a manager may create or change: an admin any; other managers only roles below
/// their own (never a citizen).
pub fn may_manage(caller: Role, target: Role) -> bool {
    match caller {
        Role::Admin => true,
        Role::DistrictOfficer | Role::StreetOfficer | Role::Coordinator => {
            target > Role::Citizen && target < caller
        }
        Role::GridWorker | Role::Citizen => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers_manage_only_roles_below_their_own() {
        assert!(may_manage(Role::Admin, Role::Admin));
        assert!(may_manage(Role::StreetOfficer, Role::GridWorker));
        assert!(!may_manage(Role::StreetOfficer, Role::DistrictOfficer));
        assert!(!may_manage(Role::Coordinator, Role::Coordinator));
        assert!(!may_manage(Role::Coordinator, Role::Citizen));
        assert!(!may_manage(Role::GridWorker, Role::GridWorker));
        for role in MANAGERS {
            assert!(STAFF.contains(role));
        }
    }
}
