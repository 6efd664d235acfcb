//! Locates the shared real-world data (`shared/data`, laid beside the checkout) for tests.

use std::path::PathBuf;

use super::boundary::{parse_boundary, BoundaryLimits};
use super::crs::Crs;

/// `JIUZHU_SHARED_DATA` overrides the default `<workspace>/../shared/data`, for builds of this module
/// outside the workspace.
pub(super) fn shared_data() -> PathBuf {
    match std::env::var_os("JIUZHU_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")),
    }
}

pub(super) fn boundary_files() -> Vec<PathBuf> {
    let dir = shared_data().join("boundaries");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

pub(super) fn read_features(path: &std::path::Path) -> Vec<geojson::Feature> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    match text.parse::<geojson::GeoJson>() {
        Ok(geojson::GeoJson::FeatureCollection(fc)) => fc.features,
        other => panic!("{} is not a FeatureCollection: {other:?}", path.display()),
    }
}

/// 天宁区 (320402) in WGS-84, the district the demo city subdivides.
pub(super) fn tianning() -> geo::MultiPolygon<f64> {
    let path = shared_data().join("boundaries/320400_full.json");
    let feature = read_features(&path)
        .into_iter()
        .find(|f| f.property("adcode").and_then(|v| v.as_i64()) == Some(320402))
        .unwrap_or_else(|| panic!("no 320402 in {}", path.display()));
    let geometry = feature
        .geometry
        .unwrap_or_else(|| panic!("320402 has no geometry"));
    parse_boundary(&geometry, Crs::Gcj02, &BoundaryLimits::default())
        .unwrap_or_else(|e| panic!("320402 does not parse: {e}"))
}
