"""``audit``: the original project's dataset report, plus missing fields and duplicates.

Counters (each ``{"count": N, "items": [...]}``, one item per finding, ``count`` = items):

* ``id_format_issues``: per row and category, the IDs not in ``FR001`` / ``NFR001`` /
  ``C001`` form;
* ``min_requirements_violations``: a category with fewer than 2 requirements;
* ``yaml_validation_errors``: a category that is not a list (v1) / YAML list (v2) of
  mappings with id, description and priority High/Medium/Low;
* ``missing_fields``: concept, title, description or a category absent, null or blank
  (and ``id`` for v2 rows);
* ``duplicate_concepts``: a row whose normalised concept text an earlier row already had;
* ``duplicate_requirement_ids``: an ID used twice within one category;
* ``unreadable_lines``: malformed JSON / not an object (such a line is not valid);
* ``schema_errors``: a readable row that its form's schema (``example-v1`` / ``example-v2``)
  rejects, with the first reason;
* ``duplicate_row_ids``: a row whose ``id`` an earlier row already had.

A row is *valid* when it is readable and has no finding of any kind. Rows are read as v1
or v2 per row (list vs string categories).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from ba_io.schemas import first_issue

from .ids import bad_ids, duplicate_ids
from .rows import (
    CATEGORIES,
    PREFIXES,
    TEXT_FIELDS,
    CategoryError,
    iter_lines,
    load_category,
    normalise_concept,
    row_form,
)

__all__ = ["ISSUE_KINDS", "audit_file", "summary"]

ISSUE_KINDS = (
    "id_format_issues",
    "min_requirements_violations",
    "yaml_validation_errors",
    "missing_fields",
    "duplicate_concepts",
    "duplicate_requirement_ids",
    "unreadable_lines",
    "schema_errors",
    "duplicate_row_ids",
)
MIN_REQUIREMENTS = 2


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _structure_problems(items: list, prefix: str) -> list[str]:
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            out.append(f"item {i} is not a mapping")
            continue
        missing = [k for k in ("id", "description", "priority") if k not in item]
        if missing:
            out.append(f"item {i} lacks {', '.join(missing)}")
        if "description" in item and (not isinstance(item["description"], str) or not item["description"].strip()):
            out.append(f"item {i} has an empty description")
        if "priority" in item and item["priority"] not in ("High", "Medium", "Low"):
            out.append(f"item {i} priority {item['priority']!r} is not High, Medium or Low")
    return out


def _check_row(line: int, row: dict, found: dict[str, list]) -> None:
    form = row_form(row)
    required = TEXT_FIELDS + CATEGORIES + (("id",) if form == "example-v2" else ())
    for field in required:
        if field not in row or _blank(row[field]):
            found["missing_fields"].append({"line": line, "field": field, "message": f"missing {field}"})
    for cat in CATEGORIES:
        if cat not in row or row[cat] is None:
            continue
        try:
            items, _ = load_category(row[cat])
        except CategoryError as exc:
            found["yaml_validation_errors"].append({"line": line, "field": cat, "message": str(exc)})
            continue
        prefix = PREFIXES[cat]
        problems = _structure_problems(items, prefix)
        if problems:
            found["yaml_validation_errors"].append(
                {
                    "line": line,
                    "field": cat,
                    "message": "; ".join(problems[:5])
                    + (f"; and {len(problems) - 5} more" if len(problems) > 5 else ""),
                }
            )
        bad = bad_ids(items, prefix)
        if bad:
            found["id_format_issues"].append(
                {
                    "line": line,
                    "field": cat,
                    "ids": bad,
                    "message": f"{len(bad)} ID{'s' if len(bad) != 1 else ''} not in {prefix}001 form",
                }
            )
        dups = duplicate_ids(items)
        if dups:
            found["duplicate_requirement_ids"].append(
                {"line": line, "field": cat, "ids": dups, "message": f"{len(dups)} ID(s) used more than once"}
            )
        if len(items) < MIN_REQUIREMENTS:
            found["min_requirements_violations"].append(
                {
                    "line": line,
                    "field": cat,
                    "message": f"{len(items)} requirement{'s' if len(items) != 1 else ''} (minimum {MIN_REQUIREMENTS})",
                }
            )


def audit_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The audit report of one JSONL file (``schemas/audit-report.schema.json``).

    Raises:
        UsageError: the file is missing.
    """
    found: dict[str, list] = {kind: [] for kind in ISSUE_KINDS}
    total = 0
    forms: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    first_id: dict[str, int] = {}
    for line in iter_lines(path):
        total += 1
        if line.row is None:
            found["unreadable_lines"].append({"line": line.number, "message": line.error})
            continue
        row = line.row
        form = row_form(row)
        forms[form] += 1
        _check_row(line.number, row, found)
        issue = first_issue(row, form)
        if issue is not None:
            found["schema_errors"].append({"line": line.number, "message": f"{form}: {issue}"})
        rid = row.get("id")
        if isinstance(rid, str) and rid:
            if rid in first_id:
                found["duplicate_row_ids"].append(
                    {"line": line.number, "field": "id", "message": f"id {rid!r} already used on line {first_id[rid]}"}
                )
            else:
                first_id[rid] = line.number
        concept = row.get("concept")
        if isinstance(concept, str) and concept.strip():
            key = normalise_concept(concept)
            if key in first_seen:
                found["duplicate_concepts"].append(
                    {"line": line.number, "field": "concept", "message": f"same concept as line {first_seen[key]}"}
                )
            else:
                first_seen[key] = line.number
    flagged = {item["line"] for items in found.values() for item in items}
    report: dict[str, Any] = {"file": os.fspath(path)}
    if forms:
        report["schema"] = forms.most_common(1)[0][0] if len(forms) == 1 else "mixed"
    report["total_examples"] = total
    report["valid_examples"] = total - len(flagged)
    for kind in ISSUE_KINDS:
        report[kind] = {"count": len(found[kind]), "items": found[kind]}
    return report


def summary(report: dict[str, Any]) -> str:
    """A few human lines: totals, then each counter with how many rows it touches."""
    lines = [
        f"audit {report['file']}: {report['total_examples']} examples "
        f"({report.get('schema', 'no readable rows')}), {report['valid_examples']} valid"
    ]
    for kind in ISSUE_KINDS:
        items = report[kind]["items"]
        rows = len({item["line"] for item in items})
        ids = sum(len(item.get("ids", [])) for item in items)
        extra = f", {ids} IDs" if ids else ""
        lines.append(f"  {kind:<28} {report[kind]['count']:>5}  ({rows} rows{extra})")
    return "\n".join(lines)
