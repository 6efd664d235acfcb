//! Dated assistance standards per district (docs/domain.md symbols S, D, k, r, X, p).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The standards a district applies from a date until the next row for the same district.
///
/// Money is in whole yuan. Any value may be missing: a rule that needs a missing value produces
/// no finding and is reported as a standard gap instead of guessing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Standard {
    /// The district's 6-digit division code.
    #[cfg_attr(feature = "openapi", schema(example = "320402"))]
    pub district_code: String,
    pub effective_from: NaiveDate,
    /// S, the monthly dibao standard (yuan per person per month), urban.
    #[serde(default)]
    pub s_urban: Option<i64>,
    /// S, rural.
    #[serde(default)]
    pub s_rural: Option<i64>,
    /// D, last year's per-capita disposable income (yuan per year), urban.
    #[serde(default)]
    pub d_urban: Option<i64>,
    /// D, rural.
    #[serde(default)]
    pub d_rural: Option<i64>,
    /// k, the edge multiple of S (1.5 by policy default).
    #[serde(default)]
    pub k: Option<f64>,
    /// r, the rigid-expense ratio of income (e.g. 0.6).
    #[serde(default)]
    pub r: Option<f64>,
    /// X, the annual medical out-of-pocket threshold (yuan).
    #[serde(default)]
    pub x: Option<i64>,
    /// p, the medical out-of-pocket share of income (e.g. 0.4).
    #[serde(default)]
    pub p: Option<f64>,
    /// The district has delegated dibao approval to its streets (20-working-day limit).
    #[serde(default)]
    pub approval_delegated: bool,
    /// Demo values, not a real district's.
    #[serde(default)]
    pub demo: bool,
    #[serde(default)]
    pub note: String,
}

/// A stored standard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredStandard {
    #[serde(flatten)]
    pub standard: Standard,
    pub recorded_at: DateTime<Utc>,
}
