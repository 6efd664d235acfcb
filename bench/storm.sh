#!/usr/bin/env bash
# The morning sync storm (BENCHMARKS.md "Sync storm"): `jiuzhu-bench storm` with WORKERS simulated
# grid workers holding TASKS tasks each, against `jiuzhu serve` on SQLite, against a bare actix-web
# route serving the same bytes (bench/bare-actix: the machine's ceiling), and against `jiuzhu serve`
# on PostgreSQL, one after the other in one run. Each target gets the same two storms:
#   closed  CONCURRENCY requests in flight, as fast as answers come: the highest sustained rate;
#   open    RATE syncs/s scheduled whatever the answers do (latency from the scheduled start).
# Each storm is first every worker's full sync, then incremental syncs with the worker's cursor.
#
#   bench/storm.sh
#
# Env: WORKERS (10000), TASKS (30), CONCURRENCY (32), RATE (2000), WARMUP (5), DURATION (20),
# DECODE (outline: every body parsed as JSON, only what the storm checks built; full: decoded into
# SyncPage as the phone's SDK does; the same mode for every target of a run),
# SKIP_PG=1, SKIP_BARE=1, BIN_DIR (use these binaries, no build), JIUZHU_BENCH_PG_URL (postgres://postgres@127.0.0.1:5432/postgres: the script
# creates and drops its own database beside it), PORT (18470; +1 for the bare peer),
# BASELINE_BIN_DIR (another build's binaries, e.g. a copy of main's target/release: after each
# database's storms, its `jiuzhu` serves the same data for the same storms, reported as
# "sqlite-before" / "postgres-before": before and after in one sitting), MODES ("closed open"),
# SKIP_SQLITE=1 (PostgreSQL only; the bare peer needs the bodies the SQLite part captures, so it
# is skipped too).
#
# Setup is `jiuzhu bench-seed` (the benchmark harness, server/src/bench/storm.rs, in a `jiuzhu`
# built with the `bench` feature, as this script builds it; a BIN_DIR must hold one): workers
# share one argon2 hash and get their access tokens from the server's own token code, instead of
# 10,000 API calls and log-ins at ~50 ms of argon2 each. Server, peer and load generator share
# the machine's cores: each report gives the CPU used by the load generator and by the target.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKERS="${WORKERS:-10000}"
TASKS="${TASKS:-30}"
CONCURRENCY="${CONCURRENCY:-32}"
RATE="${RATE:-2000}"
WARMUP="${WARMUP:-5}"
DURATION="${DURATION:-20}"
PORT="${PORT:-18470}"
BARE_PORT=$((PORT + 1))
PG_ADMIN="${JIUZHU_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_DB="jiuzhu_storm_$$"
PG_URL="${PG_ADMIN%/*}/$PG_DB"
export RUST_BACKTRACE=0
export RUST_LOG="${RUST_LOG:-warn}"

if [ -z "${BIN_DIR:-}" ]; then
    cargo build --release -p jiuzhu-server --features jiuzhu-server/bench -p jiuzhu-bench -p bare-actix
fi
BIN="${BIN_DIR:-$PWD/target/release}"
MODES="${MODES:-closed open}"
DECODE="${DECODE:-outline}"
BASELINE="${BASELINE_BIN_DIR:-}"
RUN="$PWD/target/bench-storm/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN"
CORES="$(nproc)"

SERVER_PID=""
PG_CREATED=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
cleanup() {
    stop_server
    if [ -n "$PG_CREATED" ]; then
        psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

wait_http() {
    local url="$1" log="$2"
    for _ in $(seq 1 900); do
        if curl -sf "$url" >/dev/null 2>&1; then
            return 0
        fi
        if [ -n "$SERVER_PID" ] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "the server exited; see $log" >&2
            exit 1
        fi
        sleep 1
    done
    echo "no answer from $url; see $log" >&2
    exit 1
}

# Starts `jiuzhu serve --demo` on the given data dir (and database URL) and waits until the demo
# city is loaded.
# SERVER_BIN picks another build's `jiuzhu` (the baseline) for the same data.
start_server() {
    local name="$1"
    shift
    local log="$RUN/$name-server.log"
    "${SERVER_BIN:-$BIN}/jiuzhu" --data-dir "$RUN/${DATA:-$name}-data" "$@" serve --demo \
        --bind "127.0.0.1:$PORT" >"$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 900); do
        if grep -q 'demo log-ins' "$log" 2>/dev/null; then
            break
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "the server exited; see $log" >&2
            exit 1
        fi
        sleep 1
    done
    wait_http "http://127.0.0.1:$PORT/healthz" "$log"
}

# Runs both storms against a base URL; $1 names the target, $2 the pid to watch.
storms() {
    local name="$1" pid="$2" url="$3"
    for mode in $MODES; do
        local extra=(--concurrency "$CONCURRENCY")
        if [ "$mode" = open ]; then
            extra+=(--rate "$RATE")
        fi
        echo "== $name, $mode loop (load $(loadavg))"
        "$BIN/jiuzhu-bench" --server "$url" storm --tokens "$RUN/$TOKENS" --workers "$WORKERS" \
            --tasks-per-worker "$TASKS" --warmup "$WARMUP" --duration "$DURATION" \
            --watch-pid "$pid" --label "$name $mode" --decode "$DECODE" "${extra[@]}" --json >"$RUN/$name-$mode.json"
        python3 bench/storm_table.py --one "$RUN/$name-$mode.json"
    done
}

# The baseline build's `jiuzhu` on the data of target $1 (already seeded; a restarted demo server
# keeps it), the same storms, reported as "$1-before".
baseline() {
    local name="$1"
    shift
    if [ -z "$BASELINE" ]; then
        return 0
    fi
    SERVER_BIN="$BASELINE" DATA="$name" start_server "$name-before" "$@"
    storms "$name-before" "$SERVER_PID" "http://127.0.0.1:$PORT"
    stop_server
}

# Seeds the workers, tasks and tokens into the running server's database.
seed() {
    local name="$1"
    shift
    echo "== seeding $name: $WORKERS workers × $TASKS tasks (load $(loadavg))"
    local t0=$SECONDS
    "$BIN/jiuzhu" --data-dir "$RUN/$name-data" "$@" bench-seed --workers "$WORKERS" \
        --tasks-per-worker "$TASKS" --out "$RUN/$name-tokens.json" 2>"$RUN/$name-seed.log"
    echo "   seeded in $((SECONDS - t0)) s"
}

{
    echo "machine: $CORES cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)," \
        "$(free -g | awk '/^Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ); load $(loadavg)"
    echo "workload: $WORKERS workers × $TASKS tasks; closed loop $CONCURRENCY in flight;" \
        "open loop $RATE/s; warm-up $WARMUP s, measured $DURATION s; $DECODE decode of answers"
} | tee "$RUN/machine.txt"

# --- SQLite ---------------------------------------------------------------------------------
if [ -z "${SKIP_SQLITE:-}" ]; then
start_server sqlite
seed sqlite
TOKENS=sqlite-tokens.json
# Real full and incremental sync bodies, for the bare peer: of the first 41 workers' full syncs,
# the one of median size (grids hold different numbers of households).
python3 - "$RUN" "$PORT" <<'EOF'
import json, sys, urllib.request
run, port = sys.argv[1], sys.argv[2]
workers = json.load(open(f"{run}/sqlite-tokens.json"))["workers"][:41]
def get(token, query):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/sync{query}",
                                 headers={"Authorization": f"Bearer {token}"})
    return urllib.request.urlopen(req).read()
fulls = sorted(((get(w["access_token"], ""), w["access_token"]) for w in workers),
               key=lambda f: len(f[0]))
full, token = fulls[len(fulls) // 2]
open(f"{run}/body-full.json", "wb").write(full)
incremental = get(token, f"?cursor={json.loads(full)['cursor']}")
open(f"{run}/body-incremental.json", "wb").write(incremental)
print(f"   captured bodies: full {len(full)} B (median of {len(fulls)}), incremental {len(incremental)} B")
EOF
storms sqlite "$SERVER_PID" "http://127.0.0.1:$PORT"
stop_server
baseline sqlite
fi

# --- the bare actix-web peer ----------------------------------------------------------------
if [ -z "${SKIP_BARE:-}" ] && [ -z "${SKIP_SQLITE:-}" ]; then
    "$BIN/bare-actix" --bind "127.0.0.1:$BARE_PORT" --workers "$CORES" \
        --full-body "$RUN/body-full.json" --incremental-body "$RUN/body-incremental.json" \
        >"$RUN/bare.log" 2>&1 &
    SERVER_PID=$!
    wait_http "http://127.0.0.1:$BARE_PORT/api/v1/sync?cursor=x" "$RUN/bare.log"
    storms bare "$SERVER_PID" "http://127.0.0.1:$BARE_PORT"
    stop_server
fi

# --- PostgreSQL -----------------------------------------------------------------------------
if [ -z "${SKIP_PG:-}" ]; then
    psql -q "$PG_ADMIN" -c "CREATE DATABASE $PG_DB" >/dev/null
    PG_CREATED=1
    start_server postgres --database-url "$PG_URL"
    seed postgres --database-url "$PG_URL"
    TOKENS=postgres-tokens.json
    storms postgres "$SERVER_PID" "http://127.0.0.1:$PORT"
    stop_server
    baseline postgres --database-url "$PG_URL"
fi

echo "load at the end: $(loadavg)" | tee -a "$RUN/machine.txt"
python3 bench/storm_table.py "$RUN"
echo "reports: $RUN"
