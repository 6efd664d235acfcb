#!/usr/bin/env bash
# Statistics overview for a city of 1,000,000 households (issue 7): `GET /api/v1/stats/overview`
# for the whole district, timed over HTTP, against the peer: the same aggregates as raw SQL in the
# sqlite3 shell (or psql) on the same database. Only the ratio between the two means anything.
#
# Seeds the demo city through the server, then adds households, tasks, findings and applications
# with SQL (generated rows spread over the demo grids; no members: the overview does not read them).
#
#   bench/stats.sh                 # SQLite; SKIP_PG=1 to skip PostgreSQL (PG: PG_URL)
#   HOUSEHOLDS=1000000 RUNS=5 BIN=target/release/jiuzhu bench/stats.sh
set -euo pipefail
cd "$(dirname "$0")/.."
HOUSEHOLDS="${HOUSEHOLDS:-1000000}"
RUNS="${RUNS:-5}"
BIN="${BIN:-target/release/jiuzhu}"
PORT="${PORT:-18093}"
OUT="target/bench-stats/$(date -u +%Y%m%dT%H%M%S)"
mkdir -p "$OUT"
# The one build every script under bench/ makes: with the harness (`bench` feature).
[ -x "$BIN" ] || cargo build --release -p jiuzhu-server --features bench

start() { # $1 data dir, $2 database url, $3 extra flags
  "$BIN" serve --bind "127.0.0.1:$PORT" --data-dir "$1" --database-url "$2" $3 >"$OUT/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return 0; sleep 0.5; done
  echo "server did not start" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; }
token() {
  curl -sf -H 'content-type: application/json' \
    -d '{"username":"district","password":"jiuzhu-demo-2026"}' \
    "http://127.0.0.1:$PORT/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
time_api() { # prints seconds per request, one line per run
  local t; t=$(token)
  for _ in $(seq 1 "$RUNS"); do
    curl -sf -o "$OUT/overview.json" -w '%{time_total}\n' -H "authorization: Bearer $t" \
      "http://127.0.0.1:$PORT/api/v1/stats/overview"
  done
}

# The same aggregates the endpoint computes, as plain SQL over the district's subtree.
PEER_SQL="
SELECT status, count(*) FROM households WHERE org_path >= '/320400/320402/' AND org_path < '/320400/3204020' GROUP BY status;
SELECT count(DISTINCT household_id) FROM visits WHERE org_path >= '/320400/320402/' AND org_path < '/320400/3204020' AND review_state <> 'rejected';
SELECT count(*) FROM tasks WHERE org_path >= '/320400/320402/' AND org_path < '/320400/3204020' AND state IN ('pending','assigned','accepted') AND due_date < '2026-11-28';
SELECT kind, count(*) FROM findings WHERE org_path >= '/320400/320402/' AND org_path < '/320400/3204020' AND state = 'open' GROUP BY kind;
SELECT state, count(*) FROM applications WHERE org_path >= '/320400/320402/' AND org_path < '/320400/3204020' GROUP BY state;
SELECT count(*) FROM visits WHERE org_path >= '/320400/320402/' AND org_path < '/320400/3204020' AND flag_count > 0 AND review_state = 'pending';
"

seed_sqlite() { # $1 database file
  sqlite3 "$1" <<SQL
PRAGMA journal_mode=WAL;
CREATE TEMP TABLE g AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, path FROM org_units WHERE kind = 'grid';
CREATE TEMP TABLE gc AS SELECT count(*) AS c FROM g;
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $HOUSEHOLDS)
INSERT INTO households (id, external_id, address, lat, lon, grid_id, org_path, grid_overridden, status,
  notes, head_member_id, head_name, member_count, version, created_at, updated_at)
SELECT printf('bench-h-%08d', i), NULL, 'bench', 31.78, 119.97, g.id, g.path, 0,
  CASE WHEN i % 20 = 0 THEN 'dibao' WHEN i % 100 = 1 THEN 'tekun' WHEN i % 33 = 2 THEN 'edge' ELSE 'none' END,
  '', NULL, NULL, 0, 1, '2026-11-01 00:00:00', '2026-11-01 00:00:00'
FROM s JOIN g ON g.n = s.i % (SELECT c FROM gc);
INSERT INTO tasks (id, kind, household_id, org_path, form_key, form_version, assignee_id, state, due_date,
  priority, note, created_by, created_at, updated_at)
SELECT 'bench-t-' || substr(id, 9), 'recheck', id, org_path, 'home_visit', 1, NULL,
  CASE WHEN rowid % 3 = 0 THEN 'reviewed' ELSE 'pending' END,
  CASE WHEN rowid % 2 = 0 THEN '2026-11-01' ELSE '2026-12-31' END, 0, '', NULL,
  '2026-11-01 00:00:00', '2026-11-01 00:00:00'
FROM households WHERE id LIKE 'bench-h-%' AND rowid % 5 = 0;
INSERT INTO findings (id, kind, household_id, self_report_id, org_path, rule_id, rule_version, source,
  source_id, inputs, computed, categories, state, reason, application_id, closed_by, closed_at, created_at, updated_at)
SELECT 'bench-f-' || substr(id, 9),
  CASE (rowid / 20) % 4 WHEN 0 THEN 'possible_dibao' WHEN 1 THEN 'illness' WHEN 2 THEN 'housing' ELSE 'care_need' END,
  id, NULL, org_path, 'illness', 1, 'visit', NULL, '{}', '{}', '["medical"]',
  CASE WHEN rowid % 7 = 0 THEN 'dismissed' ELSE 'open' END, NULL, NULL, NULL, NULL,
  '2026-11-01 00:00:00', '2026-11-01 00:00:00'
FROM households WHERE id LIKE 'bench-h-%' AND rowid % 20 = 0;
INSERT INTO applications (id, household_id, org_path, finding_id, state, delegated, visit_id, data_check,
  objections, submitted_at, accepted_at, notice_ends_on, decided_at, exit_until, step_due, total_due,
  version, created_by, created_at, updated_at)
SELECT 'bench-a-' || substr(id, 9), id, org_path, NULL,
  CASE (rowid / 100) % 5 WHEN 0 THEN 'submitted' WHEN 1 THEN 'investigating' WHEN 2 THEN 'public_notice' WHEN 3 THEN 'active' ELSE 'refused' END,
  0, NULL, NULL, 0, '2026-11-01 00:00:00', '2026-11-02 00:00:00', NULL, NULL, NULL, '2026-11-05', '2026-12-14', 1,
  'bench', '2026-11-01 00:00:00', '2026-11-01 00:00:00'
FROM households WHERE id LIKE 'bench-h-%' AND rowid % 100 = 0;
INSERT INTO application_events (application_id, seq, action, from_state, to_state, actor_id, actor_role, note, public_note, at)
SELECT id, 1, 'submit', NULL, 'submitted', NULL, NULL, '', '', '2026-11-01 00:00:00' FROM applications WHERE id LIKE 'bench-a-%';
INSERT INTO application_events (application_id, seq, action, from_state, to_state, actor_id, actor_role, note, public_note, at)
SELECT id, 2, 'accept', 'submitted', 'accepted', NULL, NULL, '', '', '2026-11-04 00:00:00' FROM applications WHERE id LIKE 'bench-a-%';
ANALYZE;
SQL
}

seed_pg() { # $1 database url
  psql -q "$1" <<SQL
CREATE TEMP TABLE g AS SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, id, path FROM org_units WHERE kind = 'grid';
INSERT INTO households (id, external_id, address, lat, lon, grid_id, org_path, grid_overridden, status,
  notes, head_member_id, head_name, member_count, version, created_at, updated_at)
SELECT 'bench-h-' || lpad(i::text, 8, '0'), NULL, 'bench', 31.78, 119.97, g.id, g.path, false,
  CASE WHEN i % 20 = 0 THEN 'dibao' WHEN i % 100 = 1 THEN 'tekun' WHEN i % 33 = 2 THEN 'edge' ELSE 'none' END,
  '', NULL, NULL, 0, 1, '2026-11-01', '2026-11-01'
FROM generate_series(0, $HOUSEHOLDS - 1) i JOIN g ON g.n = i % (SELECT count(*) FROM g);
CREATE TEMP TABLE b AS SELECT id, org_path, substr(id, 9)::int AS k FROM households WHERE id LIKE 'bench-h-%';
INSERT INTO tasks (id, kind, household_id, org_path, form_key, form_version, assignee_id, state, due_date,
  priority, note, created_by, created_at, updated_at)
SELECT 'bench-t-' || substr(id, 9), 'recheck', id, org_path, 'home_visit', 1, NULL,
  CASE WHEN k % 3 = 0 THEN 'reviewed' ELSE 'pending' END,
  CASE WHEN k % 2 = 0 THEN DATE '2026-11-01' ELSE DATE '2026-12-31' END, 0, '', NULL, '2026-11-01', '2026-11-01'
FROM b WHERE k % 5 = 0;
INSERT INTO findings (id, kind, household_id, self_report_id, org_path, rule_id, rule_version, source,
  source_id, inputs, computed, categories, state, reason, application_id, closed_by, closed_at, created_at, updated_at)
SELECT 'bench-f-' || substr(id, 9),
  CASE (k / 20) % 4 WHEN 0 THEN 'possible_dibao' WHEN 1 THEN 'illness' WHEN 2 THEN 'housing' ELSE 'care_need' END,
  id, NULL, org_path, 'illness', 1, 'visit', NULL, '{}', '{}', '["medical"]',
  CASE WHEN k % 7 = 0 THEN 'dismissed' ELSE 'open' END, NULL, NULL, NULL, NULL, '2026-11-01', '2026-11-01'
FROM b WHERE k % 20 = 0;
INSERT INTO applications (id, household_id, org_path, finding_id, state, delegated, visit_id, data_check,
  objections, submitted_at, accepted_at, notice_ends_on, decided_at, exit_until, step_due, total_due,
  version, created_by, created_at, updated_at)
SELECT 'bench-a-' || substr(id, 9), id, org_path, NULL,
  CASE (k / 100) % 5 WHEN 0 THEN 'submitted' WHEN 1 THEN 'investigating' WHEN 2 THEN 'public_notice' WHEN 3 THEN 'active' ELSE 'refused' END,
  false, NULL, NULL, 0, '2026-11-01', '2026-11-02', NULL, NULL, NULL, DATE '2026-11-05', DATE '2026-12-14', 1,
  'bench', '2026-11-01', '2026-11-01'
FROM b WHERE k % 100 = 0;
INSERT INTO application_events (application_id, seq, action, from_state, to_state, actor_id, actor_role, note, public_note, at)
SELECT id, 1, 'submit', NULL, 'submitted', NULL, NULL, '', '', '2026-11-01' FROM applications WHERE id LIKE 'bench-a-%';
INSERT INTO application_events (application_id, seq, action, from_state, to_state, actor_id, actor_role, note, public_note, at)
SELECT id, 2, 'accept', 'submitted', 'accepted', NULL, NULL, '', '', '2026-11-04' FROM applications WHERE id LIKE 'bench-a-%';
ANALYZE;
SQL
}

if [ "${SKIP_SQLITE:-0}" != 1 ]; then
echo "SQLite, $HOUSEHOLDS households" | tee "$OUT/summary.txt"
DIR="$OUT/sqlite"; mkdir -p "$DIR"
URL="sqlite://$DIR/jiuzhu.db"
start "$DIR" "$URL" --demo; stop
seed_sqlite "$DIR/jiuzhu.db"
ls -la "$DIR/jiuzhu.db" >>"$OUT/summary.txt"
start "$DIR" "$URL" ""
echo "api seconds:" | tee -a "$OUT/summary.txt"; time_api | tee -a "$OUT/summary.txt"
stop
echo "peer (sqlite3 shell, same aggregates) seconds:" | tee -a "$OUT/summary.txt"
for _ in $(seq 1 "$RUNS"); do
  /usr/bin/time -f '%e' sqlite3 "$DIR/jiuzhu.db" "$PEER_SQL" 2>&1 >/dev/null | tail -1 | tee -a "$OUT/summary.txt"
done
python3 -c 'import json; d=json.load(open("'"$OUT"'/overview.json")); print("households", d["households"], "open findings", sum(c["count"] for c in d["open_findings_by_type"]))' | tee -a "$OUT/summary.txt"
[ "${KEEP:-0}" = 1 ] || rm -rf "$DIR"
fi

if [ "${SKIP_PG:-0}" != 1 ]; then
  PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}"
  DB="jiuzhu_bench_stats"
  psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
  PGURL="${PG_ADMIN%/*}/$DB"
  DIR="$OUT/pg"; mkdir -p "$DIR"
  echo "PostgreSQL, $HOUSEHOLDS households" | tee -a "$OUT/summary.txt"
  start "$DIR" "$PGURL" --demo; stop
  seed_pg "$PGURL"
  start "$DIR" "$PGURL" ""
  echo "api seconds:" | tee -a "$OUT/summary.txt"; time_api | tee -a "$OUT/summary.txt"
  stop
  echo "peer (psql, same aggregates) seconds:" | tee -a "$OUT/summary.txt"
  for _ in $(seq 1 "$RUNS"); do
    /usr/bin/time -f '%e' psql -q "$PGURL" -c "$PEER_SQL" 2>&1 >/dev/null | tail -1 | tee -a "$OUT/summary.txt"
  done
  psql -q "$PG_ADMIN" -c "DROP DATABASE $DB"
  rm -rf "$DIR"
fi
echo "results in $OUT/summary.txt"
