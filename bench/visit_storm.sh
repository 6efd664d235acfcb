#!/usr/bin/env bash
# The visit-submission storm (BENCHMARKS.md "Visit submission storm"): WORKERS simulated grid
# workers each submit one visit per task (TASKS each) with a FIELDS-field form, against
# `jiuzhu serve` on SQLite and on PostgreSQL, and the peer: raw SQLite durable commits on the same
# disk (bench/sqlite_commit_peer.py), one row per commit and BATCH rows per commit. One run, one
# table.
#
#   bench/visit_storm.sh
#
# Each target gets a closed-loop storm (CONCURRENCY submissions in flight) and, unless RATE=0, an
# open-loop storm (RATE visits/s scheduled, on a second set of workers: a task takes one visit).
# After each storm the storm lists every worker's visits and checks that each acknowledged one is
# stored; then the server is killed with SIGKILL and the visits rows are counted in the database
# itself (sqlite3 / psql): acknowledged visits must all be there.
#
# Env: WORKERS (1000), TASKS (30), FIELDS (250), CONCURRENCY (64), RATE (1000; 0 = no open
# loop), BATCH (64), PEER_SECONDS (10), SKIP_PEER=1 (no disk peer), SKIP_PG=1, BIN_DIR (use
# these binaries, no build: its `jiuzhu` built with the `bench` feature),
# JIUZHU_BENCH_PG_URL (postgres://postgres@127.0.0.1:5432/postgres: a database is created beside
# it and dropped afterwards), PORT (18480).
set -euo pipefail
cd "$(dirname "$0")/.."

WORKERS="${WORKERS:-1000}"
TASKS="${TASKS:-30}"
FIELDS="${FIELDS:-250}"
CONCURRENCY="${CONCURRENCY:-64}"
RATE="${RATE:-1000}"
BATCH="${BATCH:-64}"
PEER_SECONDS="${PEER_SECONDS:-10}"
PORT="${PORT:-18480}"
PG_ADMIN="${JIUZHU_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_DB="jiuzhu_vstorm_$$"
PG_URL="${PG_ADMIN%/*}/$PG_DB"
export RUST_BACKTRACE=0
export RUST_LOG="${RUST_LOG:-warn}"

if [ -z "${BIN_DIR:-}" ]; then
    cargo build --release -p jiuzhu-server --features jiuzhu-server/bench -p jiuzhu-bench
fi
BIN="${BIN_DIR:-$PWD/target/release}"
RUN="$PWD/target/bench-vstorm/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN"

SERVER_PID=""
PG_CREATED=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
# No shutdown: what a crash leaves is what counts.
crash_server() {
    if [ -n "$SERVER_PID" ]; then
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
cleanup() {
    stop_server
    if [ -n "$PG_CREATED" ]; then
        psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true
    fi
    # The data dirs are the bulk of a run; the reports stay.
    rm -rf "$RUN"/*-data "$RUN"/*-tokens.json
}
trap cleanup EXIT

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

start_server() {
    local name="$1"
    shift
    local log="$RUN/$name-server.log"
    "$BIN/jiuzhu" --data-dir "$RUN/$name-data" "$@" serve --demo --bind "127.0.0.1:$PORT" >"$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 900); do
        if grep -q 'demo log-ins' "$log" 2>/dev/null && curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "the server exited; see $log" >&2
            exit 1
        fi
        sleep 1
    done
    echo "the server did not come up; see $log" >&2
    exit 1
}

# seed NAME PREFIX [server flags…]
seed() {
    local name="$1" prefix="$2"
    shift 2
    echo "== seeding $name/$prefix: $WORKERS workers × $TASKS tasks, $FIELDS-field form (load $(loadavg))"
    local t0=$SECONDS
    "$BIN/jiuzhu" --data-dir "$RUN/$name-data" "$@" bench-seed --workers "$WORKERS" \
        --tasks-per-worker "$TASKS" --prefix "$prefix" --visit-form-fields "$FIELDS" \
        --out "$RUN/$name-$prefix-tokens.json" 2>"$RUN/$name-$prefix-seed.log"
    echo "   seeded in $((SECONDS - t0)) s"
}

# storm NAME MODE PREFIX
storm() {
    local name="$1" mode="$2" prefix="$3"
    local extra=(--concurrency "$CONCURRENCY")
    if [ "$mode" = open ]; then
        extra+=(--rate "$RATE")
    fi
    echo "== $name, $mode loop (load $(loadavg))"
    "$BIN/jiuzhu-bench" --server "http://127.0.0.1:$PORT" storm --visits \
        --tokens "$RUN/$name-$prefix-tokens.json" --watch-pid "$SERVER_PID" \
        --label "$name $mode" "${extra[@]}" --json >"$RUN/$name-$mode.json" || true
    python3 bench/visit_storm_table.py --one "$RUN/$name-$mode.json"
}

{
    echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)," \
        "$(free -g | awk '/^Mem:/ {print $2}') GiB; disk $(df -h "$RUN" | awk 'NR==2 {print $1}');" \
        "$(date -u +%Y-%m-%dT%H:%MZ); load $(loadavg)"
    echo "workload: $WORKERS workers × $TASKS visits, $FIELDS-field form; closed loop $CONCURRENCY" \
        "in flight; open loop $RATE/s; peer batch $BATCH"
} | tee "$RUN/machine.txt"

# --- the peer: raw SQLite durable commits on the same disk ----------------------------------
if [ -z "${SKIP_PEER:-}" ]; then
    echo "== peer: raw SQLite, WAL + synchronous=FULL (load $(loadavg))"
    python3 bench/sqlite_commit_peer.py --dir "$RUN" --seconds "$PEER_SECONDS" --batch "$BATCH" \
        | tee "$RUN/peer.jsonl"
fi

# --- SQLite ---------------------------------------------------------------------------------
start_server sqlite
seed sqlite vsa
if [ "$RATE" != 0 ]; then seed sqlite vsb; fi
storm sqlite closed vsa
if [ "$RATE" != 0 ]; then storm sqlite open vsb; fi
crash_server
sqlite3 "$RUN/sqlite-data/jiuzhu.db" "SELECT count(*) FROM visits" | tee "$RUN/sqlite-stored.txt"

# --- PostgreSQL -----------------------------------------------------------------------------
if [ -z "${SKIP_PG:-}" ]; then
    psql -q "$PG_ADMIN" -c "CREATE DATABASE $PG_DB" >/dev/null
    PG_CREATED=1
    start_server postgres --database-url "$PG_URL"
    seed postgres vsa --database-url "$PG_URL"
    if [ "$RATE" != 0 ]; then seed postgres vsb --database-url "$PG_URL"; fi
    storm postgres closed vsa
    if [ "$RATE" != 0 ]; then storm postgres open vsb; fi
    crash_server
    psql -At "$PG_URL" -c "SELECT count(*) FROM visits" | tee "$RUN/postgres-stored.txt"
fi

echo "load at the end: $(loadavg)" | tee -a "$RUN/machine.txt"
python3 bench/visit_storm_table.py "$RUN" | tee "$RUN/table.md"
echo "reports: $RUN"
