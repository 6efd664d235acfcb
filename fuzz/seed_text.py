#!/usr/bin/env python3
"""Writes the text seeds of the committed corpus from the repository's fixtures and the real data
beside it (../shared/data): ID numbers, expressions and conformance cases of the form engine,
GeoJSON boundaries and household CSV files. Run from the repository's top:

    python3 fuzz/seed_text.py ../shared/data

The photo seeds come from `cargo run -p jiuzhu-fuzz-targets --example seed_corpus`.
"""
import csv
import glob
import hashlib
import io
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, data, name=None):
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    name = name or "seed-" + hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "data")

    # ID numbers: the sample households' numbers and the forms the parser normalises or refuses.
    with open(os.path.join(ROOT, "fixtures/households/sample-utf8.csv"), encoding="utf-8") as f:
        ids = [row["id_number"] for row in csv.DictReader(f) if row["id_number"]]
    ids += [
        "11010519491231002X", "11010519491231002x", "１１０１０５１９４９１２３１００２Ｘ",
        " 110105194912310021 ", "110105491231002", "810000199001011234", "3204021942031512",
        "32040219420315122\u200b9", "3204-0219420315-1229", "X20402194203151229", "",
        "13812345678", "1234",
    ]
    for i in ids:
        put("id_number", i)

    # Expressions: every relevant/constraint/calculate in the conformance cases.
    exprs = set()
    cases = []
    for path in sorted(glob.glob(os.path.join(ROOT, "fixtures/forms/conformance/*.json"))):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        forms = doc.get("forms", {}) if isinstance(doc, dict) else {}
        for case in doc.get("cases", []) if isinstance(doc, dict) else []:
            if not isinstance(case, dict):
                continue
            if isinstance(case.get("form"), str):
                case = dict(case, form=forms.get(case["form"]))
            if not isinstance(case.get("form"), dict):
                continue
            cases.append(case)

            def walk(fields):
                for fld in fields:
                    for key in ("relevant", "constraint", "calculate"):
                        if isinstance(fld.get(key), str):
                            exprs.add(fld[key])
                    walk(fld.get("fields", []))

            walk(case["form"].get("fields", []))
    for e in sorted(exprs):
        put("form_expr", e)
    for case in cases:
        put("form_validate", json.dumps(
            {"form": case["form"], "answers": case.get("answers", {}), "today": case.get("today")},
            ensure_ascii=False, separators=(",", ":")))

    # GeoJSON: the real district files (GCJ-02), one district alone, and a grid-sized square.
    for path in sorted(glob.glob(os.path.join(shared, "boundaries", "*.json"))):
        with open(path, "rb") as f:
            put("geojson_import", f.read(), os.path.basename(path))
    with open(os.path.join(shared, "boundaries", "320400_full.json"), encoding="utf-8") as f:
        doc = json.load(f)
    one = dict(doc, features=doc["features"][:1])
    put("geojson_import", json.dumps(one, ensure_ascii=False), "320400-one-district.json")
    put("geojson_import", json.dumps(doc["features"][0], ensure_ascii=False), "320400-feature.json")
    square = {"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "properties": {"code": "320402001001001", "name": "红梅一网格", "kind": "grid"},
        "geometry": {"type": "Polygon", "coordinates": [[
            [119.94, 31.80], [119.95, 31.80], [119.95, 31.81], [119.94, 31.81], [119.94, 31.80]],
            [[119.943, 31.803], [119.944, 31.803], [119.944, 31.804], [119.943, 31.803]]]}}]}
    put("geojson_import", json.dumps(square, ensure_ascii=False), "grid-with-hole.json")

    # Household CSV: the two sample files and a few shapes of damage.
    for name in ("sample-utf8.csv", "sample-gbk.csv"):
        with open(os.path.join(ROOT, "fixtures/households", name), "rb") as f:
            data = f.read()
        put("csv_import", data, name)
    with open(os.path.join(ROOT, "fixtures/households/sample-utf8.csv"), "rb") as f:
        utf8 = f.read()
    put("csv_import", b"\xef\xbb\xbf" + utf8, "sample-bom.csv")
    put("csv_import", utf8.replace(b"\n", b"\r\n"), "sample-crlf.csv")
    lines = utf8.split(b"\n")
    put("csv_import", b"\n".join(lines[:3]) + b'\n"CZ-9,unclosed\n', "unclosed-quote.csv")
    put("csv_import", lines[0] + b"\n", "header-only.csv")


if __name__ == "__main__":
    main()
