#!/usr/bin/env bash
# Runs the point → grid benchmark (Rust, criterion) and its shapely peer on the same polygons and
# points, one after the other on this machine, and prints ns per point for both and their ratio.
# Extra arguments go to criterion, e.g. `bench/grid_lookup.sh --quick`.
set -euo pipefail
cd "$(dirname "$0")/.."

export JIUZHU_BENCH_DATA="$PWD/target/bench-data"
# Leave a core free on small machines unless told otherwise.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

if ! python3 -c 'import shapely, numpy' 2>/dev/null; then
    python3 -m pip install --quiet 'shapely>=2,<3' numpy
fi

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1), $(date -u +%Y-%m-%dT%H:%MZ)"
cargo bench -p jiuzhu-server --bench grid_lookup -- "$@"
python3 bench/shapely_strtree.py "$JIUZHU_BENCH_DATA"
