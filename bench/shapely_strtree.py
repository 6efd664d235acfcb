#!/usr/bin/env python3
"""The peer run for the point -> grid benchmark: the same polygons and points as
server/benches/grid_lookup.rs, queried the way shapely users would, with a vectorised
STRtree.query(points, predicate="intersects"). Prints ns per point, checks every
answer against the Rust run, and prints the ratio.

Usage: python3 bench/shapely_strtree.py [DATA_DIR]   (default: target/bench-data)
"""

import json
import pathlib
import sys
import time

import numpy as np
import shapely
from shapely import STRtree

PASSES = 7  # as in the Rust bench: the fastest pass over the million points is kept


def load(data: pathlib.Path, name: str):
    lines = (data / f"{name}_grids.wkt").read_text().splitlines()
    grids = shapely.from_wkt(np.array(lines, dtype=object))
    xy = np.fromfile(data / f"{name}_points.f64", dtype="<f8").reshape(-1, 2)
    rust_answers = np.fromfile(data / f"{name}_rust_answers.i32", dtype="<i4")
    rust = json.loads((data / f"{name}_rust.json").read_text())
    return grids, shapely.points(xy), rust_answers, rust


def check(hits: np.ndarray, rust_answers: np.ndarray) -> int:
    """Points where Rust's grid is not among shapely's hits, or Rust found none and shapely some.

    Shapely returns every grid a border point touches; Rust returns one of them (the smallest code),
    so agreement means membership, not equality."""
    point_idx, grid_idx = hits
    n_grids = int(grid_idx.max(initial=0)) + 1
    pairs = point_idx.astype(np.int64) * n_grids + grid_idx
    found = rust_answers >= 0
    rust_pairs = np.nonzero(found)[0].astype(np.int64) * n_grids + rust_answers[found]
    missing = int(np.count_nonzero(~np.isin(rust_pairs, pairs)))
    any_hit = np.zeros(len(rust_answers), dtype=bool)
    any_hit[point_idx] = True
    extra = int(np.count_nonzero(any_hit & ~found))
    return missing + extra


def run(data: pathlib.Path, name: str) -> None:
    grids, points, rust_answers, rust = load(data, name)
    invalid = int(np.count_nonzero(~shapely.is_valid(grids)))
    started = time.perf_counter()
    tree = STRtree(grids)
    build_ms = (time.perf_counter() - started) * 1e3
    best = float("inf")
    hits = None
    for _ in range(PASSES):
        started = time.perf_counter()
        hits = tree.query(points, predicate="intersects")
        best = min(best, time.perf_counter() - started)
    ns = best * 1e9 / len(points)
    mismatches = check(hits, rust_answers)
    print(
        f"{name}: shapely {ns:.1f} ns/point, rust {rust['ns_per_point']:.1f} ns/point, "
        f"shapely/rust = {ns / rust['ns_per_point']:.2f}x "
        f"({len(grids)} grids, {invalid} invalid, {len(points)} points, "
        f"{np.unique(hits[0]).size} points hit, {mismatches} answers differ, "
        f"tree built in {build_ms:.1f} ms)"
    )


def main() -> None:
    root = pathlib.Path(__file__).resolve().parent.parent
    data = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else root / "target" / "bench-data"
    print(f"shapely {shapely.__version__}, GEOS {shapely.geos_version_string}, numpy {np.__version__}")
    for name in ("demo", "synthetic"):
        run(data, name)


if __name__ == "__main__":
    main()
