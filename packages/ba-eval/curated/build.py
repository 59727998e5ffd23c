"""Render curated/curated.yaml (hand-written) into src/ba_eval/data/curated.jsonl.

Usage (from packages/ba-eval):  python curated/build.py [--check]

Each category list becomes its dataset-v2 YAML string via ``ba_metric.render_category``;
every row is validated against the ``example-v2`` schema and its document against
``requirement-document``. ``--check`` exits 1 when the packaged file differs from the
source instead of writing it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from ba_io import validate, write_jsonl
from ba_metric import render_category

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "curated.yaml"
TARGET = HERE.parent / "src" / "ba_eval" / "data" / "curated.jsonl"
CATEGORIES = ("functional_requirements", "non_functional_requirements", "constraints")


def build_rows(source: Path = SOURCE) -> list[dict]:
    """The v2 rows for every entry of the hand-written source."""
    entries = yaml.safe_load(source.read_text(encoding="utf-8"))
    rows = []
    for entry in entries:
        doc = {key: entry[key] for key in ("title", "description") + CATEGORIES}
        issues = validate(doc, "requirement-document")
        if issues:
            raise SystemExit(f"{source}: {entry['id']}: {issues[0]}")
        row = {
            "id": entry["id"],
            "concept": entry["concept"],
            "title": entry["title"],
            "description": entry["description"],
        }
        row.update({c: render_category(entry[c]) for c in CATEGORIES})
        row["domains"] = list(entry["domains"])
        row["language"] = entry["language"]
        row["style"] = entry["style"]
        row["source"] = "curated"
        rows.append(row)
    return rows


def main(argv: list[str]) -> int:
    rows = build_rows()
    if "--check" in argv:
        text = "".join(json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n" for r in rows)
        if TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is out of date; run python curated/build.py", file=sys.stderr)
            return 1
        return 0
    n = write_jsonl(TARGET, rows, schema="example-v2")
    print(f"wrote {n} rows to {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
