//! Coordinates on the wire.

use serde::{Deserialize, Serialize};

use crate::ids::OrgUnitId;

/// The coordinate system a point or boundary is given in. Storage is always WGS-84.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    /// GPS, as phones report it.
    Wgs84,
    /// The obfuscated system of Chinese web maps and the WeChat mini-program.
    Gcj02,
    /// Baidu's further-shifted system.
    Bd09,
}

/// `GET /api/v1/geo/locate`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocateResponse {
    /// The point in WGS-84.
    pub lat: f64,
    pub lon: f64,
    /// The grid the point falls in, if any.
    pub grid: Option<GridRef>,
    /// The units above (or, where no grid is drawn, around) the point, at whatever levels
    /// have boundaries.
    #[serde(default)]
    pub community: Option<GridRef>,
    #[serde(default)]
    pub street: Option<GridRef>,
    #[serde(default)]
    pub district: Option<GridRef>,
    #[serde(default)]
    pub city: Option<GridRef>,
    /// Whether the point lies inside any unit's boundary at all; `false` means outside the city.
    #[serde(default)]
    pub inside_city: bool,
}

/// A unit (grid, community, street, district or city), as the point lookup names it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GridRef {
    pub id: OrgUnitId,
    pub code: String,
    pub name: String,
}
