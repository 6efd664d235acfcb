#!/usr/bin/env python3
"""Prints the sync storm's reports (bench/storm.sh) as one markdown table with ratios to the bare
actix-web peer. `storm_table.py RUN_DIR`, or `storm_table.py --one REPORT.json` for one line."""

import json
import os
import sys

TARGETS = ["sqlite", "sqlite-before", "postgres", "postgres-before", "bare"]
MODES = ["closed", "open"]


def phase_cells(p):
    if p is None:
        return ["-"] * 6
    errors = p["errors"]
    if errors:
        kinds = ", ".join(f"{k} {v}" for k, v in p["errors_by_kind"].items())
        errors = f"{errors} ({kinds})"
    cpu = "/".join(
        "-" if c is None else f"{c:.2f}" for c in (p["storm_cpu_cores"], p["target_cpu_cores"])
    )
    return [
        f"{p['syncs_per_sec']:,.0f}",
        f"{p['p50_ms']:.1f}",
        f"{p['p99_ms']:.1f}",
        f"{p['max_ms']:.0f}",
        str(errors),
        cpu,
    ]


def one(path):
    r = json.load(open(path))
    print(f"   ({r.get('decode', 'full')} decode of answers)")
    for name, p in [("first sync", r["first_sync"]), ("incremental", r["incremental"])]:
        if p is None:
            continue
        c = phase_cells(p)
        print(
            f"   {name:<11} {p['syncs']:>7} syncs {c[0]:>8}/s  p50 {c[1]:>6} ms  p99 {c[2]:>6} ms"
            f"  max {c[3]:>5} ms  errors {c[4]}  cpu storm/target {c[5]}"
        )


def table(run):
    reports = {}
    for t in TARGETS:
        for m in MODES:
            path = os.path.join(run, f"{t}-{m}.json")
            if os.path.exists(path):
                reports[(t, m)] = json.load(open(path))
    head = [
        "target",
        "storm",
        "phase",
        "syncs/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "errors",
        "CPU cores storm/target",
        "body B",
    ]
    # Reports from before `--decode` existed decoded in full.
    decodes = sorted({r.get("decode", "full") for r in reports.values()})
    print(f"answers decoded: {', '.join(decodes)}")
    print()
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    # The first syncs are a closed loop in both storms: the closed storm's row is shown (the open
    # storm's repeat of it is in its JSON report).
    for (t, m), r in reports.items():
        for phase in ["first_sync", "incremental"]:
            p = r[phase]
            if p is None or (phase == "first_sync" and m == "open"):
                continue
            if phase == "incremental" and r["mode"] == "open":
                storm = f"open loop, {r['rate']:.0f}/s"
            else:
                storm = f"closed loop, {r['concurrency']} in flight"
            body = p["mean_body_bytes"]
            row = [t, storm, phase.replace("_", " ")] + phase_cells(p) + [
                "-" if body is None else f"{body:,}"
            ]
            print("| " + " | ".join(row) + " |")
    print()
    for t in ["sqlite", "sqlite-before", "postgres", "postgres-before"]:
        for m in MODES:
            ours, bare = reports.get((t, m)), reports.get(("bare", m))
            if not ours or not bare:
                continue
            for phase in ["first_sync", "incremental"]:
                if phase == "first_sync" and m == "open":
                    continue
                a, b = ours[phase], bare[phase]
                if a and b and b["syncs_per_sec"] > 0:
                    print(
                        f"{t} / bare, {m} loop, {phase.replace('_', ' ')}: "
                        f"{a['syncs_per_sec']:,.0f} / {b['syncs_per_sec']:,.0f} = "
                        f"{a['syncs_per_sec'] / b['syncs_per_sec']:.2f}"
                    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        one(sys.argv[2])
    elif len(sys.argv) == 2:
        table(sys.argv[1])
    else:
        sys.exit(__doc__)
