//! Accounts and roles.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{OrgUnitId, UserId};
use crate::org::OrgKind;

/// What a user may do; each role is bound to an org unit whose subtree is its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Citizen,
    GridWorker,
    Coordinator,
    StreetOfficer,
    DistrictOfficer,
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::DistrictOfficer,
        Role::StreetOfficer,
        Role::Coordinator,
        Role::GridWorker,
        Role::Citizen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::DistrictOfficer => "district_officer",
            Role::StreetOfficer => "street_officer",
            Role::Coordinator => "coordinator",
            Role::GridWorker => "grid_worker",
            Role::Citizen => "citizen",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The kinds of org unit a user of this role may be bound to.
    pub fn allowed_org_kinds(self) -> &'static [OrgKind] {
        match self {
            Role::Admin => &[OrgKind::City, OrgKind::District],
            Role::DistrictOfficer => &[OrgKind::District],
            Role::StreetOfficer => &[OrgKind::Street],
            Role::Coordinator => &[OrgKind::Community],
            Role::GridWorker => &[OrgKind::Grid],
            Role::Citizen => &[OrgKind::City],
        }
    }
}

/// A user as the API shows it (never with a password hash).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub org_unit_id: OrgUnitId,
    pub org_unit_code: String,
    pub disabled: bool,
    /// Log-ins need a code from an authenticator app besides the password.
    #[serde(default)]
    pub second_factor: bool,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/users`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub password: String,
    pub display_name: String,
    pub role: Role,
    pub org_unit_id: OrgUnitId,
}

/// `PATCH /api/v1/users/{id}`: absent fields are left as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_unit_id: Option<OrgUnitId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// A new password; every token of the user is revoked when it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}
