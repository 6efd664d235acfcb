//! Which grid (网格) a WGS-84 position falls in: an R-tree over the grids' bounding boxes narrows the
//! search to a few candidates, and each candidate answers from a band index of its edges.

use std::ops::ControlFlow;

use geo::{BoundingRect, MultiPolygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;

use super::coord::LatLon;
use super::prepared::{Location, PreparedArea};

/// One grid as the lookup sees it. `key` is the caller's id for it.
#[derive(Debug, Clone)]
pub struct GridEntry<K> {
    pub key: K,
    pub code: String,
    pub boundary: MultiPolygon<f64>,
}

/// An immutable index of grids; rebuild it and swap the `Arc` when boundaries change.
#[derive(Debug)]
pub struct GridLookup<K> {
    /// Sorted by code, so an index comparison is a code comparison.
    grids: Vec<GridEntry<K>>,
    areas: Vec<PreparedArea>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

impl<K: Clone> GridLookup<K> {
    pub fn new(mut grids: Vec<GridEntry<K>>) -> Self {
        // Stable, so grids with equal codes keep the caller's order.
        grids.sort_by(|a, b| a.code.cmp(&b.code));
        let areas = grids
            .iter()
            .map(|g| PreparedArea::new(&g.boundary))
            .collect();
        let boxes = grids
            .iter()
            .enumerate()
            .filter_map(|(i, g)| {
                let r = g.boundary.bounding_rect()?;
                let corners = ([r.min().x, r.min().y], [r.max().x, r.max().y]);
                Some(GeomWithData::new(
                    Rectangle::from_corners(corners.0, corners.1),
                    i,
                ))
            })
            .collect();
        Self {
            grids,
            areas,
            tree: RTree::bulk_load(boxes),
        }
    }

    /// The grid containing `p` (WGS-84). A point on a border shared by several grids (or inside
    /// overlapping grids) belongs to the one with the smallest code, so the answer never depends on
    /// the order grids were loaded in.
    pub fn locate(&self, p: LatLon) -> Option<&GridEntry<K>> {
        let (x, y) = (p.lon(), p.lat());
        let mut best: Option<usize> = None;
        let _: ControlFlow<()> = self.tree.locate_all_at_point_int(&[x, y], |candidate| {
            let i = candidate.data;
            if best.is_none_or(|b| i < b) && self.areas[i].locate(x, y) != Location::Outside {
                best = Some(i);
            }
            ControlFlow::Continue(())
        });
        best.map(|i| &self.grids[i])
    }

    pub fn len(&self) -> usize {
        self.grids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.grids.is_empty()
    }

    /// The grids in code order.
    pub fn grids(&self) -> &[GridEntry<K>] {
        &self.grids
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use geo::{polygon, Polygon};

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
        MultiPolygon::new(vec![polygon![
            (x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1),
        ]])
    }

    fn entry(key: &str, code: &str, boundary: MultiPolygon<f64>) -> GridEntry<String> {
        GridEntry {
            key: key.into(),
            code: code.into(),
            boundary,
        }
    }

    fn at(lon: f64, lat: f64) -> LatLon {
        LatLon::new(lat, lon).unwrap()
    }

    fn code_at(lookup: &GridLookup<String>, lon: f64, lat: f64) -> Option<&str> {
        lookup.locate(at(lon, lat)).map(|g| g.code.as_str())
    }

    #[test]
    fn shared_edges_and_corners_resolve_to_the_smallest_code_in_any_order() {
        let left = entry("a", "320402001001002", rect(119.0, 31.0, 119.5, 31.5));
        let right = entry("b", "320402001001001", rect(119.5, 31.0, 120.0, 31.5));
        let above = entry("c", "320402001001003", rect(119.0, 31.5, 119.5, 32.0));
        let forward = GridLookup::new(vec![left.clone(), right.clone(), above.clone()]);
        let reversed = GridLookup::new(vec![above, right, left]);
        for lookup in [&forward, &reversed] {
            assert_eq!(lookup.len(), 3);
            assert_eq!(code_at(lookup, 119.25, 31.25), Some("320402001001002"));
            assert_eq!(code_at(lookup, 119.75, 31.25), Some("320402001001001"));
            // On the edge shared by left and right.
            assert_eq!(code_at(lookup, 119.5, 31.25), Some("320402001001001"));
            // On the edge shared by left and above.
            assert_eq!(code_at(lookup, 119.25, 31.5), Some("320402001001002"));
            // The corner all three share.
            assert_eq!(code_at(lookup, 119.5, 31.5), Some("320402001001001"));
            // Outer edges and corners belong to their only grid.
            assert_eq!(code_at(lookup, 119.0, 31.0), Some("320402001001002"));
            assert_eq!(code_at(lookup, 119.25, 32.0), Some("320402001001003"));
            assert_eq!(code_at(lookup, 120.0001, 31.25), None);
            assert_eq!(code_at(lookup, 119.75, 31.75), None);
        }
        assert_eq!(forward.locate(at(119.5, 31.25)).unwrap().key, "b");
    }

    #[test]
    fn holes_are_outside_and_islands_inside() {
        let donut = MultiPolygon::new(vec![
            Polygon::new(
                rect(0.0, 0.0, 10.0, 10.0).0[0].exterior().clone(),
                vec![rect(3.0, 3.0, 7.0, 7.0).0[0].exterior().clone()],
            ),
            rect(4.0, 4.0, 6.0, 6.0).0[0].clone(),
        ]);
        let lookup = GridLookup::new(vec![entry("k", "1", donut)]);
        assert_eq!(code_at(&lookup, 1.0, 1.0), Some("1"));
        assert_eq!(code_at(&lookup, 3.5, 5.0), None);
        assert_eq!(code_at(&lookup, 5.0, 5.0), Some("1"));
        assert_eq!(code_at(&lookup, 3.0, 5.0), Some("1"));
    }

    #[test]
    fn empty_lookups_and_empty_boundaries() {
        let lookup: GridLookup<String> = GridLookup::new(vec![]);
        assert!(lookup.is_empty());
        assert!(lookup.locate(at(0.0, 0.0)).is_none());
        let lookup = GridLookup::new(vec![entry("k", "1", MultiPolygon::new(vec![]))]);
        assert_eq!(lookup.len(), 1);
        assert!(lookup.locate(at(0.0, 0.0)).is_none());
    }

    #[test]
    fn can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<GridLookup<String>>();
        assert_send_sync::<GridLookup<uuid::Uuid>>();
    }
}
