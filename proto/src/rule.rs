//! Discovery rules: expressions in the form engine's language over a household's facts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::application::Category;
use crate::error::FieldError;
use crate::form::Label;

/// A named value a rule computes, kept as evidence when the rule fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleValue {
    /// `[a-z_][a-z0-9_]*`, not a fact's name.
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(example = "${pc} div ${s}"))]
    pub expr: String,
}

/// A rule as authors write it (`fixtures/rules/*.toml`, `PUT /rules/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleDefinition {
    /// The finding type it raises, e.g. `possible_dibao`.
    pub id: String,
    pub title: Label,
    /// Suggested categories of the finding.
    pub categories: Vec<Category>,
    /// Computed values, in any order (each may use facts and the other values; cycles are refused).
    #[serde(default)]
    pub values: Vec<RuleValue>,
    /// When the rule fires: a boolean expression over facts and values.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "${pc} < ${s} and ${assets_pass}")
    )]
    pub when: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// A stored rule version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rule {
    pub version: u32,
    #[serde(flatten)]
    pub definition: RuleDefinition,
    /// Standards the rule needs (`s`, `d`, `k`, `r`, `x`, `p`).
    pub needs_standards: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// A rule that could not run for a district because a standard it needs is missing there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleGap {
    pub rule_id: String,
    pub rule_version: u32,
    pub district_code: String,
    /// The missing standards, e.g. `["s"]`.
    pub missing: Vec<String>,
    /// How many evaluations were skipped for it.
    pub times: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// What evaluating one household found, rule by rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleOutcome {
    pub rule_id: String,
    pub rule_version: u32,
    /// `fired`, `not_fired`, `standard_missing`, `error`.
    pub result: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}
