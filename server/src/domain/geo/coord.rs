//! A validated latitude/longitude pair: every position that crosses a module border is one of these,
//! so range checks happen once, at the edge.

use serde::{Deserialize, Serialize};

/// Why a latitude/longitude pair was refused.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum CoordError {
    #[error("coordinates must be finite numbers")]
    NotFinite,
    #[error("latitude {0} is outside -90..=90")]
    LatitudeOutOfRange(f64),
    #[error("longitude {0} is outside -180..=180")]
    LongitudeOutOfRange(f64),
}

/// A position in degrees. Which datum it is in (WGS-84, GCJ-02, BD-09) is the caller's to track; APIs
/// in this module say which one they expect.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawLatLon", into = "RawLatLon")]
pub struct LatLon {
    lat: f64,
    lon: f64,
}

/// The unchecked wire shape; deserialisation goes through [`LatLon::new`] so JSON cannot smuggle in
/// an out-of-range position.
#[derive(Serialize, Deserialize)]
struct RawLatLon {
    lat: f64,
    lon: f64,
}

impl TryFrom<RawLatLon> for LatLon {
    type Error = CoordError;

    fn try_from(raw: RawLatLon) -> Result<Self, Self::Error> {
        LatLon::new(raw.lat, raw.lon)
    }
}

impl From<LatLon> for RawLatLon {
    fn from(p: LatLon) -> Self {
        RawLatLon {
            lat: p.lat,
            lon: p.lon,
        }
    }
}

impl LatLon {
    pub fn new(lat: f64, lon: f64) -> Result<Self, CoordError> {
        if !lat.is_finite() || !lon.is_finite() {
            return Err(CoordError::NotFinite);
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(CoordError::LatitudeOutOfRange(lat));
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(CoordError::LongitudeOutOfRange(lon));
        }
        Ok(Self { lat, lon })
    }

    /// For results of datum shifts, which move a valid input by at most a few hundred metres and so
    /// can only leave the range by rounding at the poles or the antimeridian.
    pub(super) fn clamped(lat: f64, lon: f64) -> Self {
        Self {
            lat: lat.clamp(-90.0, 90.0),
            lon: lon.clamp(-180.0, 180.0),
        }
    }

    pub fn lat(&self) -> f64 {
        self.lat
    }

    pub fn lon(&self) -> f64 {
        self.lon
    }
}

/// geo's convention: x is longitude, y is latitude.
impl From<LatLon> for geo::Coord<f64> {
    fn from(p: LatLon) -> Self {
        geo::coord! { x: p.lon, y: p.lat }
    }
}

impl From<LatLon> for geo::Point<f64> {
    fn from(p: LatLon) -> Self {
        geo::Point::new(p.lon, p.lat)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_corners_of_the_range() {
        for (lat, lon) in [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0), (31.78, 119.97)] {
            let p = LatLon::new(lat, lon).unwrap();
            assert_eq!((p.lat(), p.lon()), (lat, lon));
        }
    }

    #[test]
    fn refuses_non_finite_and_out_of_range() {
        assert_eq!(LatLon::new(f64::NAN, 0.0), Err(CoordError::NotFinite));
        assert_eq!(LatLon::new(0.0, f64::INFINITY), Err(CoordError::NotFinite));
        assert_eq!(
            LatLon::new(90.5, 0.0),
            Err(CoordError::LatitudeOutOfRange(90.5))
        );
        assert_eq!(
            LatLon::new(0.0, -180.01),
            Err(CoordError::LongitudeOutOfRange(-180.01))
        );
    }

    #[test]
    fn deserialising_validates() {
        let ok: LatLon = serde_json::from_str(r#"{"lat":31.7,"lon":119.9}"#).unwrap();
        assert_eq!(ok.lat(), 31.7);
        assert!(serde_json::from_str::<LatLon>(r#"{"lat":91,"lon":0}"#).is_err());
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"lat":31.7,"lon":119.9}"#
        );
    }

    #[test]
    fn converts_to_geo_with_lon_as_x() {
        let c: geo::Coord<f64> = LatLon::new(31.0, 120.0).unwrap().into();
        assert_eq!((c.x, c.y), (120.0, 31.0));
    }
}
