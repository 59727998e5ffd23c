"""``stats``: what a dataset file holds, at a glance (v1 or v2 rows, scored or not)."""

from __future__ import annotations

import math
import os
import statistics
from collections import Counter
from typing import Any

from ba_metric import document_from_fields, render

from .rows import CATEGORIES, CategoryError, iter_lines, load_category
from .selection import row_score

__all__ = ["format_stats", "stats_file"]

CHARS_PER_TOKEN = 4  # rough English BPE ratio; "approx_tokens" is chars / 4


def _describe(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    return {
        "mean": round(statistics.fmean(ordered), 3),
        "min": ordered[0],
        "median": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)],
        "max": ordered[-1],
    }


def stats_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Statistics of one JSONL dataset file (unreadable lines are counted, not used)."""
    rows = unreadable = 0
    scores: list[float] = []
    grounding: list[float] = []
    per_cat: dict[str, list[float]] = {c: [] for c in CATEGORIES}
    priorities: dict[str, Counter[str]] = {c: Counter() for c in CATEGORIES}
    domains: Counter[str] = Counter()
    teachers: Counter[str] = Counter()
    forms: Counter[str] = Counter()
    chars: list[float] = []
    words: list[float] = []
    for line in iter_lines(path):
        if line.row is None:
            unreadable += 1
            continue
        row = line.row
        rows += 1
        score = row_score(row)
        if score is not None:
            scores.append(score)
        if isinstance(row.get("grounding"), (int, float)) and not isinstance(row.get("grounding"), bool):
            grounding.append(float(row["grounding"]))
        for key, counter in (("domain", domains), ("teacher", teachers)):
            if isinstance(row.get(key), str):
                counter[row[key]] += 1
        for cat in CATEGORIES:
            try:
                items, form = load_category(row.get(cat))
            except CategoryError:
                continue
            forms[form] += 1
            per_cat[cat].append(len(items))
            for item in items:
                if isinstance(item, dict):
                    priorities[cat][str(item.get("priority", "(none)"))] += 1
        text = render(document_from_fields(row))
        chars.append(len(text))
        words.append(len(text.split()))
    total_priorities = sum((c for c in priorities.values()), Counter())
    return {
        "file": os.fspath(path),
        "rows": rows,
        "unreadable_lines": unreadable,
        "category_forms": dict(forms),
        "score": _describe(scores),
        "grounding": _describe(grounding),
        "requirements_per_category": {c: _describe(v) for c, v in per_cat.items()},
        "priorities": {
            **{c: dict(priorities[c].most_common()) for c in CATEGORIES},
            "all": dict(total_priorities.most_common()),
        },
        "domains": dict(sorted(domains.items())),
        "teachers": dict(teachers.most_common()),
        "document_chars": _describe(chars),
        "document_words": _describe(words),
        "approx_tokens": _describe([c / CHARS_PER_TOKEN for c in chars]),
    }


def _fmt(d: dict[str, float] | None) -> str:
    if d is None:
        return "-"
    return f"mean {d['mean']:g}, min {d['min']:g}, median {d['median']:g}, p95 {d['p95']:g}, max {d['max']:g}"


def format_stats(s: dict[str, Any]) -> str:
    """The human-readable form printed by ``ba-dataset-tools stats``."""
    out = [
        f"{s['file']}: {s['rows']} rows"
        + (f", {s['unreadable_lines']} unreadable lines" if s["unreadable_lines"] else "")
    ]
    out.append(f"  score: {_fmt(s['score'])}")
    if s["grounding"] is not None:
        out.append(f"  grounding: {_fmt(s['grounding'])}")
    for cat, d in s["requirements_per_category"].items():
        out.append(f"  {cat}: {_fmt(d)}")
    out.append("  priorities: " + ", ".join(f"{k} {v}" for k, v in s["priorities"]["all"].items()))
    if s["domains"]:
        out.append(f"  domains ({len(s['domains'])}): " + ", ".join(f"{k} {v}" for k, v in s["domains"].items()))
    if s["teachers"]:
        out.append("  teachers: " + ", ".join(f"{k} {v}" for k, v in s["teachers"].items()))
    out.append(f"  document words: {_fmt(s['document_words'])}")
    out.append(f"  approx tokens (chars/{CHARS_PER_TOKEN}): {_fmt(s['approx_tokens'])}")
    return "\n".join(out)
