//! Statistics per org unit: where a district, street or community stands.

use serde::{Deserialize, Serialize};

use crate::ids::OrgUnitId;

/// A count under a label (a status, a finding type, a state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Count {
    pub key: String,
    pub count: i64,
}

/// Mean working days an application spent in a state before its next step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepTime {
    pub state: String,
    pub steps: i64,
    pub mean_working_days: f64,
}

/// `GET /stats/overview`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overview {
    pub org_unit_id: OrgUnitId,
    pub households: i64,
    pub households_by_status: Vec<Count>,
    /// The window of the coverage figure, in days.
    pub coverage_days: i64,
    pub households_visited: i64,
    /// Share of households with a visit (not rejected) in the window, 0–1.
    pub visit_coverage: f64,
    pub overdue_tasks: i64,
    pub open_findings_by_type: Vec<Count>,
    pub applications_by_state: Vec<Count>,
    pub step_times: Vec<StepTime>,
    pub overdue_applications: i64,
    /// Visits with flags still waiting for review.
    pub flagged_visits_pending: i64,
}

/// One line of the relative poverty table: urban or rural, at one ratio of the median.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PovertyLine {
    /// `urban` or `rural`.
    pub area: String,
    /// Households with an accepted visit, whose per-capita income is known.
    pub households: i64,
    /// Median per-capita monthly income (yuan).
    pub median_pc: Option<f64>,
    pub ratio: f64,
    /// ratio × median.
    pub line: Option<f64>,
    pub below: i64,
    pub share_below: f64,
}

/// `GET /stats/relative-poverty`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RelativePoverty {
    pub org_unit_id: OrgUnitId,
    pub lines: Vec<PovertyLine>,
}

/// One indicator's part in the MPI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IndicatorResult {
    pub name: String,
    pub weight: f64,
    /// Share of households deprived in it (uncensored).
    pub deprived_share: f64,
    /// Share of households poor and deprived in it (censored headcount).
    pub censored_share: f64,
    /// weight × censored share ÷ MPI, 0–1 (0 when the MPI is 0).
    pub contribution: f64,
}

/// `GET /stats/mpi`: the Alkire–Foster multidimensional poverty index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mpi {
    pub org_unit_id: OrgUnitId,
    pub households: i64,
    /// Poverty cut-off: poor when the weighted deprivation score ≥ k.
    pub k: f64,
    /// Headcount ratio.
    pub h: f64,
    /// Average intensity among the poor.
    pub a: f64,
    pub mpi: f64,
    pub indicators: Vec<IndicatorResult>,
}

wire_enum!(
    JobState {
        Queued => "queued",
        Running => "running",
        Done => "done",
        Failed => "failed",
    }
);

/// A background job as its owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    pub id: uuid::Uuid,
    /// `department_import`, `stats_overview`, `stats_mpi`, `stats_relative_poverty`.
    pub kind: String,
    pub state: JobState,
    /// Times a worker took it (more than once when a worker died holding it).
    pub attempts: i32,
    /// The result when done (the import report, the statistic).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub result: Option<serde_json::Value>,
    /// While running: how far it got (an import's rows so far and households evaluated),
    /// renewed with the worker's lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub progress: Option<serde_json::Value>,
    pub error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// `POST /jobs`: a heavy statistic computed in the background.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateStatsJob {
    /// `stats_overview`, `stats_mpi` or `stats_relative_poverty`.
    pub kind: String,
    #[serde(default)]
    pub org_unit_id: Option<OrgUnitId>,
}
