#!/usr/bin/env bash
# Streaming export of visits (BENCHMARKS.md "Streaming export"): ours through the API (`jiuzhu
# serve` + curl, GET /api/v1/exports/visits) and through the command line (`jiuzhu export visits`),
# against the database's own dump of the same columns from the same file in the same run:
# `sqlite3 -csv` on SQLite, `psql \copy (SELECT …) TO … CSV` on PostgreSQL. Each is measured at
# SMALL rows and again at VISITS rows, so a memory that grows with the rows would show.
#
#   bench/export.sh
#
# Env: VISITS (1000000), SMALL (100000), HOUSEHOLDS (20000), SKIP_PG=1, SKIP_SQLITE=1, BIN_DIR
# (use these binaries, no build: its `jiuzhu` built with the `bench` feature), JIUZHU_BENCH_PG_URL
# (postgres://postgres@127.0.0.1:5432/postgres: the script creates and drops its own database
# beside it), PORT (18480), KEEP=1 (keep the data and the exported files under
# target/bench-export/<time>/; by default they are deleted).
#
# Seeding is `jiuzhu bench-seed-visits` (the benchmark harness, server/src/bench/visits.rs, in a
# `jiuzhu` built with the `bench` feature, as this script builds it): the demo city with
# HOUSEHOLDS households, one task each, and visit rows inserted directly, since a million
# submissions through the API would take hours.
# Peak RSS: `/usr/bin/time -f %M` for processes that run one export (CLI, sqlite3, psql); for the
# server, VmHWM from /proc (its peak since start: start-up, log-in and the export). Beside it, the
# peaks of RssAnon (heap, stacks: what the process itself holds) and RssFile (file pages mapped in,
# e.g. a memory-mapped database, which the kernel can drop) from /proc/PID/status, sampled every
# 50 ms during the export: the two peaks need not be at the same moment.
set -euo pipefail
cd "$(dirname "$0")/.."

VISITS="${VISITS:-1000000}"
SMALL="${SMALL:-100000}"
HOUSEHOLDS="${HOUSEHOLDS:-20000}"
PORT="${PORT:-18480}"
PG_ADMIN="${JIUZHU_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_DB="jiuzhu_export_$$"
PG_URL="${PG_ADMIN%/*}/$PG_DB"
export RUST_BACKTRACE=0
export RUST_LOG="${RUST_LOG:-warn}"

if [ -z "${BIN_DIR:-}" ]; then
    cargo build --release -p jiuzhu-server --features bench
fi
BIN="${BIN_DIR:-$PWD/target/release}"
RUN="$PWD/target/bench-export/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN"
RESULTS="$RUN/results.md"

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
    if [ -z "${KEEP:-}" ]; then
        rm -rf "$RUN/data" "$RUN"/*.csv
    fi
}
trap cleanup EXIT

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# The same columns as our visits export, from the same tables, in the same order.
PEER_SQL="SELECT v.id, v.task_id, v.household_id, h.address, h.head_name, v.org_path, u.username,
 v.form_key, v.form_version, v.started_at, v.finished_at, v.received_at, v.lat, v.lon,
 v.accuracy_m, v.mock_location, v.flag_count, v.flags, v.review_state, v.reviewed_at
 FROM visits v JOIN households h ON h.id = v.household_id JOIN users u ON u.id = v.worker_id
 ORDER BY v.org_path, v.id"
PEER_SQL="$(echo "$PEER_SQL" | tr '\n' ' ')" # psql's \copy reads one line

# watch_rss PID FILE: samples /proc/PID/status every 50 ms until the process ends or FILE.stop
# appears, then writes "<peak RssAnon MiB> <peak RssFile MiB>" to FILE. Bash built-ins only, so
# the sampling itself costs next to nothing.
watch_rss() {
    local pid="$1" file="$2" anon=0 mapped=0 key value _
    rm -f "$file" "$file.stop"
    while [ ! -e "$file.stop" ] && [ -r "/proc/$pid/status" ]; do
        while read -r key value _; do
            case "$key" in
            RssAnon:) [ "$value" -gt "$anon" ] && anon="$value" ;;
            RssFile:) [ "$value" -gt "$mapped" ] && mapped="$value" ;;
            esac
        done <"/proc/$pid/status" 2>/dev/null || true
        sleep 0.05
    done
    echo "$((anon / 1024)) $((mapped / 1024))" >"$file"
}

# child_of PID: the (single) child process of PID, once it exists.
child_of() {
    local kids=""
    for _ in $(seq 1 200); do
        kids="$(cat "/proc/$1/task/$1/children" 2>/dev/null || true)"
        if [ -n "$kids" ]; then
            echo "${kids%% *}"
            return 0
        fi
        sleep 0.01
    done
    echo "$1"
}

# measure LABEL OUTFILE CMD...: wall seconds and peak RSS of one process writing OUTFILE.
measure() {
    local label="$1" out="$2"
    shift 2
    local load time_pid watch_pid status=0
    load="$(loadavg)"
    /usr/bin/time -f "%e %M" -o "$RUN/time.txt" "$@" >"$RUN/cmd.log" 2>&1 &
    time_pid=$!
    watch_rss "$(child_of "$time_pid")" "$RUN/rss.txt" &
    watch_pid=$!
    wait "$time_pid" || status=$?
    wait "$watch_pid" || true
    if [ "$status" -ne 0 ]; then
        cat "$RUN/cmd.log" >&2
        exit 1
    fi
    read -r secs kb <"$RUN/time.txt"
    read -r anon mapped <"$RUN/rss.txt"
    local rows
    rows=$(($(wc -l <"$out") - 1))
    row "$label" "$rows" "$secs" "$((kb / 1024))" "$anon" "$mapped" "$(stat -c %s "$out")" "$load"
}

row() { # label rows secs rss_mib anon_mib file_mib bytes load
    local rate
    rate="$(awk -v r="$2" -v s="$3" 'BEGIN { printf "%.0f", (s > 0 ? r / s : 0) }')"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$rate" "$4" "$5" "$6" \
        "$(($7 / 1048576))" "$8" | tee -a "$RESULTS"
}

start_server() { # url
    if curl -s "http://127.0.0.1:$PORT/" >/dev/null 2>&1; then
        echo "port $PORT is taken by another process: set PORT" >&2
        exit 1
    fi
    "$BIN/jiuzhu" --data-dir "$RUN/data" --database-url "$1" serve --bind "127.0.0.1:$PORT" \
        >"$RUN/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        if curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "the server exited; see $RUN/server.log" >&2
            exit 1
        fi
        sleep 1
    done
    echo "the server did not start" >&2
    exit 1
}

# http_export LABEL OUTFILE: GET /api/v1/exports/visits through curl; the server's VmHWM.
http_export() {
    local label="$1" out="$2" token load
    token="$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
        -d '{"username":"admin","password":"jiuzhu-demo-2026"}' |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
    load="$(loadavg)"
    local secs watch_pid
    watch_rss "$SERVER_PID" "$RUN/rss.txt" &
    watch_pid=$!
    secs="$(curl -sf -o "$out" -w '%{time_total}' -H "authorization: Bearer $token" \
        "http://127.0.0.1:$PORT/api/v1/exports/visits")"
    touch "$RUN/rss.txt.stop"
    wait "$watch_pid" || true
    local kb anon mapped
    kb="$(awk '/VmHWM/ { print $2 }' "/proc/$SERVER_PID/status")"
    read -r anon mapped <"$RUN/rss.txt"
    row "$label" "$(($(wc -l <"$out") - 1))" "$secs" "$((kb / 1024))" "$anon" "$mapped" \
        "$(stat -c %s "$out")" "$load"
}

bench_backend() { # name url
    local name="$1" url="$2" seeded=0
    for target in "$SMALL" "$VISITS"; do
        echo "seeding $name to $target visits…" >&2
        "$BIN/jiuzhu" --data-dir "$RUN/data" --database-url "$url" bench-seed-visits \
            --households "$HOUSEHOLDS" --visits "$((target - seeded))" >>"$RUN/seed.log" 2>&1
        seeded="$target"
        start_server "$url"
        http_export "$name, ours: HTTP GET /exports/visits" "$RUN/http.csv"
        stop_server
        measure "$name, ours: jiuzhu export visits" "$RUN/cli.csv" \
            "$BIN/jiuzhu" --data-dir "$RUN/data" --database-url "$url" export visits --out "$RUN/cli.csv"
        if [ "$name" = SQLite ]; then
            measure "$name, peer: sqlite3 -csv" "$RUN/peer.csv" \
                sh -c "exec sqlite3 -csv -header '$RUN/data/jiuzhu.db' \"$PEER_SQL\" > '$RUN/peer.csv'"
        else
            measure "$name, peer: psql \\copy … CSV" "$RUN/peer.csv" \
                psql -q "$url" -c "\\copy ($PEER_SQL) TO '$RUN/peer.csv' CSV HEADER"
        fi
        rm -f "$RUN"/*.csv
    done
}

{
    echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'),"
    echo "load before: $(loadavg); VISITS=$VISITS SMALL=$SMALL HOUSEHOLDS=$HOUSEHOLDS"
    echo
    echo "| what | rows | seconds | rows/s | peak RSS MiB | peak RssAnon MiB | peak RssFile MiB | MiB out | load average |"
    echo "|---|---|---|---|---|---|---|---|---|"
} | tee "$RESULTS"

if [ -z "${SKIP_SQLITE:-}" ]; then
    mkdir -p "$RUN/data"
    bench_backend SQLite "sqlite://$RUN/data/jiuzhu.db"
    rm -rf "$RUN/data"
fi
if [ -z "${SKIP_PG:-}" ]; then
    psql -q "$PG_ADMIN" -c "CREATE DATABASE $PG_DB" >/dev/null
    PG_CREATED=1
    mkdir -p "$RUN/data"
    bench_backend PostgreSQL "$PG_URL"
fi
echo "results: $RESULTS" >&2
