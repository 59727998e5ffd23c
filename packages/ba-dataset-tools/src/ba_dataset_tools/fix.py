"""``fix``: repair ID formats and convert categories to YAML strings (dataset v1 -> v2).

Per row, in order: rows that cannot be fixed (malformed JSON, a missing or blank
concept/title/description/category, a category that is not a list of mappings with a
description) go to the rejects file with ``line`` and ``reason``; a missing ``id`` is
derived from the concept text (``c`` + 10 hex digits of its SHA-256); priorities are
title-cased when they are a case variant of High/Medium/Low; ``fix_ids`` renumbers each
category to unique sequential IDs in order of appearance (``FR001``...);
``to_yaml`` renders each category with ``ba_metric.render_category``; ``check`` validates
every output row against example-v2 (and the YAML inside) and rejects a row that still
fails. Running fix on its own output changes nothing (byte-identical).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from ba_io import UsageError, atomic_write, distinct_paths, output_group, reject_record
from ba_metric import render_category

from .ids import renumber
from .rows import (
    CATEGORIES,
    PREFIXES,
    PRIORITIES,
    TEXT_FIELDS,
    CategoryError,
    iter_lines,
    load_category,
    normalise_concept,
)
from .validate import row_issues

__all__ = ["FixResult", "derived_id", "fix_file", "fix_row"]

_PRIORITY_CASE = {p.lower(): p for p in PRIORITIES}


class _Unfixable(ValueError):
    pass


@dataclass(frozen=True)
class FixResult:
    """Counts: ``rows`` read (non-blank lines) = ``written`` + ``rejected``; ``fixed`` rows
    changed; ``ids_changed`` requirement IDs renumbered; ``converted`` categories turned
    into YAML strings; ``ids_added`` rows given an ``id``."""

    rows: int
    written: int
    rejected: int
    fixed: int
    ids_changed: int
    converted: int
    ids_added: int


def derived_id(concept: str) -> str:
    """A stable row id from the concept text: ``c`` + 10 hex digits."""
    return "c" + hashlib.sha256(normalise_concept(concept).encode("utf-8")).hexdigest()[:10]


def _items(row: dict, cat: str) -> tuple[list[dict], str]:
    try:
        items, form = load_category(row[cat])
    except CategoryError as exc:
        raise _Unfixable(f"{cat}: {exc}") from None
    if not items:
        raise _Unfixable(f"{cat}: no requirements")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _Unfixable(f"{cat} -> {i}: expected a mapping, got {type(item).__name__}")
        desc = item.get("description")
        if not isinstance(desc, str) or not desc.strip():
            raise _Unfixable(f"{cat} -> {i}: missing description")
    return items, form


def _fix_priorities(items: list[dict]) -> list[dict]:
    out = []
    for item in items:
        p = item.get("priority")
        if isinstance(p, str) and p.strip().lower() in _PRIORITY_CASE:
            item = {k: (_PRIORITY_CASE[p.strip().lower()] if k == "priority" else v) for k, v in item.items()}
        out.append(item)
    return out


def fix_row(row: dict, *, fix_ids: bool = True, to_yaml: bool = True) -> tuple[dict, dict[str, int]]:
    """The fixed row and its counts (``ids_changed``, ``converted``, ``ids_added``).

    Raises:
        ValueError: the row cannot be fixed; the message is the reason.
    """
    for field in TEXT_FIELDS + CATEGORIES:
        value = row.get(field)
        if field not in row or value is None or (isinstance(value, str) and not value.strip()):
            raise _Unfixable(f"missing field: {field}")
    for field in TEXT_FIELDS:
        if not isinstance(row[field], str):
            raise _Unfixable(f"{field}: expected a string, got {type(row[field]).__name__}")
    counts = {"ids_changed": 0, "converted": 0, "ids_added": 0}
    fixed: dict[str, Any] = {}
    if not isinstance(row.get("id"), str) or not row["id"].strip():
        if "id" in row and row["id"] is not None:
            raise _Unfixable(f"id: expected a non-empty string, got {row['id']!r}")
        fixed["id"] = derived_id(row["concept"])
        counts["ids_added"] = 1
    for key, value in row.items():
        if key == "id" and counts["ids_added"]:
            continue
        if key not in CATEGORIES:
            fixed[key] = value
            continue
        items, form = _items(row, key)
        new_items = _fix_priorities(items)
        if fix_ids:
            try:
                new_items, changed = renumber(new_items, PREFIXES[key])
            except ValueError as exc:
                raise _Unfixable(f"{key}: {exc}") from None
            counts["ids_changed"] += changed
        if to_yaml or form == "yaml":
            fixed[key] = render_category(new_items)
            counts["converted"] += form == "list"
        else:
            fixed[key] = new_items
    return fixed, counts


def fix_file(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    rejects: str | os.PathLike[str],
    *,
    fix_ids: bool = True,
    to_yaml: bool = True,
    check: bool = True,
) -> FixResult:
    """Fix every row of ``path`` into ``out``; unfixable rows go to ``rejects``.

    Both files are written atomically (``rejects`` always, possibly empty). Each reject is
    ``{"line", "reason", "raw"}``. ``check`` needs ``to_yaml`` (v2 rows).

    Raises:
        UsageError: missing input, ``check`` without ``to_yaml``, or out == input.
    """
    if check and not to_yaml:
        raise UsageError("--validate checks v2 rows: use it with --convert-to-yaml-strings")
    distinct_paths(("the input", path), ("-o", out), ("--rejects", rejects))
    good: list[str] = []
    bad: list[str] = []
    totals = {"rows": 0, "fixed": 0, "ids_changed": 0, "converted": 0, "ids_added": 0}
    for line in iter_lines(path):
        totals["rows"] += 1
        reason = line.error
        if line.row is not None:
            try:
                fixed, counts = fix_row(line.row, fix_ids=fix_ids, to_yaml=to_yaml)
            except _Unfixable as exc:
                reason = str(exc)
            else:
                issues = row_issues(fixed, "example-v2") if check else []
                if issues:
                    reason = f"still invalid after fixing: {issues[0]}"
                else:
                    good.append(json.dumps(fixed, ensure_ascii=False, allow_nan=False))
                    totals["fixed"] += fixed != line.row
                    for key, value in counts.items():
                        totals[key] += value
        if reason is not None:
            bad.append(json.dumps(reject_record(line.number, reason, line.raw), ensure_ascii=False))
    with output_group():  # both files or neither (an unwritable --rejects leaves no output)
        for target, lines in ((out, good), (rejects, bad)):
            with atomic_write(target) as f:
                f.writelines(text + "\n" for text in lines)
    return FixResult(
        rows=totals["rows"],
        written=len(good),
        rejected=len(bad),
        fixed=totals["fixed"],
        ids_changed=totals["ids_changed"],
        converted=totals["converted"],
        ids_added=totals["ids_added"],
    )
