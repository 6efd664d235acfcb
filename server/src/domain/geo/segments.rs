//! Ring simplicity in about O(n log n): geo's `Validation` compares every pair of edges, which is a
//! trillion tests for a million-vertex boundary, so candidate pairs come from an R-tree instead.

use geo::algorithm::line_intersection::line_intersection;
use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo::{Coord, Line};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum RingDefect {
    /// The ring crosses or touches itself near this position.
    SelfIntersection(Coord<f64>),
    /// So many edges have overlapping envelopes that checking them would take too long; no real
    /// boundary comes near this, only crafted ones.
    TooComplex,
}

/// Envelope-overlapping edge pairs examined before giving up. Real boundaries have two or three per
/// edge; dense sawtooth coastlines a few hundred; the fixed part bounds the worst case to a couple of
/// seconds.
fn pair_budget(edges: usize) -> usize {
    64 * edges + 20_000_000
}

/// `ring` must be closed (first == last) with no repeated consecutive positions.
pub(super) fn check_ring_simple(ring: &[Coord<f64>]) -> Result<(), RingDefect> {
    check_within(ring, pair_budget(ring.len()))
}

fn check_within(ring: &[Coord<f64>], mut budget: usize) -> Result<(), RingDefect> {
    let n = ring.len().saturating_sub(1);
    if n < 3 {
        return Ok(());
    }
    let edges: Vec<_> = (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[i + 1]);
            GeomWithData::new(Rectangle::from_corners([a.x, a.y], [b.x, b.y]), i)
        })
        .collect();
    let tree = RTree::bulk_load(edges);
    for i in 0..n {
        let (a, b) = (ring[i], ring[i + 1]);
        let envelope = AABB::from_corners([a.x, a.y], [b.x, b.y]);
        for other in tree.locate_in_envelope_intersecting(&envelope) {
            let j = other.data;
            if j <= i {
                continue;
            }
            budget = budget.checked_sub(1).ok_or(RingDefect::TooComplex)?;
            let (c, d) = (ring[j], ring[j + 1]);
            if j == i + 1 {
                if doubles_back(a, b, d) {
                    return Err(RingDefect::SelfIntersection(b));
                }
            } else if i == 0 && j == n - 1 {
                if doubles_back(c, a, b) {
                    return Err(RingDefect::SelfIntersection(a));
                }
            } else if let Some(hit) = line_intersection(Line::new(a, b), Line::new(c, d)) {
                let at = match hit {
                    geo::LineIntersection::SinglePoint { intersection, .. } => intersection,
                    geo::LineIntersection::Collinear { intersection } => intersection.start,
                };
                return Err(RingDefect::SelfIntersection(at));
            }
        }
    }
    Ok(())
}

/// Consecutive edges `prev → at → next` overlap when the path turns back on itself (a spike).
fn doubles_back(prev: Coord<f64>, at: Coord<f64>, next: Coord<f64>) -> bool {
    RobustKernel::orient2d(prev, at, next) == Orientation::Collinear && {
        let (u, v) = (prev - at, next - at);
        u.x * v.x + u.y * v.y > 0.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use geo::coord;

    fn ring(points: &[(f64, f64)]) -> Vec<Coord<f64>> {
        let mut r: Vec<_> = points.iter().map(|&(x, y)| coord! { x: x, y: y }).collect();
        r.push(r[0]);
        r
    }

    #[test]
    fn simple_rings_pass() {
        assert_eq!(
            check_ring_simple(&ring(&[(0., 0.), (1., 0.), (1., 1.), (0., 1.)])),
            Ok(())
        );
        assert_eq!(
            check_ring_simple(&ring(&[(0., 0.), (1., 0.), (0., 1.)])),
            Ok(())
        );
        // Collinear consecutive vertices going forward are fine.
        assert_eq!(
            check_ring_simple(&ring(&[(0., 0.), (1., 0.), (2., 0.), (2., 1.)])),
            Ok(())
        );
    }

    #[test]
    fn bow_tie_spike_and_self_touch_fail() {
        let bow_tie = ring(&[(0., 0.), (1., 1.), (1., 0.), (0., 1.)]);
        assert_eq!(
            check_ring_simple(&bow_tie),
            Err(RingDefect::SelfIntersection(coord! { x: 0.5, y: 0.5 }))
        );
        let spike = ring(&[(0., 0.), (2., 0.), (2., 2.), (2., 3.), (2., 1.), (0., 2.)]);
        assert!(check_ring_simple(&spike).is_err());
        let closing_spike = ring(&[(0., 0.), (2., 0.), (2., 2.), (0., 2.), (0., 3.)]);
        assert!(check_ring_simple(&closing_spike).is_err());
        let touches_itself = ring(&[(0., 0.), (4., 0.), (4., 4.), (2., 0.), (0., 4.)]);
        assert!(check_ring_simple(&touches_itself).is_err());
    }

    #[test]
    fn gives_up_on_rings_with_too_many_overlapping_envelopes() {
        // A zigzag of long, nearly parallel diagonals: every edge's envelope overlaps every other's.
        let mut points = Vec::new();
        for i in 0..100 {
            points.push((i as f64 * 0.01, 0.0));
            points.push((100.0 + i as f64 * 0.01, 100.0));
        }
        points.extend([(101.0, 150.0), (-50.0, 150.0), (-50.0, 0.0)]);
        let zigzag = ring(&points);
        assert_eq!(check_within(&zigzag, 1000), Err(RingDefect::TooComplex));
        assert_eq!(check_ring_simple(&zigzag), Ok(()));
    }

    #[test]
    fn agrees_with_geo_validation_on_random_rings() {
        use geo::algorithm::Validation;
        // A small linear congruential generator keeps the test free of a rand dependency.
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            ((seed >> 33) % 8) as f64
        };
        let mut disagreements = 0;
        for _ in 0..2000 {
            let pts: Vec<_> = (0..6).map(|_| (next(), next())).collect();
            let mut r = ring(&pts);
            r.dedup();
            if r.len() < 4 || r.first() == r.get(r.len() - 2) {
                continue;
            }
            let ours = check_ring_simple(&r).is_ok();
            let poly = geo::Polygon::new(geo::LineString::new(r.clone()), vec![]);
            let theirs = !poly.validation_errors().iter().any(|e| {
                matches!(
                    e,
                    geo::algorithm::validation::InvalidPolygon::SelfIntersection(_)
                )
            });
            if ours != theirs {
                disagreements += 1;
                eprintln!("{r:?}: ours {ours}, geo {theirs}");
            }
        }
        assert_eq!(disagreements, 0);
    }
}
