#!/usr/bin/env python3
"""Prints the visit storm's reports (bench/visit_storm.sh) as one markdown table with ratios to
the raw SQLite peer. `visit_storm_table.py RUN_DIR`, or `visit_storm_table.py --one REPORT.json`
for one line."""

import json
import os
import sys


def storm_row(r, stored_in_db=None):
    errors = r["errors"]
    if errors:
        errors = f"{errors} (" + ", ".join(f"{k} {v}" for k, v in r["errors_by_kind"].items()) + ")"
    v = r["verification"]
    check = f"{v['stored']}/{v['acknowledged']} listed, {v['missing']} missing"
    if stored_in_db is not None:
        check += f"; {stored_in_db} rows after kill -9"
    cpu = "/".join("-" if c is None else f"{c:.2f}" for c in (r["storm_cpu_cores"], r["target_cpu_cores"]))
    mode = f"open {r['rate']:.0f}/s" if r["rate"] else f"closed {r['concurrency']}"
    return [
        r["label"].split()[0],
        mode,
        f"{r['created'] + r['replays']:,}",
        f"**{r['visits_per_sec']:,.0f}**",
        f"{r['p50_ms']:.1f}",
        f"{r['p95_ms']:.1f}",
        f"{r['p99_ms']:.1f}",
        f"{r['max_ms']:.0f}",
        str(errors),
        cpu,
        check,
    ]


HEADER = ["target", "loop", "visits", "visits/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors",
          "CPU storm/target", "stored"]


def line(cells):
    return "| " + " | ".join(cells) + " |"


def main():
    if sys.argv[1] == "--one":
        with open(sys.argv[2]) as f:
            text = f.read().strip()
        if not text:
            print("   (no report: the storm failed)")
            return
        print("   " + line(storm_row(json.loads(text))))
        return
    run = sys.argv[1]
    print(line(HEADER))
    print(line(["---"] * len(HEADER)))
    best = {}
    for target in ["sqlite", "postgres"]:
        stored = None
        p = os.path.join(run, f"{target}-stored.txt")
        if os.path.exists(p):
            stored = open(p).read().strip()
        for mode in ["closed", "open"]:
            p = os.path.join(run, f"{target}-{mode}.json")
            if not os.path.exists(p) or not open(p).read().strip():
                continue
            r = json.load(open(p))
            print(line(storm_row(r, stored)))
            if mode == "closed":
                best[target] = r["visits_per_sec"]
    peers = {}
    p = os.path.join(run, "peer.jsonl")
    if os.path.exists(p):
        for l in open(p):
            r = json.loads(l)
            peers[r["way"]] = r
            print(line([f"peer: raw SQLite, {r['way']} per commit", "-", f"{r['rows']:,}",
                        f"**{r['rows_per_sec']:,.0f}**", f"{r['p50_commit_ms']:.2f} (commit)", "-",
                        f"{r['p99_commit_ms']:.1f} (commit)", "-", "0", "-",
                        f"{r['commits_per_sec']:,.0f} commits/s"]))
    print()
    for target, rate in best.items():
        for way, r in peers.items():
            print(f"{target} closed loop / peer {way}: {rate / r['rows_per_sec']:.2f}")


if __name__ == "__main__":
    main()
