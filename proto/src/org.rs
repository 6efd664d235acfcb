//! The org hierarchy: city → district → street → community → grid.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::OrgUnitId;

/// The level of an org unit. Its code length follows from it (docs/domain.md): 6 digits for a city or
/// district (GB/T 2260), 9 for a street, 12 for a community, 15 for a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    City,
    District,
    Street,
    Community,
    Grid,
}

impl OrgKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::City => "city",
            OrgKind::District => "district",
            OrgKind::Street => "street",
            OrgKind::Community => "community",
            OrgKind::Grid => "grid",
        }
    }

    pub fn parse(s: &str) -> Option<OrgKind> {
        [
            OrgKind::City,
            OrgKind::District,
            OrgKind::Street,
            OrgKind::Community,
            OrgKind::Grid,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// The kind a unit of this kind must hang under; a city is a root.
    pub fn parent_kind(self) -> Option<OrgKind> {
        match self {
            OrgKind::City => None,
            OrgKind::District => Some(OrgKind::City),
            OrgKind::Street => Some(OrgKind::District),
            OrgKind::Community => Some(OrgKind::Street),
            OrgKind::Grid => Some(OrgKind::Community),
        }
    }
}

/// An org unit as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgUnit {
    pub id: OrgUnitId,
    pub kind: OrgKind,
    #[cfg_attr(feature = "openapi", schema(example = "320402001001001"))]
    pub code: String,
    #[cfg_attr(feature = "openapi", schema(example = "红梅新村社区第1网格"))]
    pub name: String,
    pub parent_id: Option<OrgUnitId>,
    /// Codes from the city down to this unit, e.g. `/320400/320402/320402001/`.
    pub path: String,
    /// `[min_lon, min_lat, max_lon, max_lat]` in WGS-84, when the unit has a boundary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bbox: Option<[f64; 4]>,
    /// GeoJSON geometry in WGS-84; only on `GET /org-units/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub boundary: Option<serde_json::Value>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/org-units`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateOrgUnit {
    pub kind: OrgKind,
    pub code: String,
    pub name: String,
    pub parent_id: Option<OrgUnitId>,
    /// GeoJSON Polygon or MultiPolygon; required for grids.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub boundary: Option<serde_json::Value>,
    /// The coordinate system of `boundary`; WGS-84 when absent.
    #[serde(default)]
    pub crs: Option<crate::geo::Crs>,
}

/// What an import of boundaries did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
}
