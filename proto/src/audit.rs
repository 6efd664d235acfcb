//! The audit log as the search API shows it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Whether the recorded action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuditResult {
    Success,
    Failure,
}

/// One audit record: who did what to which object, with what result, when, in which request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRecord {
    /// Its place in the chain (1, 2, …).
    pub seq: i64,
    #[serde(serialize_with = "crate::wire_time::datetime")]
    pub at: DateTime<Utc>,
    /// The user who acted; absent for the system and the command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// What was done, e.g. `household.view`, `auth.login`, `user.update`.
    pub action: String,
    /// The kind of object, e.g. `household`, `user`, `photo`.
    pub entity: String,
    pub entity_id: String,
    pub result: AuditResult,
    /// The id the server gave the request (also in its log lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// What else the record says (ids and reasons, never personal data).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}
