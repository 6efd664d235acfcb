//! Geography for the assistance service: coordinate systems, boundary validation, the point → grid
//! lookup and the synthetic subdivision of a real district used by the demo city.

pub mod boundary;
mod coord;
pub mod crs;
pub mod demo;
mod grids;
pub mod lookup;
mod prepared;
mod segments;

pub use boundary::{bbox, parse_boundary, to_geojson, BoundaryError, BoundaryLimits};
pub use coord::{CoordError, LatLon};
pub use crs::{from_wgs84, to_wgs84, Crs};
pub use demo::{subdivide_district, DemoKind, DemoUnit};
pub use grids::{GridIndex, GridKey};
pub use lookup::{GridEntry, GridLookup};

#[cfg(test)]
mod test_data;

/// Metres between two WGS-84 points on the mean Earth sphere.
pub fn distance_m(a: LatLon, b: LatLon) -> f64 {
    use geo::{Distance, Haversine, Point};
    Haversine.distance(Point::new(a.lon(), a.lat()), Point::new(b.lon(), b.lat()))
}
