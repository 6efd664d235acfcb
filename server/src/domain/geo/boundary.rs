//! Turning a GeoJSON boundary from a client or a data file into a valid WGS-84 MultiPolygon, with a
//! stable error code for each way it can be wrong.

use geo::algorithm::Relate;
use geo::coordinate_position::CoordPos;
use geo::dimensions::Dimensions;
use geo::{
    Area, BoundingRect, Coord, Intersects, LineString, MultiPolygon, Orient, Polygon,
    PreparedGeometry, Rect,
};

use super::coord::LatLon;
use super::crs::{to_wgs84, Crs};
use super::segments::{check_ring_simple, RingDefect};

/// Caps that keep a hostile or careless upload from tying up the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundaryLimits {
    /// Positions summed over all rings, closing positions included.
    pub max_vertices: usize,
}

impl Default for BoundaryLimits {
    fn default() -> Self {
        Self {
            max_vertices: 1_000_000,
        }
    }
}

/// Why a boundary was refused. Ring 0 of a polygon is its exterior, rings 1.. its holes; all indices
/// count from 0 in the order of the GeoJSON arrays.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BoundaryError {
    #[error("expected a Polygon or MultiPolygon, got {found}")]
    WrongGeometryType { found: &'static str },
    #[error("polygon {polygon} ring {ring} is not closed: its first and last positions differ")]
    UnclosedRing { polygon: usize, ring: usize },
    #[error("polygon {polygon} ring {ring} has {count} positions; a ring needs at least 4 (3 distinct corners and the closing position)")]
    TooFewPoints {
        polygon: usize,
        ring: usize,
        count: usize,
    },
    #[error("polygon {polygon} ring {ring} position {position}: {reason}")]
    CoordinateOutOfRange {
        polygon: usize,
        ring: usize,
        position: usize,
        reason: String,
    },
    #[error("the boundary has {count} positions; at most {max} are accepted")]
    TooManyVertices { count: usize, max: usize },
    #[error(
        "polygon {polygon} ring {ring} crosses or touches itself near lon {lon:.6}, lat {lat:.6}"
    )]
    SelfIntersection {
        polygon: usize,
        ring: usize,
        lon: f64,
        lat: f64,
    },
    #[error("polygon {polygon}: {detail}")]
    InvalidGeometry { polygon: usize, detail: String },
    #[error("the boundary encloses no area: {detail}")]
    EmptyGeometry { detail: String },
}

impl BoundaryError {
    /// A stable code for API clients to switch on; the message is for people.
    pub fn code(&self) -> &'static str {
        match self {
            BoundaryError::WrongGeometryType { .. } => "wrong_geometry_type",
            BoundaryError::UnclosedRing { .. } => "unclosed_ring",
            BoundaryError::TooFewPoints { .. } => "too_few_points",
            BoundaryError::CoordinateOutOfRange { .. } => "coordinate_out_of_range",
            BoundaryError::TooManyVertices { .. } => "too_many_vertices",
            BoundaryError::SelfIntersection { .. } => "self_intersection",
            BoundaryError::InvalidGeometry { .. } => "invalid_geometry",
            BoundaryError::EmptyGeometry { .. } => "empty_geometry",
        }
    }
}

/// Parses a Polygon or MultiPolygon given in `crs` and returns it in WGS-84 (x = longitude,
/// y = latitude), exteriors counter-clockwise and holes clockwise as RFC 7946 recommends.
pub fn parse_boundary(
    geometry: &geojson::Geometry,
    crs: Crs,
    limits: &BoundaryLimits,
) -> Result<MultiPolygon<f64>, BoundaryError> {
    let polygons: &[geojson::PolygonType] = match &geometry.value {
        geojson::Value::Polygon(rings) => std::slice::from_ref(rings),
        geojson::Value::MultiPolygon(polygons) => polygons,
        other => {
            return Err(BoundaryError::WrongGeometryType {
                found: other.type_name(),
            })
        }
    };
    // Counted before anything is copied, so an oversized upload costs one pass over the ring lengths.
    let count: usize = polygons.iter().flatten().map(Vec::len).sum();
    if count > limits.max_vertices {
        return Err(BoundaryError::TooManyVertices {
            count,
            max: limits.max_vertices,
        });
    }
    if polygons.iter().all(|rings| rings.is_empty()) {
        return Err(BoundaryError::EmptyGeometry {
            detail: "it has no rings".into(),
        });
    }

    let mut out = Vec::with_capacity(polygons.len());
    for (pi, rings) in polygons.iter().enumerate() {
        if rings.is_empty() {
            return Err(BoundaryError::EmptyGeometry {
                detail: format!("polygon {pi} has no rings"),
            });
        }
        let mut converted = Vec::with_capacity(rings.len());
        for (ri, ring) in rings.iter().enumerate() {
            converted.push(convert_ring(ring, pi, ri, crs)?);
        }
        let exterior = converted.remove(0);
        out.push(Polygon::new(exterior, converted));
    }
    Ok(MultiPolygon::new(check_topology(out)?).orient(geo::orient::Direction::Default))
}

fn convert_ring(
    ring: &[geojson::Position],
    polygon: usize,
    ring_index: usize,
    crs: Crs,
) -> Result<LineString<f64>, BoundaryError> {
    let too_few = |count| BoundaryError::TooFewPoints {
        polygon,
        ring: ring_index,
        count,
    };
    if ring.len() < 4 {
        return Err(too_few(ring.len()));
    }
    if ring.first().map(|p| p.get(..2)) != ring.last().map(|p| p.get(..2)) {
        return Err(BoundaryError::UnclosedRing {
            polygon,
            ring: ring_index,
        });
    }
    let mut coords: Vec<Coord<f64>> = Vec::with_capacity(ring.len());
    for (position, raw) in ring.iter().enumerate() {
        let out_of_range = |reason: String| BoundaryError::CoordinateOutOfRange {
            polygon,
            ring: ring_index,
            position,
            reason,
        };
        let (lon, lat) = match raw.as_slice() {
            [lon, lat, ..] => (*lon, *lat),
            _ => {
                return Err(out_of_range(
                    "a position needs a longitude and a latitude".into(),
                ))
            }
        };
        let p = LatLon::new(lat, lon).map_err(|e| out_of_range(e.to_string()))?;
        let c: Coord<f64> = to_wgs84(p, crs).into();
        // Repeated positions are legal GeoJSON but make zero-length edges, which confuse the
        // simplicity test; dropping them changes no area.
        if coords.last() != Some(&c) {
            coords.push(c);
        }
    }
    if coords.len() < 4 {
        return Err(too_few(coords.len()));
    }
    if let Err(defect) = check_ring_simple(&coords) {
        return Err(match defect {
            RingDefect::SelfIntersection(at) => BoundaryError::SelfIntersection {
                polygon,
                ring: ring_index,
                lon: at.x,
                lat: at.y,
            },
            RingDefect::TooComplex => BoundaryError::InvalidGeometry {
                polygon,
                detail: format!("ring {ring_index} is too convoluted to validate"),
            },
        });
    }
    Ok(LineString::new(coords))
}

/// The OGC rules between rings (holes inside their exterior, rings not crossing or sharing an edge,
/// parts not overlapping), checked with geo's `Relate` on envelope-overlapping pairs only; ring
/// simplicity was checked while converting. Parts that merely share an edge are merged rather than
/// refused: district extracts carry such slivers (宁津县 in the Dezhou file has one), and the union is
/// what they mean.
fn check_topology(mut polygons: Vec<Polygon<f64>>) -> Result<Vec<Polygon<f64>>, BoundaryError> {
    for (pi, polygon) in polygons.iter().enumerate() {
        check_holes(pi, polygon)?;
    }
    let mut glued = Vec::new();
    for (a, b) in envelope_overlaps(&polygons) {
        let m = polygons[a].relate(&polygons[b]);
        if m.get(CoordPos::Inside, CoordPos::Inside) != Dimensions::Empty {
            return Err(BoundaryError::InvalidGeometry {
                polygon: a,
                detail: format!("overlaps polygon {b}"),
            });
        }
        if shares_edge(&m) {
            glued.push((a, b));
        }
    }
    if !glued.is_empty() {
        polygons = merge_glued(polygons, &glued);
    }
    for (pi, polygon) in polygons.iter().enumerate() {
        if polygon.unsigned_area() == 0.0 {
            return Err(BoundaryError::EmptyGeometry {
                detail: format!("polygon {pi} has zero area"),
            });
        }
    }
    Ok(polygons)
}

fn shares_edge(m: &geo::relate::IntersectionMatrix) -> bool {
    m.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional
}

fn check_holes(pi: usize, polygon: &Polygon<f64>) -> Result<(), BoundaryError> {
    if polygon.interiors().is_empty() {
        return Ok(());
    }
    let invalid = |detail: String| BoundaryError::InvalidGeometry {
        polygon: pi,
        detail,
    };
    let shell = Polygon::new(polygon.exterior().clone(), vec![]);
    let prepared_shell = PreparedGeometry::from(&shell);
    let holes: Vec<Polygon<f64>> = polygon
        .interiors()
        .iter()
        .map(|r| Polygon::new(r.clone(), vec![]))
        .collect();
    for (hi, hole) in holes.iter().enumerate() {
        let m = prepared_shell.relate(hole);
        if !m.is_contains() {
            return Err(invalid(format!(
                "hole (ring {}) is not inside the exterior",
                hi + 1
            )));
        }
        if shares_edge(&m) {
            return Err(invalid(format!(
                "hole (ring {}) runs along the exterior",
                hi + 1
            )));
        }
    }
    for (a, b) in envelope_overlaps(&holes) {
        let m = holes[a].relate(&holes[b]);
        if m.get(CoordPos::Inside, CoordPos::Inside) != Dimensions::Empty || shares_edge(&m) {
            return Err(invalid(format!(
                "holes (rings {} and {}) overlap",
                a + 1,
                b + 1
            )));
        }
    }
    Ok(())
}

/// Replaces each group of edge-sharing parts by their union.
fn merge_glued(polygons: Vec<Polygon<f64>>, glued: &[(usize, usize)]) -> Vec<Polygon<f64>> {
    // Union-find over part indices; every root is the smallest index of its group.
    let mut parent: Vec<usize> = (0..polygons.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for &(a, b) in glued {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        parent[ra.max(rb)] = ra.min(rb);
    }
    let mut groups: Vec<Vec<Polygon<f64>>> = vec![Vec::new(); polygons.len()];
    for (i, polygon) in polygons.into_iter().enumerate() {
        let r = root(&mut parent, i);
        groups[r].push(polygon);
    }
    groups
        .into_iter()
        .flat_map(|group| match group.len() {
            0 | 1 => group,
            _ => geo::unary_union(&group).0,
        })
        .collect()
}

/// Pairs (a < b) whose bounding boxes touch, found by sorting on the left edge so that a thousand
/// disjoint islands do not cost a million `relate` calls.
fn envelope_overlaps(polygons: &[Polygon<f64>]) -> Vec<(usize, usize)> {
    let mut boxes: Vec<(usize, Rect<f64>)> = polygons
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.bounding_rect().map(|r| (i, r)))
        .collect();
    boxes.sort_by(|x, y| x.1.min().x.total_cmp(&y.1.min().x));
    let mut pairs = Vec::new();
    for (k, (i, r)) in boxes.iter().enumerate() {
        for (j, s) in &boxes[k + 1..] {
            if s.min().x > r.max().x {
                break;
            }
            if r.intersects(s) {
                pairs.push(((*i).min(*j), (*i).max(*j)));
            }
        }
    }
    pairs.sort_unstable();
    pairs
}

/// WGS-84 GeoJSON for responses; always a MultiPolygon so clients handle one shape.
pub fn to_geojson(mp: &MultiPolygon<f64>) -> geojson::Geometry {
    geojson::Geometry::new(geojson::Value::from(mp))
}

/// The bounding box, or `None` for an empty MultiPolygon.
pub fn bbox(mp: &MultiPolygon<f64>) -> Option<Rect<f64>> {
    mp.bounding_rect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::test_data;
    use super::*;
    use geojson::Value;

    fn square(x0: f64, y0: f64, size: f64) -> Vec<Vec<f64>> {
        vec![
            vec![x0, y0],
            vec![x0 + size, y0],
            vec![x0 + size, y0 + size],
            vec![x0, y0 + size],
            vec![x0, y0],
        ]
    }

    fn parse(value: Value) -> Result<MultiPolygon<f64>, BoundaryError> {
        parse_boundary(
            &geojson::Geometry::new(value),
            Crs::Wgs84,
            &BoundaryLimits::default(),
        )
    }

    fn code_of(value: Value) -> &'static str {
        match parse(value) {
            Ok(mp) => panic!("accepted {mp:?}"),
            Err(e) => {
                assert!(!e.to_string().is_empty());
                e.code()
            }
        }
    }

    #[test]
    fn every_real_district_parses() {
        let mut parsed = 0;
        for path in test_data::boundary_files() {
            for (i, feature) in test_data::read_features(&path).into_iter().enumerate() {
                let name = format!("{} feature {i}", path.display());
                let geometry = feature.geometry.as_ref().expect(&name);
                let mp = parse_boundary(geometry, Crs::Gcj02, &BoundaryLimits::default())
                    .unwrap_or_else(|e| panic!("{name}: {} {e}", e.code()));
                let b = bbox(&mp).expect(&name);
                // All four cities lie in eastern China.
                assert!(b.min().x > 110.0 && b.max().x < 130.0, "{name}: {b:?}");
                assert!(b.min().y > 25.0 && b.max().y < 45.0, "{name}: {b:?}");
                assert!(mp.unsigned_area() > 0.0, "{name}");
                parsed += 1;
            }
        }
        assert_eq!(parsed, 31);
    }

    #[test]
    fn gcj02_input_is_shifted_to_wgs84() {
        let ring = square(119.95, 31.75, 0.01);
        let mp = parse_boundary(
            &geojson::Geometry::new(Value::Polygon(vec![ring])),
            Crs::Gcj02,
            &BoundaryLimits::default(),
        )
        .unwrap();
        let b = bbox(&mp).unwrap();
        // GCJ-02 positions lie south-east of the true ones around Changzhou.
        assert!(b.min().x < 119.95 && b.min().y > 31.75, "{b:?}");
        assert!((b.width() - 0.01).abs() < 1e-4, "{b:?}");
    }

    #[test]
    fn accepts_polygons_with_holes_and_outputs_geojson() {
        let mut with_hole = vec![square(0.0, 0.0, 10.0), square(2.0, 2.0, 2.0)];
        with_hole[1].reverse();
        let mp = parse(Value::MultiPolygon(vec![
            with_hole,
            vec![square(20.0, 0.0, 1.0)],
        ]))
        .unwrap();
        assert_eq!(mp.0.len(), 2);
        assert!((mp.unsigned_area() - (100.0 - 4.0 + 1.0)).abs() < 1e-9);
        let json = to_geojson(&mp);
        let back = parse_boundary(&json, Crs::Wgs84, &BoundaryLimits::default()).unwrap();
        assert_eq!(back, mp);
        // A hole touching the exterior at one point is still valid.
        let touching = vec![
            square(0.0, 0.0, 10.0),
            vec![
                vec![0.0, 5.0],
                vec![3.0, 4.0],
                vec![3.0, 6.0],
                vec![0.0, 5.0],
            ],
        ];
        parse(Value::Polygon(touching)).unwrap();
        // So are two polygons meeting at a corner.
        parse(Value::MultiPolygon(vec![
            vec![square(0.0, 0.0, 1.0)],
            vec![square(1.0, 1.0, 1.0)],
        ]))
        .unwrap();
    }

    #[test]
    fn merges_parts_that_share_an_edge() {
        let halves = vec![
            vec![square(0.0, 0.0, 1.0)],
            vec![square(5.0, 5.0, 1.0)],
            vec![square(1.0, 0.0, 1.0)],
        ];
        let mp = parse(Value::MultiPolygon(halves)).unwrap();
        assert_eq!(mp.0.len(), 2);
        assert!((mp.unsigned_area() - 3.0).abs() < 1e-12);
        assert!(mp.0.iter().any(|p| (p.unsigned_area() - 2.0).abs() < 1e-12));
    }

    /// Ring validation is near-linear: geo's `Validation` would make 10^10 edge comparisons here.
    #[test]
    fn a_hundred_thousand_vertex_boundary_parses() {
        let n = 100_000;
        let mut ring: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                let t = i as f64 / n as f64 * std::f64::consts::TAU;
                let r = 0.1 + 0.01 * (50.0 * t).sin();
                vec![119.95 + r * t.cos(), 31.78 + r * t.sin()]
            })
            .collect();
        ring.push(ring[0].clone());
        let started = std::time::Instant::now();
        let mp = parse_boundary(
            &geojson::Geometry::new(Value::Polygon(vec![ring])),
            Crs::Gcj02,
            &BoundaryLimits::default(),
        )
        .unwrap();
        assert_eq!(mp.0[0].exterior().0.len(), n + 1);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn refuses_other_geometry_types() {
        assert_eq!(code_of(Value::Point(vec![1.0, 2.0])), "wrong_geometry_type");
        assert_eq!(
            code_of(Value::LineString(square(0.0, 0.0, 1.0))),
            "wrong_geometry_type"
        );
        let err = parse(Value::GeometryCollection(vec![])).unwrap_err();
        assert!(err.to_string().contains("GeometryCollection"), "{err}");
    }

    #[test]
    fn refuses_unclosed_rings_and_short_rings() {
        let mut open = square(0.0, 0.0, 1.0);
        open.pop();
        open.push(vec![0.0, 0.5]);
        let err = parse(Value::MultiPolygon(vec![
            vec![square(5.0, 5.0, 1.0)],
            vec![open],
        ]))
        .unwrap_err();
        assert_eq!(
            err,
            BoundaryError::UnclosedRing {
                polygon: 1,
                ring: 0
            }
        );
        assert_eq!(err.code(), "unclosed_ring");

        let triangle_without_closing = vec![vec![0.0, 0.0], vec![1.0, 0.0], vec![0.0, 1.0]];
        assert_eq!(
            code_of(Value::Polygon(vec![triangle_without_closing])),
            "too_few_points"
        );
        let repeated = vec![
            vec![0.0, 0.0],
            vec![1.0, 0.0],
            vec![1.0, 0.0],
            vec![0.0, 0.0],
        ];
        assert_eq!(code_of(Value::Polygon(vec![repeated])), "too_few_points");
    }

    #[test]
    fn refuses_bad_coordinates_with_their_position() {
        let mut ring = square(0.0, 0.0, 1.0);
        ring[2] = vec![181.0, 1.0];
        let err = parse(Value::Polygon(vec![ring])).unwrap_err();
        assert_eq!(err.code(), "coordinate_out_of_range");
        assert!(err.to_string().contains("position 2"), "{err}");
        let mut ring = square(0.0, 0.0, 1.0);
        ring[1] = vec![f64::NAN, 1.0];
        assert_eq!(
            code_of(Value::Polygon(vec![ring])),
            "coordinate_out_of_range"
        );
        let mut ring = square(0.0, 89.5, 1.0);
        ring[1] = vec![1.0];
        assert_eq!(
            code_of(Value::Polygon(vec![ring])),
            "coordinate_out_of_range"
        );
        assert_eq!(
            code_of(Value::Polygon(vec![square(0.0, 89.5, 1.0)])),
            "coordinate_out_of_range"
        );
    }

    #[test]
    fn refuses_self_intersections() {
        let bow_tie = vec![
            vec![0.0, 0.0],
            vec![1.0, 1.0],
            vec![1.0, 0.0],
            vec![0.0, 1.0],
            vec![0.0, 0.0],
        ];
        let err = parse(Value::Polygon(vec![bow_tie])).unwrap_err();
        assert_eq!(err.code(), "self_intersection");
        assert!(
            err.to_string().contains("lon 0.500000, lat 0.500000"),
            "{err}"
        );
    }

    #[test]
    fn refuses_invalid_ring_arrangements() {
        let hole_outside = vec![square(0.0, 0.0, 1.0), square(5.0, 5.0, 1.0)];
        assert_eq!(code_of(Value::Polygon(hole_outside)), "invalid_geometry");
        let hole_crossing = vec![square(0.0, 0.0, 2.0), square(1.0, 1.0, 2.0)];
        assert_eq!(code_of(Value::Polygon(hole_crossing)), "invalid_geometry");
        let hole_on_edge = vec![square(0.0, 0.0, 4.0), square(0.0, 1.0, 1.0)];
        assert_eq!(code_of(Value::Polygon(hole_on_edge)), "invalid_geometry");
        let overlapping_holes = vec![
            square(0.0, 0.0, 10.0),
            square(1.0, 1.0, 3.0),
            square(2.0, 2.0, 3.0),
        ];
        assert_eq!(
            code_of(Value::Polygon(overlapping_holes)),
            "invalid_geometry"
        );
        let overlapping_parts = vec![vec![square(0.0, 0.0, 2.0)], vec![square(1.0, 1.0, 2.0)]];
        assert_eq!(
            code_of(Value::MultiPolygon(overlapping_parts)),
            "invalid_geometry"
        );
        let inside_another = vec![vec![square(0.0, 0.0, 3.0)], vec![square(1.0, 1.0, 1.0)]];
        let err = parse(Value::MultiPolygon(inside_another)).unwrap_err();
        assert_eq!(err.code(), "invalid_geometry");
        assert!(err.to_string().contains("polygon 1"), "{err}");
    }

    #[test]
    fn refuses_empty_geometries() {
        assert_eq!(code_of(Value::MultiPolygon(vec![])), "empty_geometry");
        assert_eq!(code_of(Value::Polygon(vec![])), "empty_geometry");
        assert_eq!(
            code_of(Value::MultiPolygon(vec![
                vec![square(0.0, 0.0, 1.0)],
                vec![]
            ])),
            "empty_geometry"
        );
    }

    #[test]
    fn refuses_ten_million_vertices_before_converting_any() {
        let ring = vec![vec![0.0, 0.0]; 10_000_000];
        let geometry = geojson::Geometry::new(Value::Polygon(vec![ring]));
        let started = std::time::Instant::now();
        let err = parse_boundary(&geometry, Crs::Gcj02, &BoundaryLimits::default()).unwrap_err();
        let took = started.elapsed();
        assert_eq!(
            err,
            BoundaryError::TooManyVertices {
                count: 10_000_000,
                max: 1_000_000
            }
        );
        assert_eq!(err.code(), "too_many_vertices");
        assert!(took < std::time::Duration::from_millis(50), "{took:?}");
        let tight = BoundaryLimits { max_vertices: 4 };
        let err = parse_boundary(
            &geojson::Geometry::new(Value::Polygon(vec![square(0.0, 0.0, 1.0)])),
            Crs::Wgs84,
            &tight,
        )
        .unwrap_err();
        assert_eq!(err.code(), "too_many_vertices");
    }
}
