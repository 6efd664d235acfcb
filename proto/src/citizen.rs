//! The citizen mini-program's API: registration and self-reports.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::application::Category;
use crate::household::Location;

/// `POST /citizen/register`: a code goes to the phone; `POST /citizen/verify` activates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisterCitizen {
    /// A mainland mobile number, 11 digits.
    pub phone: String,
    pub password: String,
}

/// `POST /citizen/verify`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VerifyCitizen {
    pub phone: String,
    pub code: String,
}

/// The answer to a registration: where the code went (masked).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodeSent {
    pub phone_masked: String,
    pub expires_in_secs: u64,
}

wire_enum!(
    SelfReportStatus {
        Received => "received",
        Verifying => "verifying",
        Closed => "closed",
    }
);

/// `POST /self-reports`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateSelfReport {
    /// The mini-program's id for this report: sending it again returns the stored report.
    #[serde(default)]
    pub id: Option<uuid::Uuid>,
    pub description: String,
    #[serde(default)]
    pub category_hint: Option<Category>,
    /// GCJ-02 when `crs` is absent: that is what the mini-program gives.
    pub location: Location,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub photo_ids: Vec<uuid::Uuid>,
    pub contact_phone: String,
}

/// A self-report as its author sees it: status and public notes only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MySelfReport {
    pub id: uuid::Uuid,
    pub status: SelfReportStatus,
    pub category_hint: Option<Category>,
    pub public_note: String,
    pub created_at: DateTime<Utc>,
}

/// `GET /api/v1/demo/sms-code` (demo servers only): the code a phone would have received.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DemoCode {
    pub code: String,
}
