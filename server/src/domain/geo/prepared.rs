//! Point-in-area tests that cost a handful of edge checks whatever the polygon's size: the edges of a
//! MultiPolygon are bucketed into horizontal bands, so a query only looks at edges near its latitude.

use geo::MultiPolygon;

/// Where a point lies relative to a closed area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Location {
    Outside,
    Boundary,
    Inside,
}

/// An edge stored with its endpoints in (y, x) order, whichever way the ring ran. Two grids that share
/// an edge then evaluate exactly the same floating-point expression for a point near it, so the point
/// can fall on one side, the other, or the boundary, but never into a gap between the two.
#[derive(Debug, Clone, Copy)]
struct Edge {
    lo_x: f64,
    lo_y: f64,
    hi_x: f64,
    hi_y: f64,
}

impl Edge {
    fn new(a: geo::Coord<f64>, b: geo::Coord<f64>) -> Self {
        let (lo, hi) = if (a.y, a.x) <= (b.y, b.x) {
            (a, b)
        } else {
            (b, a)
        };
        Edge {
            lo_x: lo.x,
            lo_y: lo.y,
            hi_x: hi.x,
            hi_y: hi.y,
        }
    }
}

/// Bands hold about this many edges each on average; fewer bands waste time scanning, more waste
/// memory on edges that span several bands.
const EDGES_PER_BAND: usize = 2;
const MAX_BANDS: usize = 1 << 16;
/// A polygon of long slanted edges would be copied into many bands; past this many copies per edge
/// the band count is halved until it fits.
const MAX_COPIES_PER_EDGE: usize = 6;

#[derive(Debug, Clone)]
pub(super) struct PreparedArea {
    min_x: f64,
    min_y: f64,
    max_x: f64,
    max_y: f64,
    bands_per_unit: f64,
    last_band: usize,
    /// Band `b` owns `edges[band_start[b]..band_start[b + 1]]`.
    band_start: Vec<usize>,
    edges: Vec<Edge>,
}

impl PreparedArea {
    pub(super) fn new(area: &MultiPolygon<f64>) -> Self {
        let mut all = Vec::new();
        for polygon in &area.0 {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                all.extend(
                    ring.lines()
                        .filter(|l| l.start != l.end)
                        .map(|l| Edge::new(l.start, l.end)),
                );
            }
        }
        let (mut min_x, mut min_y) = (f64::INFINITY, f64::INFINITY);
        let (mut max_x, mut max_y) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        for e in &all {
            min_x = min_x.min(e.lo_x.min(e.hi_x));
            max_x = max_x.max(e.lo_x.max(e.hi_x));
            min_y = min_y.min(e.lo_y);
            max_y = max_y.max(e.hi_y);
        }
        let height = max_y - min_y;
        let mut bands = (all.len() / EDGES_PER_BAND).clamp(1, MAX_BANDS);
        if height.is_nan() || height <= 0.0 {
            bands = 1;
        }
        loop {
            let mut area = PreparedArea {
                min_x,
                min_y,
                max_x,
                max_y,
                bands_per_unit: if bands > 1 {
                    bands as f64 / height
                } else {
                    0.0
                },
                last_band: bands - 1,
                band_start: Vec::new(),
                edges: Vec::new(),
            };
            let copies: usize = all
                .iter()
                .map(|e| area.band_of(e.hi_y) - area.band_of(e.lo_y) + 1)
                .sum();
            if bands > 1 && copies > MAX_COPIES_PER_EDGE * all.len() {
                bands /= 2;
                continue;
            }
            area.fill(&all, copies);
            return area;
        }
    }

    /// Counting sort of the edges into their bands; `band_of` is monotonic in y, so an edge listed
    /// in bands `band_of(lo_y)..=band_of(hi_y)` is in the band of every y it spans.
    fn fill(&mut self, all: &[Edge], copies: usize) {
        let bands = self.last_band + 1;
        let mut counts = vec![0usize; bands + 1];
        for e in all {
            for b in self.band_of(e.lo_y)..=self.band_of(e.hi_y) {
                counts[b + 1] += 1;
            }
        }
        for b in 0..bands {
            counts[b + 1] += counts[b];
        }
        let mut next = counts.clone();
        let mut edges = vec![
            Edge {
                lo_x: 0.0,
                lo_y: 0.0,
                hi_x: 0.0,
                hi_y: 0.0
            };
            copies
        ];
        for e in all {
            for b in self.band_of(e.lo_y)..=self.band_of(e.hi_y) {
                edges[next[b]] = *e;
                next[b] += 1;
            }
        }
        self.band_start = counts;
        self.edges = edges;
    }

    fn band_of(&self, y: f64) -> usize {
        // `as` saturates: negative and NaN give 0, huge values give usize::MAX, then clamped.
        (((y - self.min_y) * self.bands_per_unit) as usize).min(self.last_band)
    }

    /// Crossing-number test along a ray towards +x, with edges counted over the half-open span
    /// `lo_y <= y < hi_y` so a ray through a vertex counts it once.
    pub(super) fn locate(&self, x: f64, y: f64) -> Location {
        if !(x >= self.min_x && x <= self.max_x && y >= self.min_y && y <= self.max_y) {
            return Location::Outside;
        }
        let band = self.band_of(y);
        let (start, end) = (self.band_start[band], self.band_start[band + 1]);
        let mut inside = false;
        for e in &self.edges[start..end] {
            if y < e.lo_y || y > e.hi_y {
                continue;
            }
            let (ex_min, ex_max) = if e.lo_x <= e.hi_x {
                (e.lo_x, e.hi_x)
            } else {
                (e.hi_x, e.lo_x)
            };
            if x > ex_max {
                continue;
            }
            if e.lo_y == e.hi_y {
                if x >= ex_min {
                    return Location::Boundary;
                }
                continue;
            }
            if x < ex_min {
                if y < e.hi_y {
                    inside = !inside;
                }
                continue;
            }
            let side = (e.hi_x - e.lo_x) * (y - e.lo_y) - (x - e.lo_x) * (e.hi_y - e.lo_y);
            if side == 0.0 {
                return Location::Boundary;
            }
            if side > 0.0 && y < e.hi_y {
                inside = !inside;
            }
        }
        if inside {
            Location::Inside
        } else {
            Location::Outside
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use geo::coordinate_position::CoordPos;
    use geo::{coord, polygon, CoordinatePosition, LineString, Polygon};

    fn square_with_hole() -> MultiPolygon<f64> {
        MultiPolygon::new(vec![polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)],
            interiors: [[(x: 4.0, y: 4.0), (x: 6.0, y: 4.0), (x: 6.0, y: 6.0), (x: 4.0, y: 6.0)]],
        )])
    }

    #[test]
    fn inside_boundary_outside_and_holes() {
        let a = PreparedArea::new(&square_with_hole());
        assert_eq!(a.locate(1.0, 1.0), Location::Inside);
        assert_eq!(a.locate(5.0, 5.0), Location::Outside);
        assert_eq!(a.locate(4.0, 5.0), Location::Boundary);
        assert_eq!(a.locate(0.0, 0.0), Location::Boundary);
        assert_eq!(a.locate(10.0, 3.0), Location::Boundary);
        assert_eq!(a.locate(3.0, 10.0), Location::Boundary);
        assert_eq!(a.locate(11.0, 5.0), Location::Outside);
        assert_eq!(a.locate(f64::NAN, 5.0), Location::Outside);
    }

    /// Agrees with geo's own (linear-time) classifier on a jagged many-vertex ring, including at
    /// its vertices and at points level with them, where crossing counts usually go wrong.
    #[test]
    fn agrees_with_geo_on_a_jagged_ring() {
        let n = 500;
        let ring: Vec<_> = (0..n)
            .map(|i| {
                let t = i as f64 / n as f64 * std::f64::consts::TAU;
                let r = if i % 2 == 0 { 10.0 } else { 6.0 + (i % 7) as f64 };
                coord! { x: (r * t.cos() * 64.0).round() / 64.0, y: (r * t.sin() * 64.0).round() / 64.0 }
            })
            .collect();
        let poly = Polygon::new(LineString::new(ring.clone()), vec![]);
        let area = PreparedArea::new(&MultiPolygon::new(vec![poly.clone()]));
        let mut probes: Vec<_> = ring.iter().map(|c| (c.x, c.y)).collect();
        for i in 0..200 {
            for j in 0..200 {
                probes.push((-11.0 + i as f64 * 0.11, -11.0 + j as f64 * 0.11));
            }
        }
        for c in &ring {
            probes.push((c.x - 0.3, c.y));
            probes.push((c.x + 0.3, c.y));
        }
        for (x, y) in probes {
            let want = match poly.coordinate_position(&coord! { x: x, y: y }) {
                CoordPos::Inside => Location::Inside,
                CoordPos::OnBoundary => Location::Boundary,
                CoordPos::Outside => Location::Outside,
            };
            assert_eq!(area.locate(x, y), want, "at ({x}, {y})");
        }
    }

    #[test]
    fn long_edges_do_not_blow_up_the_bands() {
        // A comb: every tooth spans the whole height, so most edges would land in every band.
        let mut ring = Vec::new();
        for i in 0..1000 {
            let x = i as f64;
            ring.push(coord! { x: x, y: 0.0 });
            ring.push(coord! { x: x + 0.5, y: 100.0 });
        }
        ring.push(coord! { x: 1000.0, y: -1.0 });
        ring.push(coord! { x: 0.0, y: -1.0 });
        let area = PreparedArea::new(&MultiPolygon::new(vec![Polygon::new(
            LineString::new(ring),
            vec![],
        )]));
        assert!(area.edges.len() <= MAX_COPIES_PER_EDGE * 2002);
        assert_eq!(area.locate(0.5, 50.0), Location::Inside);
        assert_eq!(area.locate(0.05, 50.0), Location::Outside);
        assert_eq!(area.locate(1.0, 50.0), Location::Outside);
        assert_eq!(area.locate(1.0, 0.0), Location::Boundary);
    }
}
