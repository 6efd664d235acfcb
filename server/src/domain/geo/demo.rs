//! The demo city's streets (街道), communities (社区) and grids (网格): real street, community and grid
//! boundaries are not public, so a real district is cut into a plausible synthetic hierarchy.
//!
//! The district's bounding box is covered by a lattice of quadrilateral cells whose inner corners are
//! jittered, so borders look drawn rather than ruled. Blocks of cells form communities, blocks of
//! communities form streets, and each unit is its block clipped to the district. Cells share corner
//! coordinates exactly, so neighbouring grids meet without gaps or overlaps.

use geo::{Area, BooleanOps, BoundingRect, Coord, LineString, MultiPolygon, Polygon};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DemoKind {
    Street,
    Community,
    Grid,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoUnit {
    pub kind: DemoKind,
    pub code: String,
    pub name: String,
    pub parent_code: String,
    /// WGS-84, inside the parent's boundary.
    pub boundary: MultiPolygon<f64>,
}

/// Grids aimed for inside the district; edge cells come out smaller, so the real count is near this.
const TARGET_GRIDS: f64 = 220.0;
/// Cells per community block, per side.
const COMMUNITY_CELLS: usize = 3;
/// Street regions across and down the lattice of community blocks.
const STREET_COLUMNS: usize = 3;
const STREET_ROWS: usize = 2;
/// Inner lattice corners move by up to this share of a cell side.
const JITTER: f64 = 0.3;
/// Clipped pieces smaller than this share of a full cell are slivers of the district's edge, too
/// small to be worth a grid worker's round.
const MIN_PIECE_SHARE: f64 = 0.03;

/// Street names of the real 天宁区 first, then plausible ones; all are 街道 because streets get codes
/// 001–099 (towns, 镇, would be 100–199).
const STREET_NAMES: &[&str] = &[
    "天宁街道",
    "红梅街道",
    "雕庄街道",
    "青龙街道",
    "茶山街道",
    "兰陵街道",
    "北港街道",
    "东坡街道",
    "丽华街道",
    "永宁街道",
    "采菱街道",
    "舣舟街道",
];

const COMMUNITY_NAMES: &[&str] = &[
    "红梅新村",
    "丽华新村",
    "翠竹新村",
    "青龙苑",
    "雕庄",
    "茶山",
    "兰陵",
    "朝阳新村",
    "东青",
    "永宁",
    "北港",
    "天宁寺",
    "舣舟亭",
    "桃园",
    "凤凰新城",
    "虹景",
    "采菱",
    "竹林",
    "锦绣",
    "和平",
    "光华",
    "博爱",
    "延陵",
    "长江",
    "东坡",
    "青山湾",
    "龙锦",
    "新丰",
    "常青",
    "春江花园",
    "怡康",
    "富都",
    "观澜",
    "天元",
    "五星",
    "花园新村",
    "清凉",
    "双桂坊",
    "兰园",
    "丽景",
];

/// Splits `district` (WGS-84) into streets, communities and grids, parents before children. The result
/// depends only on the input: the same polygon gives the same units, byte for byte.
pub fn subdivide_district(district_code: &str, district: &MultiPolygon<f64>) -> Vec<DemoUnit> {
    let Some(lattice) = Lattice::covering(district) else {
        return Vec::new();
    };
    let min_piece = lattice.cell_area() * MIN_PIECE_SHARE;
    let blocks_x = lattice.nx.div_ceil(COMMUNITY_CELLS);
    let blocks_y = lattice.ny.div_ceil(COMMUNITY_CELLS);

    let (mut streets, mut communities, mut grids) = (Vec::new(), Vec::new(), Vec::new());
    for (sy, sx) in rows_from_north(0..STREET_ROWS, 0..STREET_COLUMNS) {
        let street_blocks = (
            split(blocks_x, STREET_COLUMNS, sx),
            split(blocks_y, STREET_ROWS, sy),
        );
        let street_code = format!("{district_code}{:03}", streets.len() + 1);
        let mut street_communities = Vec::new();
        for (by, bx) in rows_from_north(street_blocks.1.clone(), street_blocks.0.clone()) {
            let cells_x = bx * COMMUNITY_CELLS..((bx + 1) * COMMUNITY_CELLS).min(lattice.nx);
            let cells_y = by * COMMUNITY_CELLS..((by + 1) * COMMUNITY_CELLS).min(lattice.ny);
            let community_code = format!("{street_code}{:03}", street_communities.len() + 1);
            let community_name = community_name(communities.len() + street_communities.len());
            let mut community_grids = Vec::new();
            for (cy, cx) in rows_from_north(cells_y.clone(), cells_x.clone()) {
                let cell = lattice.block(cx..cx + 1, cy..cy + 1);
                let piece = clip(&cell, district, min_piece);
                if piece.0.is_empty() {
                    continue;
                }
                let n = community_grids.len() + 1;
                community_grids.push(DemoUnit {
                    kind: DemoKind::Grid,
                    code: format!("{community_code}{n:03}"),
                    name: format!("{community_name}社区第{n}网格"),
                    parent_code: community_code.clone(),
                    boundary: piece,
                });
            }
            if community_grids.is_empty() {
                continue;
            }
            let block = lattice.block(cells_x, cells_y);
            street_communities.push(DemoUnit {
                kind: DemoKind::Community,
                code: community_code,
                name: format!("{community_name}社区"),
                parent_code: street_code.clone(),
                boundary: clip(&block, district, 0.0),
            });
            grids.append(&mut community_grids);
        }
        if street_communities.is_empty() {
            continue;
        }
        let cells_x = street_blocks.0.start * COMMUNITY_CELLS
            ..(street_blocks.0.end * COMMUNITY_CELLS).min(lattice.nx);
        let cells_y = street_blocks.1.start * COMMUNITY_CELLS
            ..(street_blocks.1.end * COMMUNITY_CELLS).min(lattice.ny);
        streets.push(DemoUnit {
            kind: DemoKind::Street,
            code: street_code,
            name: street_name(streets.len()),
            parent_code: district_code.to_owned(),
            boundary: clip(&lattice.block(cells_x, cells_y), district, 0.0),
        });
        communities.append(&mut street_communities);
    }
    streets.extend(communities);
    streets.extend(grids);
    streets
}

fn street_name(i: usize) -> String {
    match STREET_NAMES.get(i) {
        Some(name) => (*name).to_owned(),
        None => format!("第{}街道", i + 1),
    }
}

fn community_name(i: usize) -> String {
    let base = COMMUNITY_NAMES[i % COMMUNITY_NAMES.len()];
    match i / COMMUNITY_NAMES.len() {
        0 => base.to_owned(),
        round => format!("{base}{}村", round + 1),
    }
}

/// The `part`-th of `parts` near-equal slices of `0..n`.
fn split(n: usize, parts: usize, part: usize) -> std::ops::Range<usize> {
    n * part / parts..n * (part + 1) / parts
}

/// `(y, x)` pairs with the northernmost row first, west to east within a row, the order in which
/// codes are handed out.
fn rows_from_north(
    ys: std::ops::Range<usize>,
    xs: std::ops::Range<usize>,
) -> impl Iterator<Item = (usize, usize)> {
    ys.rev().flat_map(move |y| xs.clone().map(move |x| (y, x)))
}

/// The parts of `shape ∩ district` of at least `min_area`.
fn clip(shape: &Polygon<f64>, district: &MultiPolygon<f64>, min_area: f64) -> MultiPolygon<f64> {
    let mut parts = shape.intersection(district).0;
    parts.retain(|p| p.unsigned_area() >= min_area && p.unsigned_area() > 0.0);
    MultiPolygon::new(parts)
}

/// Corners of an `nx` × `ny` cell lattice; corner `(i, j)` is at `corners[j * (nx + 1) + i]`, row 0
/// in the south.
struct Lattice {
    nx: usize,
    ny: usize,
    cell_w: f64,
    cell_h: f64,
    corners: Vec<Coord<f64>>,
}

impl Lattice {
    fn covering(district: &MultiPolygon<f64>) -> Option<Self> {
        let bounds = district.bounding_rect()?;
        let area = district.unsigned_area();
        if area.is_nan() || area <= 0.0 {
            return None;
        }
        // Degrees of longitude shrink with latitude; cells are square on the ground.
        let shrink = bounds.center().y.to_radians().cos().max(0.01);
        let cell_h = (area * shrink / TARGET_GRIDS).sqrt();
        let cell_w = cell_h / shrink;
        // Half a cell of margin keeps the unjittered outer corners clear of the district.
        let nx = ((bounds.width() / cell_w).ceil() as usize + 1).min(1000);
        let ny = ((bounds.height() / cell_h).ceil() as usize + 1).min(1000);
        let origin = Coord {
            x: bounds.center().x - nx as f64 * cell_w / 2.0,
            y: bounds.center().y - ny as f64 * cell_h / 2.0,
        };
        let mut corners = Vec::with_capacity((nx + 1) * (ny + 1));
        for j in 0..=ny {
            for i in 0..=nx {
                let mut c = Coord {
                    x: origin.x + i as f64 * cell_w,
                    y: origin.y + j as f64 * cell_h,
                };
                if i > 0 && i < nx && j > 0 && j < ny {
                    c.x += jitter(i, j, 0) * JITTER * cell_w;
                    c.y += jitter(i, j, 1) * JITTER * cell_h;
                }
                corners.push(c);
            }
        }
        Some(Self {
            nx,
            ny,
            cell_w,
            cell_h,
            corners,
        })
    }

    fn cell_area(&self) -> f64 {
        self.cell_w * self.cell_h
    }

    fn corner(&self, i: usize, j: usize) -> Coord<f64> {
        self.corners[j * (self.nx + 1) + i]
    }

    /// The polygon covering cells `xs` × `ys`. Its outline passes through every lattice corner on
    /// the block's edge, so it is exactly the union of its cells and shares their edges.
    fn block(&self, xs: std::ops::Range<usize>, ys: std::ops::Range<usize>) -> Polygon<f64> {
        let mut ring = Vec::new();
        ring.extend((xs.start..xs.end).map(|i| self.corner(i, ys.start)));
        ring.extend((ys.start..ys.end).map(|j| self.corner(xs.end, j)));
        ring.extend(
            (xs.start + 1..=xs.end)
                .rev()
                .map(|i| self.corner(i, ys.end)),
        );
        ring.extend(
            (ys.start + 1..=ys.end)
                .rev()
                .map(|j| self.corner(xs.start, j)),
        );
        Polygon::new(LineString::new(ring), vec![])
    }
}

/// A deterministic value in [-1, 1) for a lattice corner (SplitMix64 finaliser), so the demo city
/// never depends on a random generator's version.
fn jitter(i: usize, j: usize, axis: u64) -> f64 {
    let mut z = (i as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((j as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
        .wrapping_add(axis.wrapping_mul(0x1656_67B1_9E37_79F9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::test_data;
    use super::*;
    use geo::Relate;
    use std::collections::HashMap;

    fn tianning_units() -> Vec<DemoUnit> {
        subdivide_district("320402", &test_data::tianning())
    }

    fn of_kind(units: &[DemoUnit], kind: DemoKind) -> Vec<&DemoUnit> {
        units.iter().filter(|u| u.kind == kind).collect()
    }

    #[test]
    fn tianning_has_enough_units_with_well_formed_codes_and_names() {
        let units = tianning_units();
        let streets = of_kind(&units, DemoKind::Street);
        let communities = of_kind(&units, DemoKind::Community);
        let grids = of_kind(&units, DemoKind::Grid);
        eprintln!(
            "{} streets, {} communities, {} grids",
            streets.len(),
            communities.len(),
            grids.len()
        );
        assert!(streets.len() >= 4);
        assert!(communities.len() >= 20);
        assert!(grids.len() >= 150);
        let by_code: HashMap<&str, &DemoUnit> =
            units.iter().map(|u| (u.code.as_str(), u)).collect();
        assert_eq!(by_code.len(), units.len(), "codes are unique");
        for (unit, len) in [(&streets, 9), (&communities, 12), (&grids, 15)] {
            for u in unit.iter() {
                assert_eq!(u.code.len(), len, "{}", u.code);
                assert!(u.code.bytes().all(|b| b.is_ascii_digit()), "{}", u.code);
                assert!(
                    u.code.starts_with(&u.parent_code),
                    "{} under {}",
                    u.code,
                    u.parent_code
                );
                assert_eq!(u.parent_code.len(), len - 3);
                assert!(!u.code.ends_with("000"), "{}", u.code);
            }
        }
        for s in &streets {
            assert_eq!(s.parent_code, "320402");
            assert!(s.name.ends_with("街道"), "{}", s.name);
            // Street codes 001–099 are 街道; towns would be 100+.
            assert!(s.code[6..] < *"100");
        }
        for c in &communities {
            assert_eq!(by_code[c.parent_code.as_str()].kind, DemoKind::Street);
            assert!(c.name.ends_with("社区"), "{}", c.name);
        }
        for g in &grids {
            let community = by_code[g.parent_code.as_str()];
            assert_eq!(community.kind, DemoKind::Community);
            assert!(
                g.name.starts_with(&community.name),
                "{} in {}",
                g.name,
                community.name
            );
            assert!(g.name.ends_with("网格"), "{}", g.name);
        }
        // Parents come before their children.
        let first_grid = units.iter().position(|u| u.kind == DemoKind::Grid).unwrap();
        assert!(units[..first_grid].iter().all(|u| u.kind != DemoKind::Grid));
        assert_eq!(units[0].code, "320402001");
        assert_eq!(units[0].name, "天宁街道");
    }

    #[test]
    fn the_same_district_gives_the_same_units() {
        let district = test_data::tianning();
        let a = subdivide_district("320402", &district);
        let b = subdivide_district("320402", &district);
        assert_eq!(a, b);
        // Byte for byte, including the last bits of every coordinate.
        let bits = |units: &[DemoUnit]| -> Vec<u64> {
            units
                .iter()
                .flat_map(|u| u.boundary.0.iter())
                .flat_map(|p| p.exterior().0.iter())
                .flat_map(|c| [c.x.to_bits(), c.y.to_bits()])
                .collect()
        };
        assert_eq!(bits(&a), bits(&b));
    }

    #[test]
    fn children_lie_within_parents_and_grids_do_not_overlap() {
        let district = test_data::tianning();
        let units = subdivide_district("320402", &district);
        let by_code: HashMap<&str, &DemoUnit> =
            units.iter().map(|u| (u.code.as_str(), u)).collect();
        let district_area = district.unsigned_area();
        let cell_area = district_area / TARGET_GRIDS;
        let tolerance = district_area * 1e-9;
        for u in &units {
            assert!(!u.boundary.0.is_empty(), "{} is empty", u.code);
            let area = u.boundary.unsigned_area();
            let parent_boundary = match u.kind {
                DemoKind::Street => &district,
                _ => &by_code[u.parent_code.as_str()].boundary,
            };
            let outside = u.boundary.difference(parent_boundary).unsigned_area();
            assert!(
                outside < tolerance,
                "{} sticks out of its parent by {outside}",
                u.code
            );
            if u.kind == DemoKind::Grid {
                assert!(
                    area >= cell_area * MIN_PIECE_SHARE * 0.5,
                    "{} is a sliver",
                    u.code
                );
            }
        }
        let grids = of_kind(&units, DemoKind::Grid);
        let mut neighbours = 0;
        for (i, a) in grids.iter().enumerate() {
            let ra = a.boundary.bounding_rect().unwrap();
            for b in &grids[i + 1..] {
                let rb = b.boundary.bounding_rect().unwrap();
                if !geo::Intersects::intersects(&ra, &rb) {
                    continue;
                }
                let shared = a.boundary.intersection(&b.boundary).unsigned_area();
                assert!(
                    shared < tolerance,
                    "{} and {} overlap by {shared}",
                    a.code,
                    b.code
                );
                if a.boundary.relate(&b.boundary).is_touches() {
                    neighbours += 1;
                }
            }
        }
        assert!(
            neighbours > grids.len(),
            "grids should tile: only {neighbours} touching pairs"
        );
        // Streets cover the district.
        let streets: Vec<_> = of_kind(&units, DemoKind::Street)
            .iter()
            .map(|s| s.boundary.clone())
            .collect();
        let covered: f64 = streets.iter().map(|s| s.unsigned_area()).sum();
        assert!(
            (covered - district_area).abs() < district_area * 0.01,
            "{covered} vs {district_area}"
        );
        let grid_area: f64 = grids.iter().map(|g| g.boundary.unsigned_area()).sum();
        assert!(
            grid_area > district_area * 0.98,
            "grids cover {grid_area} of {district_area}"
        );
    }

    #[test]
    fn an_empty_district_has_no_units() {
        assert!(subdivide_district("320402", &MultiPolygon::new(vec![])).is_empty());
    }

    #[test]
    fn jitter_stays_in_range() {
        for i in 0..50 {
            for j in 0..50 {
                let v = jitter(i, j, 0);
                assert!((-1.0..1.0).contains(&v));
            }
        }
    }
}
