#!/usr/bin/env python3
"""Writes a synthetic medical-insurance claims CSV for the department import benchmark.

The people claiming are drawn from a household CSV written by bench/gen_households.py (its
`id_number` column), so the claims match members of the city the benchmark imported; a share of
the rows carry valid ID numbers of people the registry does not hold (they must come back as
unmatched). Claims are heavy-tailed like a real insurance bureau's settlement file: most people in
it have one or two settlements, people with chronic or grave illness many. Rows are in settlement
order (as a bureau exports them), so the same person's claims are spread over the whole file.

    bench/gen_claims.py --households FILE.csv --claims 1000000 --out FILE [--unmatched 0.08]

Deterministic for a given seed and household file. Amounts in yuan with two decimals; dates within
the twelve months before --today.
"""

import argparse
import csv
import datetime
import random
import sys

HEADER = "record_id,id_number,settlement_date,total_cost,insurance_paid,out_of_pocket,hospital"
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"
HOSPITALS = [
    "常州市第一人民医院",
    "常州市第二人民医院",
    "常州市中医医院",
    "天宁区人民医院",
    "红梅街道社区卫生服务中心",
    "茶山街道社区卫生服务中心",
    "常州市儿童医院",
    "常州市肿瘤医院",
]


def unknown_id(rng, taken):
    """A valid 18-digit ID number (real date, check character) that no member holds."""
    while True:
        birth = datetime.date(1930, 1, 1) + datetime.timedelta(days=rng.randrange(0, 33000))
        body = "320405" + birth.strftime("%Y%m%d") + "%03d" % rng.randrange(0, 1000)
        check = CHECK[sum(int(c) * w for c, w in zip(body, WEIGHTS)) % 11]
        number = body + check
        if number not in taken:
            return number


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", required=True)
    ap.add_argument("--claims", type=int, default=1_000_000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--unmatched", type=float, default=0.08)
    ap.add_argument("--claimants", type=float, default=0.12, help="share of members who claim")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--today", default="2026-11-01")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    today = datetime.date.fromisoformat(args.today)

    with open(args.households, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader)
        col = header.index("id_number")
        ids = [row[col] for row in reader]
    taken = set(ids)
    rng.shuffle(ids)
    claimants = ids[: max(1, int(len(ids) * args.claimants))]
    # Heavy tail: a claimant's weight is drawn from a Pareto distribution, so a few people (the
    # chronically and gravely ill) account for many settlements.
    weights = [rng.paretovariate(1.3) for _ in claimants]
    strangers = [unknown_id(rng, taken) for _ in range(max(1, int(args.claims * args.unmatched / 2)))]

    matched = args.claims - int(args.claims * args.unmatched)
    people = rng.choices(claimants, weights=weights, k=matched)
    people += [rng.choice(strangers) for _ in range(args.claims - matched)]
    days = sorted(rng.randrange(0, 365) for _ in range(args.claims))
    rng.shuffle(people)

    with open(args.out, "w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\n")
        for n, (person, back) in enumerate(zip(people, reversed(days))):
            settled = today - datetime.timedelta(days=back)
            total = round(rng.lognormvariate(6.5, 1.3), 2)
            share = rng.uniform(0.45, 0.85)
            paid = round(total * share, 2)
            oop = round(total - paid, 2)
            out.write(
                "YB%s%08d,%s,%s,%.2f,%.2f,%.2f,%s\n"
                % (settled.strftime("%Y%m"), n, person, settled.isoformat(), total, paid, oop, rng.choice(HOSPITALS))
            )
    print(f"{args.claims} claims, {matched} by {len(claimants)} registered claimants", file=sys.stderr)


if __name__ == "__main__":
    main()
