#!/usr/bin/env bash
# Before and after in one sitting (BENCHMARKS.md "How the figures are made"): the benchmark
# scripts of this folder run alternately against two builds of the server, ROUNDS times, in the
# order before, after, after, before, before, after… so that a drift of the shared machine's pace
# falls on both sides alike; bench/before_after_table.py prints each pair and its ratio.
#
#   BEFORE_DIR=… AFTER_DIR=… bench/before_after.sh
#
# BEFORE_DIR, AFTER_DIR: folders each holding a `jiuzhu` with the benchmark harness (built with
# the server's `bench` feature; builds from before that feature had the hidden `bench-seed`
# commands always). The load generator `jiuzhu-bench` (and `bare-actix`) of AFTER_DIR drives
# both sides, so only the server differs. Each side seeds its own data with its own `bench-seed`.
#
# Env: ROUNDS (3), WHAT ("storm vstorm household": bench/storm.sh closed loop without the bare
# peer, bench/visit_storm.sh without its disk peer, bench/household_import.sh on SQLite without
# peers), HOUSEHOLDS (100000), STORM_PG=1 (the sync storm on PostgreSQL too), VSTORM_PG=1,
# and the scripts' own variables (WORKERS, TASKS, …), passed through. Logs and the table in
# target/bench-before-after/<time>/.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${BEFORE_DIR:?a folder with the earlier build's jiuzhu}"
: "${AFTER_DIR:?a folder with the later build's jiuzhu, jiuzhu-bench and bare-actix}"
ROUNDS="${ROUNDS:-3}"
WHAT="${WHAT:-storm vstorm household}"
HOUSEHOLDS="${HOUSEHOLDS:-100000}"
OUT="$PWD/target/bench-before-after/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT/bin-before" "$OUT/bin-after"

# Each side's BIN_DIR: its own server, the after side's load generator.
for side in before after; do
    dir="BEFORE_DIR"
    [ "$side" = after ] && dir="AFTER_DIR"
    ln -sf "$(realpath "${!dir}/jiuzhu")" "$OUT/bin-$side/jiuzhu"
    for tool in jiuzhu-bench bare-actix; do
        if [ -e "$AFTER_DIR/$tool" ]; then
            ln -sf "$(realpath "$AFTER_DIR/$tool")" "$OUT/bin-$side/$tool"
        fi
    done
done

{
    echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)," \
        "$(free -g | awk '/^Mem:/ {print $2}') GiB, kernel $(uname -r); $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "before: $(realpath "$BEFORE_DIR/jiuzhu")"
    echo "after:  $(realpath "$AFTER_DIR/jiuzhu")"
} | tee "$OUT/machine.txt"

# run BENCH SIDE ROUND: one script run, its output in $OUT/BENCH-SIDE-ROUND.log with the load
# average before and after it.
run() {
    local bench="$1" side="$2" round="$3" log="$OUT/$1-$2-$3.log"
    local bin="$OUT/bin-$side"
    echo "== $bench, $side, round $round ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
    echo "load-start: $(cut -d' ' -f1-3 /proc/loadavg)" >"$log"
    case "$bench" in
        storm)
            MODES=closed SKIP_BARE=1 SKIP_PG="$([ -n "${STORM_PG:-}" ] || echo 1)" BIN_DIR="$bin" \
                bench/storm.sh >>"$log" 2>&1 || echo "   failed: see $log"
            # The seeded data is the bulk of a run; the reports stay.
            local dir
            dir="$(sed -n 's/^reports: //p' "$log")"
            [ -n "$dir" ] && rm -rf "$dir"/*-data
            ;;
        vstorm)
            SKIP_PEER=1 SKIP_PG="$([ -n "${VSTORM_PG:-}" ] || echo 1)" BIN_DIR="$bin" \
                bench/visit_storm.sh >>"$log" 2>&1 || echo "   failed: see $log"
            ;;
        household)
            SKIP_PG=1 SKIP_PEERS=1 JIUZHU_BENCH_BIN="$bin/jiuzhu" \
                bench/household_import.sh "$HOUSEHOLDS" >>"$log" 2>&1 || echo "   failed: see $log"
            ;;
        *)
            echo "unknown benchmark $bench" >&2
            exit 1
            ;;
    esac
    echo "load-end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$log"
}

for round in $(seq 1 "$ROUNDS"); do
    for bench in $WHAT; do
        if [ $((round % 2)) = 1 ]; then order="before after"; else order="after before"; fi
        for side in $order; do
            run "$bench" "$side" "$round"
        done
    done
done

echo "end: $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt"
python3 bench/before_after_table.py "$OUT" | tee "$OUT/table.md"
echo "reports: $OUT"
