#!/usr/bin/env python3
"""Writes a synthetic household CSV for the import benchmark (format: fixtures/households/README.md).

Deterministic for a given seed and grid list: about 2.5 members per household, ID numbers that are
valid (real date, check character) and unique across the file, and locations inside the demo
grids. The grid points come from a running server (`--server`, as admin): each grid's bounding box
is sampled and every candidate point is checked with `GET /geo/locate`, so the points used are
known to fall in a grid.

    bench/gen_households.py --server http://127.0.0.1:8080 --households 1000000 --out FILE
"""

import argparse
import datetime
import json
import random
import sys
import urllib.parse
import urllib.request

HEADER = (
    "household_external_id,address,lat,lon,crs,grid_code,status,status_since,tags,notes,"
    "name,relation,id_number,birth_date,gender,health,disability_type,disability_level,"
    "daily_living_unable,work_status,student_status,income_wages,income_farming,income_business,"
    "income_rent,income_pension,income_support,income_other,phone"
)

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"
# Mostly registered in 天宁区 itself, the rest elsewhere in 常州 and beyond.
REGIONS = ["320402"] * 14 + ["320404", "320411", "320412", "320481", "321102", "340104"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉鹏晨宇浩然子涵欣怡梓轩雨桐俊志海燕丹琳")
STREETS = ["红梅新村", "丽华新村", "翠竹新村", "青龙苑", "东青花园", "兰陵小区", "北港花园", "天宁寺巷", "舣舟亭路", "朝阳新村"]
TODAY = datetime.date(2026, 11, 1)
STATUSES = ["none"] * 80 + ["dibao"] * 8 + ["edge"] * 5 + ["tekun"] * 2 + ["rigid_expense"] * 3 + ["relapse_monitoring"] * 2
TAGS = ["独居", "高龄", "空巢老人", "失能老人", "留守儿童", "重病"]
# Household sizes 1..5: mean 2.55.
SIZES = [1] * 20 + [2] * 30 + [3] * 30 + [4] * 15 + [5] * 5


def fetch(base, path, token=None, data=None):
    req = urllib.request.Request(base + "/api/v1" + path, data=data)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


def grid_points(base, password, per_grid, rng):
    """Points known to fall in a grid: (lat, lon) lists, one per grid with at least one."""
    token = fetch(base, "/auth/login", data=json.dumps({"username": "admin", "password": password}).encode())[
        "access_token"
    ]
    grids, after = [], None
    while True:
        q = {"kind": "grid", "limit": "500"}
        if after:
            q["after"] = after
        page = fetch(base, "/org-units?" + urllib.parse.urlencode(q), token)
        grids.extend(page["items"])
        after = page.get("next")
        if not after:
            break
    pools = []
    for g in sorted(grids, key=lambda g: g["code"]):
        if not g.get("bbox"):
            continue
        min_lon, min_lat, max_lon, max_lat = g["bbox"]
        candidates = [((min_lat + max_lat) / 2, (min_lon + max_lon) / 2)]
        for _ in range(per_grid * 2):
            # Near the centre: jittered a quarter of the box either way.
            candidates.append(
                (
                    (min_lat + max_lat) / 2 + (max_lat - min_lat) * rng.uniform(-0.25, 0.25),
                    (min_lon + max_lon) / 2 + (max_lon - min_lon) * rng.uniform(-0.25, 0.25),
                )
            )
        pool = []
        for lat, lon in candidates:
            lat, lon = round(lat, 6), round(lon, 6)
            hit = fetch(base, f"/geo/locate?lat={lat}&lon={lon}&crs=wgs84", token)
            if hit.get("grid") and hit["grid"]["code"] == g["code"]:
                pool.append((lat, lon))
            if len(pool) >= per_grid:
                break
        if pool:
            pools.append(pool)
    return pools


class Ids:
    """Valid, unique ID numbers: sequence numbers are handed out per (region, birth date, sex)."""

    def __init__(self):
        self.next = {}

    def make(self, rng, birth, male):
        while True:
            region = rng.choice(REGIONS)
            key = (region, birth, male)
            k = self.next.get(key, 0)
            if k < 499:
                self.next[key] = k + 1
                seq = 2 * k + 1 if male else 2 * k + 2
                body = f"{region}{birth.strftime('%Y%m%d')}{seq:03d}"
                s = sum(int(c) * w for c, w in zip(body, WEIGHTS))
                return body + CHECK[s % 11]
            birth = birth - datetime.timedelta(days=1)


def birth_for(rng, age):
    return TODAY - datetime.timedelta(days=int(age * 365.25) + rng.randrange(365))


def money(rng, lo, hi):
    return f"{rng.uniform(lo, hi):.2f}"


def member_row(rng, ids, relation, age, male):
    birth = birth_for(rng, age)
    number = ids.make(rng, birth, male)
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    if age >= 60:
        health = rng.choice(["healthy", "chronic", "chronic", "grave_illness", "healthy"])
        work = rng.choice(["retired", "retired", "unable_to_work", "farming"])
    elif age >= 18:
        health = rng.choice(["healthy"] * 8 + ["chronic", "grave_illness"])
        work = rng.choice(["employed"] * 5 + ["self_employed", "farming", "unemployed", "unable_to_work"])
    else:
        health = "healthy" if rng.random() < 0.95 else "chronic"
        work = "not_working_age"
    student = ""
    if 3 <= age < 6:
        student = "preschool"
    elif 6 <= age < 12:
        student = "primary"
    elif 12 <= age < 15:
        student = "junior_secondary"
    elif 15 <= age < 18:
        student = "senior_secondary"
    disability_type = disability_level = daily = ""
    if rng.random() < 0.04:
        disability_type = rng.choice(["visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple"])
        disability_level = str(rng.randint(1, 4))
        if disability_level in ("1", "2") and rng.random() < 0.5:
            daily = "bathing;dressing"
    wages = money(rng, 18000, 90000) if work in ("employed", "self_employed") else ""
    farming = money(rng, 3000, 20000) if work == "farming" else ""
    pension = money(rng, 9000, 48000) if work == "retired" else ""
    support = money(rng, 0, 6000) if age >= 70 and rng.random() < 0.3 else ""
    phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}" if relation == "head" and rng.random() < 0.6 else ""
    return [
        name, relation, number, "", "", health, disability_type, disability_level, daily, work, student,
        wages, farming, "", "", pension, support, "", phone,
    ]


def household(rng, ids, pools, index):
    size = rng.choice(SIZES)
    head_age = rng.randint(25, 90) if size > 1 else rng.randint(30, 95)
    head_male = rng.random() < 0.6
    people = [("head", head_age, head_male)]
    if size >= 2:
        people.append(("spouse", max(20, head_age + rng.randint(-5, 5)), not head_male))
    for _ in range(size - len(people)):
        if head_age > 40 and rng.random() < 0.7:
            people.append(("child", rng.randint(0, min(head_age - 20, 60)), rng.random() < 0.5))
        else:
            people.append(("parent", min(100, head_age + rng.randint(20, 30)), rng.random() < 0.5))
    pool = rng.choice(pools)
    lat, lon = rng.choice(pool)
    status = rng.choice(STATUSES)
    since = (TODAY - datetime.timedelta(days=rng.randrange(2900))).isoformat() if status != "none" else ""
    tags = rng.choice(TAGS) if rng.random() < 0.1 else ""
    address = f"天宁区{rng.choice(STREETS)}{rng.randint(1, 60)}幢{rng.randint(1, 4)}单元{rng.randint(1, 6)}0{rng.randint(1, 4)}室"
    ext = f"B{index:08d}"
    rows = []
    for i, (relation, age, male) in enumerate(people):
        first = i == 0
        household_cells = [address, f"{lat}", f"{lon}", "", "", status, since, tags, ""] if first else [""] * 9
        rows.append([ext] + household_cells + member_row(rng, ids, relation, age, male))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True, help="base URL of a server with the demo city loaded")
    ap.add_argument("--password", default="jiuzhu-demo-2026", help="the demo admin password")
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20261128)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    pools = grid_points(args.server.rstrip("/"), args.password, 8, random.Random(args.seed + 1))
    if not pools:
        sys.exit("no grid points: is the demo city loaded?")
    ids = Ids()
    members = 0
    with open(args.out, "w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\n")
        buf = []
        for h in range(args.households):
            for row in household(rng, ids, pools, h):
                # No field holds a comma, quote or newline, so plain joining is valid CSV.
                buf.append(",".join(row))
                members += 1
            if len(buf) >= 10000:
                out.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            out.write("\n".join(buf) + "\n")
    print(
        f"{args.households} households, {members} members ({members / max(1, args.households):.2f} each), "
        f"{sum(len(p) for p in pools)} points in {len(pools)} grids -> {args.out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
