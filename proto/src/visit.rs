//! Visit reports: what a phone submits after a home visit, and what the server found about it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::geo::Crs;
use crate::ids::UserId;

/// Where the phone was, as its location service reported it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LocationFix {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy (radius, metres) as the phone reported it.
    pub accuracy_m: f64,
    /// WGS-84 when absent.
    #[serde(default)]
    pub crs: Option<Crs>,
    /// When the fix was taken.
    pub fix_time: DateTime<Utc>,
    /// The phone's own "mock location" flag.
    #[serde(default)]
    pub mock: bool,
}

/// `POST /api/v1/visits`. The phone makes the id (a UUID) when the visit is saved, so that
/// sending it again (after a lost response, say) is recognised as the same visit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubmitVisit {
    pub id: uuid::Uuid,
    pub task_id: uuid::Uuid,
    /// The form version the task pinned; answers are checked against exactly this one.
    pub form_key: String,
    pub form_version: i32,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub answers: serde_json::Value,
    pub location: LocationFix,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Photos uploaded before the visit (by this worker).
    #[serde(default)]
    pub photo_ids: Vec<uuid::Uuid>,
    /// Other staff present besides the submitting worker (a dibao investigation needs two).
    #[serde(default)]
    pub staff: Vec<UserId>,
    /// The earlier visit this one corrects.
    #[serde(default)]
    pub supersedes: Option<uuid::Uuid>,
}

wire_enum!(
    /// Why a visit needs a person to look at it. Flags never reject a visit.
    FlagCode {
        FarFromHousehold => "far_from_household",
        OutsideGrid => "outside_grid",
        PoorAccuracy => "poor_accuracy",
        MockLocation => "mock_location",
        TooShort => "too_short",
        RepeatedCoordinates => "repeated_coordinates",
        FixTimeMismatch => "fix_time_mismatch",
        PhotoFar => "photo_far",
        PhotoTimeMismatch => "photo_time_mismatch",
        DuplicatePhoto => "duplicate_photo",
        SimilarPhoto => "similar_photo",
        PhotoBeforeTask => "photo_before_task",
    }
);

/// A flag with the figures that raised it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitFlag {
    pub code: FlagCode,
    /// 中文 / English, with the figures.
    pub message: String,
    /// The measured values and thresholds (metres, seconds, ids).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub evidence: serde_json::Value,
}

wire_enum!(
    ReviewState {
        Pending => "pending",
        Approved => "approved",
        HasIssues => "has_issues",
        Rejected => "rejected",
        Superseded => "superseded",
    }
);

/// A stored visit report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Visit {
    pub id: uuid::Uuid,
    pub task_id: uuid::Uuid,
    pub household_id: uuid::Uuid,
    pub worker_id: UserId,
    pub form_key: String,
    pub form_version: i32,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub answers: serde_json::Value,
    /// The fix as sent.
    pub location: LocationFix,
    /// The fix in WGS-84.
    pub lat: f64,
    pub lon: f64,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub photo_ids: Vec<uuid::Uuid>,
    pub staff: Vec<UserId>,
    pub supersedes: Option<uuid::Uuid>,
    pub flags: Vec<VisitFlag>,
    pub review_state: ReviewState,
    pub review_note: Option<String>,
    pub reviewed_by: Option<UserId>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

/// What a reviewer decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Approved,
    /// The task goes back to the worker.
    HasIssues,
    Rejected,
}

impl From<ReviewDecision> for ReviewState {
    fn from(d: ReviewDecision) -> Self {
        match d {
            ReviewDecision::Approved => ReviewState::Approved,
            ReviewDecision::HasIssues => ReviewState::HasIssues,
            ReviewDecision::Rejected => ReviewState::Rejected,
        }
    }
}

/// `POST /api/v1/visits/{id}/review`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReviewVisit {
    pub decision: ReviewDecision,
    /// Required unless approved.
    #[serde(default)]
    pub note: String,
}
