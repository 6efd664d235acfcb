#!/usr/bin/env python3
"""SQLite alone on the project's household schema: N households (~2.55 members each) of made-up
rows shaped like the import's (a random 16-byte blind index, 278 grid paths, random head names),
inserted with the stdlib's sqlite3.executemany, 10,000 households per transaction, with the pragmas
the import uses (WAL, synchronous=NORMAL, 128 MB cache). No parsing, validation, encryption or grid
lookup: what the database itself costs, for comparison with `jiuzhu import households`.

    bench/household_floor.py DB_PATH HOUSEHOLDS
"""

import os
import random
import sqlite3
import sys
import time

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "migrations", "sqlite")


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    c = sqlite3.connect(path, isolation_level=None)
    # Migration 000004 converts stored blind indexes with unhex(), which the SQLite the server
    # bundles has and Python's may not (it arrived in 3.41).
    if sqlite3.sqlite_version_info < (3, 41):
        c.create_function("unhex", 1, lambda h: bytes.fromhex(h), deterministic=True)
    c.executescript(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
        "PRAGMA cache_size=-131072; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=10000;"
    )
    for name in sorted(os.listdir(MIGRATIONS)):
        c.executescript(open(os.path.join(MIGRATIONS, name, "up.sql"), encoding="utf-8").read())
    now = "2026-11-28 16:00:00.000000"
    c.execute(
        "INSERT INTO org_units (id, kind, code, name, parent_id, path, created_at, updated_at) "
        "VALUES ('g', 'grid', '320402001001001', 'g', NULL, '/g/', ?, ?)",
        (now, now),
    )
    rng = random.Random(1)
    paths = [f"/320400/320402/320402{s:03d}/320402{s:03d}{c:03d}/320402{s:03d}{c:03d}{g:03d}/"
             for s in range(1, 7) for c in range(1, 8) for g in range(1, 8)]
    hcols = ("id,external_id,address,lat,lon,grid_id,org_path,grid_overridden,status,notes,head_member_id,"
             "head_name,member_count,version,created_at,updated_at")
    mcols = ("id,household_id,position,name,relation,id_cipher,id_key_id,id_blind,id_masked,birth_date,gender,"
             "health,disability_type,disability_level,daily_living,work_status,student_status,income,"
             "annual_income_fen,phone_cipher,phone_masked,created_at,updated_at")
    hsql = f"INSERT INTO households ({hcols}) VALUES ({','.join('?' * 16)})"
    msql = f"INSERT INTO members ({mcols}) VALUES ({','.join('?' * 23)})"
    # The stored forms of registry::stored since migration 000011.
    daily = "111111"
    income = "[3408824,0,0,0,0,0,0]"
    started = time.time()
    households, members = [], []

    def flush():
        c.execute("BEGIN IMMEDIATE")
        c.executemany(hsql, households)
        c.executemany(msql, members)
        c.execute("COMMIT")
        households.clear()
        members.clear()

    for h in range(n):
        # Time-ordered ids, like UUIDv7.
        hid = f"{h:08x}-0000-7000-8000-{rng.getrandbits(48):012x}"
        size = rng.choice((1, 1, 2, 2, 2, 3, 3, 3, 4, 5))
        head = f"{hid[:-4]}{0:04x}"
        households.append((hid, f"B{h:08d}", "天宁区红梅新村15幢3单元104室", 31.78, 119.98, "g",
                           rng.choice(paths), 0, "none", "", head, "王" + str(rng.getrandbits(24)), size, 1,
                           now, now))
        for p in range(size):
            members.append((f"{hid[:-4]}{p:04x}", hid, p, "董俊涵", "head", "x" * 80, "k1",
                            rng.randbytes(16), "320411********0029", "1987-07-28", "female",
                            "healthy", None, None, daily, "employed", "not_student", income, 3408824, None,
                            None, now, now))
        if len(households) >= 10_000:
            flush()
    if households:
        flush()
    print(f"{n} households, {n * 2.55:.0f} members (approx.) in {time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
