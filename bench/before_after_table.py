#!/usr/bin/env python3
"""Prints bench/before_after.sh's runs as markdown tables: each round's before and after figure and
their ratio, then the median ratio per figure. Ratios are written so that above 1 means the after
build is faster: after ÷ before for rates, before ÷ after for times and latencies.

    bench/before_after_table.py target/bench-before-after/<time>
"""

import glob
import json
import os
import re
import statistics
import sys


def load_of(log):
    text = open(log).read()
    start = re.search(r"^load-start: (\S+)", text, re.M)
    end = re.search(r"^load-end: (\S+)", text, re.M)
    return f"{start.group(1) if start else '?'}–{end.group(1) if end else '?'}"


def report_dir(log):
    m = re.search(r"^reports: (.+)$", open(log).read(), re.M)
    return m.group(1).strip() if m else None


def read_json(path):
    if not os.path.exists(path):
        return None
    text = open(path).read().strip()
    return json.loads(text) if text else None


def storm_figures(log):
    """{figure: (value, kind)}: kind 'rate' (higher is better) or 'time' (lower is better)."""
    d = report_dir(log)
    out = {}
    if d is None:
        return out
    for target in ["sqlite", "postgres"]:
        r = read_json(os.path.join(d, f"{target}-closed.json"))
        if r is None:
            continue
        for phase, name in [("first_sync", "first sync"), ("incremental", "incremental")]:
            p = r.get(phase)
            if p is None:
                continue
            out[f"{target} {name} syncs/s"] = (p["syncs_per_sec"], "rate")
            out[f"{target} {name} p99 ms"] = (p["p99_ms"], "time")
            out[f"{target} {name} errors"] = (p["errors"], "count")
    return out


def vstorm_figures(log):
    d = report_dir(log)
    out = {}
    if d is None:
        return out
    for target in ["sqlite", "postgres"]:
        for mode in ["closed", "open"]:
            r = read_json(os.path.join(d, f"{target}-{mode}.json"))
            if r is None:
                continue
            out[f"{target} {mode} visits/s"] = (r["visits_per_sec"], "rate")
            out[f"{target} {mode} p99 ms"] = (r["p99_ms"], "time")
            v = r["verification"]
            out[f"{target} {mode} errors + missing"] = (r["errors"] + v["missing"], "count")
        stored = os.path.join(d, f"{target}-stored.txt")
        if os.path.exists(stored):
            out[f"{target} rows after kill -9"] = (int(open(stored).read().strip()), "count")
    return out


def seconds(wall):
    parts = [float(x) for x in wall.split(":")]
    s = 0.0
    for x in parts:
        s = s * 60 + x
    return s


def household_figures(log):
    out = {}
    for m in re.finditer(r"^(sqlite-import(?:-again)?)\s+wall (\S+)\s+peak RSS (\d+) MiB", open(log).read(), re.M):
        out[f"{m.group(1)} wall s"] = (seconds(m.group(2)), "time")
        out[f"{m.group(1)} peak RSS MiB"] = (int(m.group(3)), "time")
    return out


FIGURES = {"storm": storm_figures, "vstorm": vstorm_figures, "household": household_figures}
TITLES = {
    "storm": "Sync storm (bench/storm.sh, closed loop)",
    "vstorm": "Visit storm (bench/visit_storm.sh)",
    "household": "Household import (bench/household_import.sh)",
}


def fmt(v):
    if isinstance(v, int) or float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.2f}"


def main():
    out = sys.argv[1]
    for bench, figures in FIGURES.items():
        logs = sorted(glob.glob(os.path.join(out, f"{bench}-*-*.log")))
        if not logs:
            continue
        runs = {}
        for log in logs:
            side, rnd = re.match(rf".*/{bench}-(before|after)-(\d+)\.log$", log).groups()
            runs[(int(rnd), side)] = (figures(log), load_of(log))
        rounds = sorted({r for r, _ in runs})
        names = []
        for f, _ in runs.values():
            names += [n for n in f if n not in names]
        print(f"### {TITLES[bench]}")
        print()
        print("| figure | round | before | after | ratio | load before / after |")
        print("|---|---|---|---|---|---|")
        medians = {}
        for name in names:
            for rnd in rounds:
                b, bl = runs.get((rnd, "before"), ({}, "?"))
                a, al = runs.get((rnd, "after"), ({}, "?"))
                if name not in b and name not in a:
                    continue
                bv = b.get(name, (None, None))[0]
                av = a.get(name, (None, None))[0]
                kind = (b.get(name) or a.get(name))[1]
                ratio = ""
                if bv is not None and av is not None and kind != "count" and bv and av:
                    x = av / bv if kind == "rate" else bv / av
                    medians.setdefault(name, []).append(x)
                    ratio = f"{x:.2f}"
                print(
                    f"| {name} | {rnd} | {'-' if bv is None else fmt(bv)} | "
                    f"{'-' if av is None else fmt(av)} | {ratio} | {bl} / {al} |"
                )
        print()
        print("Median ratio (above 1: after is faster): " + "; ".join(
            f"{n} {statistics.median(xs):.2f} ({', '.join(f'{x:.2f}' for x in xs)})"
            for n, xs in medians.items()
        ))
        print()


if __name__ == "__main__":
    main()
