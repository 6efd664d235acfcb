//! Datum shifts between WGS-84 (GPS), GCJ-02 (Chinese web maps) and BD-09 (Baidu maps).
//!
//! GCJ-02 is an obfuscated offset mandated for maps published in China; its forward formula is
//! widely published, its inverse is not, so [`gcj02_to_wgs84`] inverts it numerically. The Rust crates
//! that implement this are small and unmaintained, so the public formulas are written out here.

use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::coord::LatLon;

/// The datum a position is expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    Wgs84,
    Gcj02,
    Bd09,
}

impl Crs {
    pub fn as_str(&self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown coordinate system {0:?}; expected wgs84, gcj02 or bd09")]
pub struct UnknownCrs(pub String);

impl FromStr for Crs {
    type Err = UnknownCrs;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "wgs84" => Ok(Crs::Wgs84),
            "gcj02" => Ok(Crs::Gcj02),
            "bd09" => Ok(Crs::Bd09),
            _ => Err(UnknownCrs(s.to_owned())),
        }
    }
}

/// Krasovsky 1940 ellipsoid, which the GCJ-02 formula is defined on.
const KRASOVSKY_A: f64 = 6_378_245.0;
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// Baidu's extra rotation/scale is keyed to this angular frequency.
const BD_X_PI: f64 = PI * 3000.0 / 180.0;

/// The coarse box in which the official offset is applied; outside it GCJ-02 equals WGS-84. It
/// includes some neighbouring territory, as every published implementation does, so positions just
/// across a border match what Chinese map SDKs return.
fn outside_china(p: LatLon) -> bool {
    !(72.004..=137.8347).contains(&p.lon()) || !(0.8293..=55.8271).contains(&p.lat())
}

fn shift_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn shift_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// The GCJ-02 offset (dlat, dlon) in degrees at a WGS-84 position inside China.
fn gcj_offset(lat: f64, lon: f64) -> (f64, f64) {
    let (x, y) = (lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let dlat = shift_lat(x, y) * 180.0
        / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let dlon = shift_lon(x, y) * 180.0 / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    (dlat, dlon)
}

pub fn wgs84_to_gcj02(p: LatLon) -> LatLon {
    if outside_china(p) {
        return p;
    }
    let (dlat, dlon) = gcj_offset(p.lat(), p.lon());
    LatLon::clamped(p.lat() + dlat, p.lon() + dlon)
}

/// Inverts [`wgs84_to_gcj02`] by fixed-point iteration: the offset changes by well under 1% across
/// the few hundred metres it spans, so each step gains about two decimal digits and a handful of
/// steps reach the 1e-7° target with margin.
pub fn gcj02_to_wgs84(p: LatLon) -> LatLon {
    if outside_china(p) {
        return p;
    }
    let (mut lat, mut lon) = (p.lat(), p.lon());
    for _ in 0..20 {
        let fwd = wgs84_to_gcj02(LatLon::clamped(lat, lon));
        let (err_lat, err_lon) = (fwd.lat() - p.lat(), fwd.lon() - p.lon());
        lat -= err_lat;
        lon -= err_lon;
        if err_lat.abs() < 1e-10 && err_lon.abs() < 1e-10 {
            break;
        }
    }
    LatLon::clamped(lat, lon)
}

pub fn gcj02_to_bd09(p: LatLon) -> LatLon {
    let (x, y) = (p.lon(), p.lat());
    let z = x.hypot(y) + 0.000_02 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) + 0.000_003 * (x * BD_X_PI).cos();
    LatLon::clamped(z * theta.sin() + 0.006, z * theta.cos() + 0.0065)
}

/// The published BD-09 → GCJ-02 formula is only an approximate inverse (errors around 1e-6°, about
/// 10 cm), so it seeds a short fixed-point refinement against [`gcj02_to_bd09`]; round trips then
/// agree to the last few digits.
pub fn bd09_to_gcj02(p: LatLon) -> LatLon {
    let (x, y) = (p.lon() - 0.0065, p.lat() - 0.006);
    let z = x.hypot(y) - 0.000_02 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) - 0.000_003 * (x * BD_X_PI).cos();
    let (mut lat, mut lon) = (z * theta.sin(), z * theta.cos());
    for _ in 0..5 {
        let fwd = gcj02_to_bd09(LatLon::clamped(lat, lon));
        let (err_lat, err_lon) = (fwd.lat() - p.lat(), fwd.lon() - p.lon());
        lat -= err_lat;
        lon -= err_lon;
        if err_lat.abs() < 1e-12 && err_lon.abs() < 1e-12 {
            break;
        }
    }
    LatLon::clamped(lat, lon)
}

pub fn to_wgs84(p: LatLon, crs: Crs) -> LatLon {
    match crs {
        Crs::Wgs84 => p,
        Crs::Gcj02 => gcj02_to_wgs84(p),
        Crs::Bd09 => gcj02_to_wgs84(bd09_to_gcj02(p)),
    }
}

pub fn from_wgs84(p: LatLon, crs: Crs) -> LatLon {
    match crs {
        Crs::Wgs84 => p,
        Crs::Gcj02 => wgs84_to_gcj02(p),
        Crs::Bd09 => gcj02_to_bd09(wgs84_to_gcj02(p)),
    }
}

impl From<jiuzhu_proto::geo::Crs> for Crs {
    fn from(crs: jiuzhu_proto::geo::Crs) -> Self {
        match crs {
            jiuzhu_proto::geo::Crs::Wgs84 => Crs::Wgs84,
            jiuzhu_proto::geo::Crs::Gcj02 => Crs::Gcj02,
            jiuzhu_proto::geo::Crs::Bd09 => Crs::Bd09,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ll(lat: f64, lon: f64) -> LatLon {
        LatLon::new(lat, lon).unwrap()
    }

    fn close(a: LatLon, b: LatLon, tol: f64) -> bool {
        (a.lat() - b.lat()).abs() < tol && (a.lon() - b.lon()).abs() < tol
    }

    #[test]
    fn parses_names_case_insensitively() {
        assert_eq!("WGS84".parse::<Crs>(), Ok(Crs::Wgs84));
        assert_eq!("gcj02".parse::<Crs>(), Ok(Crs::Gcj02));
        assert_eq!("Bd09".parse::<Crs>(), Ok(Crs::Bd09));
        assert!("epsg:4326".parse::<Crs>().is_err());
        for crs in [Crs::Wgs84, Crs::Gcj02, Crs::Bd09] {
            assert_eq!(crs.as_str().parse::<Crs>(), Ok(crs));
            assert_eq!(
                serde_json::to_string(&crs).unwrap(),
                format!("\"{}\"", crs.as_str())
            );
        }
    }

    /// Reference values from the prcoords Python package (public domain), which implements the same
    /// published formulas independently; the eviltransform package agrees to about 1e-7°.
    #[test]
    fn matches_published_reference_values() {
        let changzhou = ll(31.7806, 119.9741);
        let gcj = wgs84_to_gcj02(changzhou);
        assert!(
            close(
                gcj,
                ll(31.778_564_168_585_27, 119.978_847_580_530_56),
                1e-10
            ),
            "{gcj:?}"
        );
        let beijing = wgs84_to_gcj02(ll(39.9087, 116.3975));
        assert!(
            close(
                beijing,
                ll(39.910_103_499_344_76, 116.403_743_572_651_76),
                1e-10
            ),
            "{beijing:?}"
        );
        let bd = gcj02_to_bd09(changzhou);
        assert!(
            close(bd, ll(31.786_672_321_833_61, 119.980_563_258_134_64), 1e-10),
            "{bd:?}"
        );
        let bd = gcj02_to_bd09(ll(39.9087, 116.3975));
        assert!(
            close(bd, ll(39.915_043_351_185_92, 116.403_872_974_515_15), 1e-10),
            "{bd:?}"
        );
    }

    #[test]
    fn the_offset_is_a_few_hundred_metres_in_china() {
        let p = ll(31.7806, 119.9741);
        let g = wgs84_to_gcj02(p);
        let metres_lat = (g.lat() - p.lat()) * 111_000.0;
        let metres_lon = (g.lon() - p.lon()) * 111_000.0 * p.lat().to_radians().cos();
        let d = metres_lat.hypot(metres_lon);
        assert!((100.0..1000.0).contains(&d), "{d} m");
    }

    #[test]
    fn round_trips_across_china() {
        let mut worst: f64 = 0.0;
        for i in 0..40 {
            for j in 0..40 {
                let p = ll(18.0 + i as f64 * 0.9, 74.0 + j as f64 * 1.5);
                let back = gcj02_to_wgs84(wgs84_to_gcj02(p));
                worst = worst.max(
                    (back.lat() - p.lat())
                        .abs()
                        .max((back.lon() - p.lon()).abs()),
                );
                for crs in [Crs::Wgs84, Crs::Gcj02, Crs::Bd09] {
                    let back = to_wgs84(from_wgs84(p, crs), crs);
                    assert!(close(back, p, 1e-7), "{crs:?} {p:?} -> {back:?}");
                }
                let bd_back = bd09_to_gcj02(gcj02_to_bd09(p));
                assert!(close(bd_back, p, 1e-9), "{p:?} -> {bd_back:?}");
            }
        }
        assert!(worst < 1e-7, "worst GCJ-02 round-trip error {worst}");
    }

    #[test]
    fn positions_outside_china_are_not_shifted() {
        for p in [
            ll(48.8566, 2.3522),
            ll(-33.86, 151.21),
            ll(40.71, -74.0),
            ll(60.0, 120.0),
        ] {
            assert_eq!(wgs84_to_gcj02(p), p);
            assert_eq!(gcj02_to_wgs84(p), p);
            assert_eq!(to_wgs84(p, Crs::Gcj02), p);
        }
    }
}
