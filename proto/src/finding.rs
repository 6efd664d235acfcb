//! Findings: what a rule or a citizen's report raised about a household, waiting for a person.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::application::Category;
use crate::ids::OrgUnitId;

wire_enum!(
    FindingState {
        Open => "open",
        Converted => "converted",
        Dismissed => "dismissed",
    }
);

wire_enum!(
    /// What raised it.
    FindingSource {
        Visit => "visit",
        Household => "household",
        Department => "department",
        SelfReport => "self_report",
    }
);

/// A finding as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    pub id: uuid::Uuid,
    /// The type: the rule's id, or `self_report`.
    #[serde(rename = "type")]
    pub kind: String,
    pub household_id: Option<uuid::Uuid>,
    pub self_report_id: Option<uuid::Uuid>,
    /// The grid (or, for a report outside every grid, the city) it belongs to.
    pub org_unit_id: Option<OrgUnitId>,
    pub rule_id: Option<String>,
    pub rule_version: Option<u32>,
    pub source: FindingSource,
    pub source_id: Option<String>,
    /// The facts the rule read, by name (e.g. `pc`, `s`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub inputs: serde_json::Value,
    /// The values the rule computed (e.g. `oop_share`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub computed: serde_json::Value,
    pub categories: Vec<Category>,
    pub state: FindingState,
    pub reason: Option<String>,
    pub application_id: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /findings/{id}/dismiss`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DismissFinding {
    pub reason: String,
}

/// `POST /findings/{id}/convert`: an application prefilled from the household and the evidence.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConvertFinding {
    /// The categories to request; the finding's suggestions when absent.
    #[serde(default)]
    pub categories: Option<Vec<Category>>,
    #[serde(default)]
    pub note: String,
}
