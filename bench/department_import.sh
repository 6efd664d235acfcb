#!/usr/bin/env bash
# Department data import benchmark (issue 7): `jiuzhu import medical-claims` of CLAIMS synthetic
# medical-insurance settlements (default 1,000,000) into a city of HOUSEHOLDS households (default
# 1,000,000, imported first with `jiuzhu import households`), with matching through the ID blind
# index and rule evaluation of every matched household; on SQLite and on PostgreSQL, with wall time
# and peak memory from /usr/bin/time; then the same file again (every row a duplicate, nothing may
# change). Peer: each database's own bulk loader taking the same claims file into a bare table
# (sqlite3 .import, psql \copy): how fast the bytes alone go in.
#
#   bench/department_import.sh
#
# Env: HOUSEHOLDS, CLAIMS, JIUZHU_BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres:
# the script creates and drops its own database beside it), SKIP_SQLITE=1, SKIP_PG=1, PORT (18480),
# JIUZHU_BENCH_BIN (a `jiuzhu` binary to measure instead of building this checkout's), KEEP=1 (keep
# the databases). The files are generated once per size into target/bench-data/
# (bench/gen_households.py, bench/gen_claims.py); the city is imported once per backend and copied
# (SQLite) or re-created from its dump (PostgreSQL) for each timed run.
set -euo pipefail
cd "$(dirname "$0")/.."

HOUSEHOLDS="${HOUSEHOLDS:-1000000}"
CLAIMS="${CLAIMS:-1000000}"
PORT="${PORT:-18480}"
PG_ADMIN="${JIUZHU_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export RUST_BACKTRACE=0

if [ -n "${JIUZHU_BENCH_BIN:-}" ]; then
    BIN="$JIUZHU_BENCH_BIN"
else
    # The one build every script under bench/ makes: with the harness (`bench` feature).
    cargo build --release -p jiuzhu-server --features bench
    BIN="$PWD/target/release/jiuzhu"
fi
WORK="$PWD/target/bench-department"
DATA="$PWD/target/bench-data"
HH_CSV="$DATA/households-$HOUSEHOLDS-seed20261128.csv"
CLAIMS_CSV="$DATA/claims-$CLAIMS-of-$HOUSEHOLDS-seed20261129.csv"
mkdir -p "$WORK" "$DATA"

SERVER_PID=""
PG_DB=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
    if [ -n "$PG_DB" ] && [ -z "${KEEP:-}" ]; then
        psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" || true
    fi
}
trap cleanup EXIT

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
stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# Runs a command under /usr/bin/time -v; prints wall time, peak RSS, load and the command's
# summary line.
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
    printf '%-30s wall %s  peak RSS %s MiB  (load %s)\n' "$label" "$wall" "$((rss / 1024))" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
    grep -E '^(households|[0-9]+ rows)' "$out" | sed 's/^/    /' || true
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)," \
    "$(free -g | awk '/^Mem:/ {print $2}') GiB, $(date -u +%Y-%m-%dT%H:%MZ)," \
    "$(sqlite3 --version | cut -d' ' -f1) CLI, $(psql --version | cut -d' ' -f3) psql"

# The demo city to copy, and the household file (its points come from the demo grids).
rm -rf "$WORK/template" "$WORK/template.log"
mkdir -p "$WORK/template"
start_demo "$WORK/template"
if [ ! -s "$HH_CSV" ]; then
    python3 bench/gen_households.py --server "http://127.0.0.1:$PORT" --households "$HOUSEHOLDS" \
        --out "$HH_CSV.tmp"
    mv "$HH_CSV.tmp" "$HH_CSV"
fi
stop_server
if [ ! -s "$CLAIMS_CSV" ]; then
    python3 bench/gen_claims.py --households "$HH_CSV" --claims "$CLAIMS" --out "$CLAIMS_CSV.tmp"
    mv "$CLAIMS_CSV.tmp" "$CLAIMS_CSV"
fi
echo "households: $HH_CSV ($(du -m "$HH_CSV" | cut -f1) MiB)"
echo "claims: $CLAIMS_CSV ($(du -m "$CLAIMS_CSV" | cut -f1) MiB, $(($(wc -l <"$CLAIMS_CSV") - 1)) rows)"

if [ -z "${SKIP_SQLITE:-}" ]; then
    rm -rf "$WORK/sqlite"
    cp -r "$WORK/template" "$WORK/sqlite"
    timed sqlite-city "$BIN" --data-dir "$WORK/sqlite" import households "$HH_CSV"
    sync
    timed sqlite-claims "$BIN" --data-dir "$WORK/sqlite" import medical-claims "$CLAIMS_CSV"
    timed sqlite-claims-again "$BIN" --data-dir "$WORK/sqlite" import medical-claims "$CLAIMS_CSV"
    echo "    findings open: $(sqlite3 "$WORK/sqlite/jiuzhu.db" "SELECT count(*) FROM findings WHERE state = 'open'")," \
        "verify tasks: $(sqlite3 "$WORK/sqlite/jiuzhu.db" "SELECT count(*) FROM tasks WHERE kind = 'verify'")," \
        "claims stored: $(sqlite3 "$WORK/sqlite/jiuzhu.db" "SELECT count(*) FROM department_records")"
    rm -f "$WORK/peer.db"
    timed sqlite3-dot-import sqlite3 "$WORK/peer.db" ".import --csv $CLAIMS_CSV staging"
    rm -f "$WORK/peer.db"
fi

if [ -z "${SKIP_PG:-}" ]; then
    PG_DB="jiuzhu_dept_$$"
    PG_URL="${PG_ADMIN%/*}/$PG_DB"
    psql -q "$PG_ADMIN" -c "CREATE DATABASE $PG_DB"
    rm -rf "$WORK/pg" "$WORK/pg.log"
    mkdir -p "$WORK/pg"
    start_demo "$WORK/pg" --database-url "$PG_URL"
    stop_server
    timed pg-city "$BIN" --data-dir "$WORK/pg" --database-url "$PG_URL" import households "$HH_CSV"
    psql -q "$PG_URL" -c "VACUUM ANALYZE"
    timed pg-claims "$BIN" --data-dir "$WORK/pg" --database-url "$PG_URL" import medical-claims "$CLAIMS_CSV"
    timed pg-claims-again "$BIN" --data-dir "$WORK/pg" --database-url "$PG_URL" import medical-claims "$CLAIMS_CSV"
    echo "    findings open: $(psql -tA "$PG_URL" -c "SELECT count(*) FROM findings WHERE state = 'open'")," \
        "verify tasks: $(psql -tA "$PG_URL" -c "SELECT count(*) FROM tasks WHERE kind = 'verify'")," \
        "claims stored: $(psql -tA "$PG_URL" -c "SELECT count(*) FROM department_records")"
    cols=$(head -n1 "$CLAIMS_CSV" | sed 's/,/ text,/g; s/$/ text/')
    psql -q "$PG_URL" -c "CREATE TABLE staging ($cols)"
    timed psql-copy psql -q "$PG_URL" -c "\\copy staging FROM '$CLAIMS_CSV' CSV HEADER"
fi
