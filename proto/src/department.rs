//! Data from other departments: medical insurance claims, disability certificates, school
//! enrolment, the unemployment register, death records.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::household::RowError;

wire_enum!(
    /// What a file holds. In paths and on the command line with hyphens (`medical-claims`).
    DepartmentSource {
        MedicalClaims => "medical_claims",
        Disability => "disability",
        Education => "education",
        Unemployment => "unemployment",
        Deaths => "deaths",
    }
);

impl DepartmentSource {
    /// `medical-claims`, as in `/imports/medical-claims`.
    pub fn slug(self) -> String {
        self.as_str().replace('_', "-")
    }

    pub fn from_slug(s: &str) -> Option<Self> {
        Self::parse(&s.replace('-', "_"))
    }
}

/// What an import did. Every row is counted once: matched, unmatched, duplicate or rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DepartmentImport {
    pub id: uuid::Uuid,
    pub source: DepartmentSource,
    pub rows: i64,
    /// Matched to a member in the importer's area.
    pub matched: i64,
    /// Valid, but no member in the importer's area has the ID number: downloadable for the
    /// sending department at `/imports/{source}/{id}/unmatched`.
    pub unmatched: i64,
    /// Already imported (same source record id): left alone.
    pub duplicates: i64,
    /// Bad rows, each in `errors` (up to 1,000) with its line.
    pub rejected: i64,
    pub findings_opened: i64,
    pub tasks_created: i64,
    pub errors: Vec<RowError>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}
