"""``validate``: rows against example-v1 / example-v2, and for v2 the YAML inside.

For ``example-v2`` each category string is parsed and every item is checked: an ID of its
category's form (``^FR\\d{3}$``, ``^NFR\\d{3}$``, ``^C\\d{3}$``), a non-empty description,
priority High/Medium/Low, no duplicate IDs. Issues read like the schema ones:
``functional_requirements -> 2 -> id: 'FR1' does not match '^FR\\d{3}$'`` (0-based index).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ba_io import UsageError, validate

from .ids import duplicate_ids
from .rows import CATEGORIES, PREFIXES, CategoryError, item_problems, iter_lines, load_category

__all__ = ["SCHEMAS", "ValidationReport", "row_issues", "validate_file"]

SCHEMAS = ("example-v1", "example-v2")


def _v2_items(row: dict[str, Any]) -> list[str]:
    out = []
    for cat in CATEGORIES:
        value = row.get(cat)
        if not isinstance(value, str):
            continue  # the schema already reported it
        try:
            items, _ = load_category(value)
        except CategoryError as exc:
            out.append(f"{cat}: {exc}")
            continue
        if not items:
            out.append(f"{cat}: the YAML list is empty")
        for i, item in enumerate(items):
            for field, message in item_problems(item, PREFIXES[cat]):
                path = f"{cat} -> {i}" + (f" -> {field}" if field else "")
                out.append(f"{path}: {message}")
        for rid in duplicate_ids(items):
            out.append(f"{cat}: duplicate id {rid!r}")
    return out


def row_issues(row: Any, schema: str) -> list[str]:
    """Every problem of one row as ``json path: message`` (``[]`` when valid).

    Raises:
        UsageError: ``schema`` is not example-v1 or example-v2.
    """
    if schema not in SCHEMAS:
        raise UsageError(f"unknown schema {schema!r}; expected one of {', '.join(SCHEMAS)}")
    issues = [str(issue) for issue in validate(row, schema)]
    if schema == "example-v2" and isinstance(row, dict):
        issues += _v2_items(row)
    return issues


@dataclass(frozen=True)
class ValidationReport:
    """``rows`` checked, ``invalid`` rows, and ``errors``: one ``path:line: what`` line per
    invalid row (its problems joined with ``; ``)."""

    rows: int
    invalid: int
    errors: list[str]


def validate_file(path: str | os.PathLike[str], schema: str) -> ValidationReport:
    """Check every line of a JSONL file (malformed lines are errors too)."""
    if schema not in SCHEMAS:
        raise UsageError(f"unknown schema {schema!r}; expected one of {', '.join(SCHEMAS)}")
    name = os.fspath(path)
    rows = invalid = 0
    errors: list[str] = []
    for line in iter_lines(path):
        rows += 1
        problems = [line.error] if line.row is None else row_issues(line.row, schema)
        if problems:
            invalid += 1
            errors.append(f"{name}:{line.number}: " + "; ".join(str(p) for p in problems))  # one line per invalid row
    return ValidationReport(rows=rows, invalid=invalid, errors=errors)
