//! Where a point is: its grid and the chain of units above it (community, street, district,
//! city), at whatever levels have boundaries, and whether it is inside the city at all.

use geo::Contains;
use jiuzhu_proto::geo::GridRef;
use jiuzhu_proto::org::OrgKind;

use crate::db::repo::org_units::{self, OrgUnitRow};
use crate::db::AnyConnection;
use crate::domain::geo::LatLon;
use crate::error::{ApiError, ApiResult};

/// The units around a point, from the grid up.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Place {
    pub grid: Option<GridRef>,
    pub community: Option<GridRef>,
    pub street: Option<GridRef>,
    pub district: Option<GridRef>,
    pub city: Option<GridRef>,
    pub inside_city: bool,
}

fn unit_ref(row: &OrgUnitRow) -> ApiResult<GridRef> {
    Ok(GridRef {
        id: row.id.parse().map_err(ApiError::internal)?,
        code: row.code.clone(),
        name: row.name.clone(),
    })
}

/// Stored boundaries are GeoJSON (multi)polygons in WGS-84.
fn contains(boundary: &str, p: LatLon) -> bool {
    let Ok(geometry) = boundary.parse::<geojson::Geometry>() else {
        return false;
    };
    let point = geo::Point::new(p.lon(), p.lat());
    match geometry.value.try_into() {
        Ok(geo::Geometry::MultiPolygon(mp)) => mp.contains(&point),
        Ok(geo::Geometry::Polygon(poly)) => poly.contains(&point),
        _ => false,
    }
}

/// The codes of a unit and its ancestors, from its materialised path.
fn codes_of(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The chain around `p`, given the grid the lookup found (by id), if any. Units named by the
/// grid's path come first; where no grid was found, the units whose own boundary holds the point.
pub fn around(conn: &mut AnyConnection, p: LatLon, grid_id: Option<&str>) -> ApiResult<Place> {
    let mut chain: Vec<OrgUnitRow> = Vec::new();
    if let Some(id) = grid_id {
        if let Some(grid) = org_units::find_by_id(conn, id)? {
            chain = org_units::find_by_codes(conn, &codes_of(&grid.path))?;
        }
    }
    if chain.is_empty() {
        chain = org_units::with_bbox_around(conn, p.lon(), p.lat())?
            .into_iter()
            .filter(|u| u.boundary.as_deref().is_some_and(|b| contains(b, p)))
            .collect();
        // The city above the deepest unit found, which may have no boundary of its own.
        if let Some(deepest) = chain.iter().max_by_key(|u| u.path.len()) {
            chain = org_units::find_by_codes(conn, &codes_of(&deepest.path))?;
        }
    }
    let mut place = Place {
        inside_city: !chain.is_empty(),
        ..Place::default()
    };
    for unit in &chain {
        let slot = match OrgKind::parse(&unit.kind) {
            Some(OrgKind::Grid) => &mut place.grid,
            Some(OrgKind::Community) => &mut place.community,
            Some(OrgKind::Street) => &mut place.street,
            Some(OrgKind::District) => &mut place.district,
            Some(OrgKind::City) => &mut place.city,
            None => continue,
        };
        *slot = Some(unit_ref(unit)?);
    }
    Ok(place)
}
