#!/usr/bin/env python3
"""Peer of the visit-submission storm (BENCHMARKS.md "Visit submission storm"): how many durable
SQLite transactions this disk takes per second, with nothing else in the way.

Raw SQLite (Python's sqlite3 module, the system library), WAL with synchronous=FULL exactly as the
server's connections are set up, in a file on the same disk as the server's data dir; each row is
a visit-sized record (a UUID key and a payload of --payload bytes, default about the size of a
sealed 250-field answer set). Two ways:

  single   one INSERT + COMMIT per row: one fsync per row, the disk's durable commit rate;
  batched  --batch rows per COMMIT: what group commit can reach on this disk before any HTTP,
           JSON, form validation or the visit's other writes.

Prints one JSON object per way: rows, seconds, rows_per_sec, commits_per_sec, p50/p99 commit ms.

    python3 bench/sqlite_commit_peer.py --dir target/bench-vstorm/x --seconds 10
"""

import argparse
import json
import os
import sqlite3
import tempfile
import time
import uuid


def run(path, batch, seconds, payload):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS visits (id TEXT PRIMARY KEY, task_id TEXT NOT NULL, "
        "received_at TEXT NOT NULL, answers BLOB NOT NULL)"
    )
    body = os.urandom(payload)
    rows = commits = 0
    commit_ms = []
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        for _ in range(batch):
            db.execute(
                "INSERT INTO visits VALUES (?, ?, strftime('%Y-%m-%d %H:%M:%f','now'), ?)",
                (str(uuid.uuid4()), str(uuid.uuid4()), body),
            )
        db.execute("COMMIT")
        commit_ms.append((time.perf_counter() - t0) * 1000)
        rows += batch
        commits += 1
    elapsed = time.perf_counter() - started
    (mode,) = db.execute("PRAGMA journal_mode").fetchone()
    (sync,) = db.execute("PRAGMA synchronous").fetchone()
    db.close()
    commit_ms.sort()
    q = lambda p: commit_ms[min(len(commit_ms) - 1, int(p * len(commit_ms)))]
    return {
        "way": "single" if batch == 1 else f"batched {batch}",
        "journal_mode": mode,
        "synchronous": sync,
        "payload_bytes": payload,
        "rows": rows,
        "commits": commits,
        "seconds": round(elapsed, 3),
        "rows_per_sec": round(rows / elapsed, 1),
        "commits_per_sec": round(commits / elapsed, 1),
        "p50_commit_ms": round(q(0.50), 3),
        "p99_commit_ms": round(q(0.99), 3),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default=None, help="where the database file goes (same disk as the server's)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--payload", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=64, help="rows per commit of the batched way (the server's group size)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="sqlite-peer-") as d:
        for batch in (1, args.batch):
            path = os.path.join(d, f"peer-{batch}.sqlite")
            print(json.dumps(run(path, batch, args.seconds, args.payload)), flush=True)


if __name__ == "__main__":
    main()
