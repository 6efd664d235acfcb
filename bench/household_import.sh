#!/usr/bin/env bash
# Household CSV import benchmark: `jiuzhu import households` of N synthetic households (default
# 1,000,000, ~2.55 members each) into a fresh demo city, on SQLite and on PostgreSQL, with wall time
# and peak memory from /usr/bin/time; then the same file again (nothing may change). For scale, the
# same file through each database's own bulk loader into a bare table (sqlite3 .import, psql \copy),
# and SQLite alone on the project's schema (bench/household_floor.py).
#
#   bench/household_import.sh [HOUSEHOLDS]
#
# Env: JIUZHU_BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres: the script creates
# and drops its own database beside it), SKIP_SQLITE=1, SKIP_PG=1, SKIP_PEERS=1, PORT (18480),
# JIUZHU_BENCH_BIN (a `jiuzhu` binary to measure instead of building this checkout's, e.g. an
# earlier commit's for a before/after comparison in one sitting).
# The CSV is generated once per size into target/bench-data/ (bench/gen_households.py).
set -euo pipefail
cd "$(dirname "$0")/.."

N="${1:-1000000}"
PORT="${PORT:-18480}"
PG_ADMIN="${JIUZHU_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export RUST_BACKTRACE=0

if [ -n "${JIUZHU_BENCH_BIN:-}" ]; then
    BIN="$JIUZHU_BENCH_BIN"
else
    # The one build every script under bench/ makes: with the harness (`bench` feature).
    cargo build --release -p jiuzhu-server --features bench
    BIN="$PWD/target/release/jiuzhu"
fi
WORK="$PWD/target/bench-household"
DATA="$PWD/target/bench-data"
CSV="$DATA/households-$N-seed20261128.csv"
mkdir -p "$WORK" "$DATA"

SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
trap stop_server EXIT

# Starts `jiuzhu serve --demo` (demo city and its 20,000 households) and waits until it answers.
start_demo() {
    local dir="$1"
    shift
    "$BIN" --data-dir "$dir" "$@" serve --demo --bind "127.0.0.1:$PORT" >"$dir.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 900); do
        if curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; then
            return 0
        fi
        sleep 1
    done
    echo "the demo server did not start; see $dir.log" >&2
    exit 1
}

# Runs a command under /usr/bin/time -v; prints its summary, wall time and peak RSS.
timed() {
    local label="$1"
    shift
    local out="$WORK/$label.out" tv="$WORK/$label.time"
    /usr/bin/time -v "$@" >"$out" 2>"$tv" || {
        cat "$out" "$tv" >&2
        exit 1
    }
    local wall rss
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tv")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tv")
    printf '%-28s wall %s  peak RSS %s MiB  (load %s)\n' "$label" "$wall" "$((rss / 1024))" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
    grep -E '^(households|[0-9]+ rows)' "$out" | sed 's/^/    /' || true
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)," \
    "$(free -g | awk '/^Mem:/ {print $2}') GiB, $(date -u +%Y-%m-%dT%H:%MZ), $(sqlite3 --version | cut -d' ' -f1) CLI," \
    "$(psql --version | cut -d' ' -f3) psql"

# A demo city to copy for each run, and the CSV (its points come from the demo grids).
rm -rf "$WORK/template"
mkdir -p "$WORK/template"
start_demo "$WORK/template"
if [ ! -s "$CSV" ]; then
    python3 bench/gen_households.py --server "http://127.0.0.1:$PORT" --households "$N" --out "$CSV.tmp"
    mv "$CSV.tmp" "$CSV"
fi
stop_server
echo "file: $CSV ($(du -m "$CSV" | cut -f1) MiB, $(($(wc -l <"$CSV") - 1)) rows)"

if [ -z "${SKIP_SQLITE:-}" ]; then
    rm -rf "$WORK/sqlite"
    cp -r "$WORK/template" "$WORK/sqlite"
    sync
    timed sqlite-import "$BIN" --data-dir "$WORK/sqlite" import households "$CSV"
    timed sqlite-import-again "$BIN" --data-dir "$WORK/sqlite" import households "$CSV"
    echo "    database: $(du -m "$WORK/sqlite/jiuzhu.db" | cut -f1) MiB"
    if [ -z "${SKIP_PEERS:-}" ]; then
        rm -f "$WORK/peer.db"
        timed sqlite3-dot-import sqlite3 "$WORK/peer.db" ".import --csv $CSV staging"
        rm -f "$WORK/peer.db"
        timed sqlite-schema-floor python3 bench/household_floor.py "$WORK/floor.db" "$N"
        rm -f "$WORK/floor.db" "$WORK/floor.db-wal" "$WORK/floor.db-shm"
    fi
fi

if [ -z "${SKIP_PG:-}" ]; then
    DB="jiuzhu_bench_$$"
    PG_URL="${PG_ADMIN%/*}/$DB"
    psql -q "$PG_ADMIN" -c "CREATE DATABASE $DB"
    drop_db() { psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true; }
    trap 'stop_server; drop_db' EXIT
    rm -rf "$WORK/pg"
    mkdir -p "$WORK/pg"
    start_demo "$WORK/pg" --database-url "$PG_URL"
    stop_server
    psql -q "$PG_URL" -c "VACUUM ANALYZE"
    timed pg-import "$BIN" --data-dir "$WORK/pg" --database-url "$PG_URL" import households "$CSV"
    timed pg-import-again "$BIN" --data-dir "$WORK/pg" --database-url "$PG_URL" import households "$CSV"
    echo "    database: $(psql -tA "$PG_URL" -c "SELECT pg_database_size(current_database()) / 1048576") MiB"
    if [ -z "${SKIP_PEERS:-}" ]; then
        cols=$(head -n1 "$CSV" | sed 's/,/ text,/g; s/$/ text/')
        psql -q "$PG_URL" -c "CREATE TABLE staging ($cols)"
        timed psql-copy psql -q "$PG_URL" -c "\\copy staging FROM '$CSV' CSV HEADER"
    fi
fi
