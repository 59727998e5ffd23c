"""Requirement IDs: what counts as well formed, and renumbering.

Well formed is ``FR001`` / ``NFR001`` / ``C001`` (prefix by category, three digits).
Renumbering gives the items of a category unique sequential IDs in order of appearance,
so ``FR01, FR02`` become ``FR001, FR002`` and ``FR1, FR-1, fr_01`` (or a duplicated
``FR01``) all end up unique and in order.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MAX_ITEMS", "bad_ids", "canonical_id", "duplicate_ids", "id_ok", "renumber"]

MAX_ITEMS = 999


def canonical_id(prefix: str, number: int) -> str:
    """``canonical_id("FR", 7) == "FR007"``."""
    return f"{prefix}{number:03d}"


def id_ok(value: Any, prefix: str) -> bool:
    return isinstance(value, str) and re.fullmatch(f"{prefix}\\d{{3}}", value) is not None


def bad_ids(items: list, prefix: str) -> list[str]:
    """The IDs (as strings) of mapping items that are not in PREFIX001 form."""
    return [str(item.get("id")) for item in items if isinstance(item, dict) and not id_ok(item.get("id"), prefix)]


def duplicate_ids(items: list) -> list[str]:
    """IDs that occur more than once, each listed once, in order of first repeat."""
    seen: set[str] = set()
    dups: list[str] = []
    for item in items:
        if isinstance(item, dict) and "id" in item:
            rid = str(item["id"])
            if rid in seen and rid not in dups:
                dups.append(rid)
            seen.add(rid)
    return dups


def renumber(items: list[dict], prefix: str) -> tuple[list[dict], int]:
    """``(items with IDs PREFIX001.., number of IDs that changed)``; key order is kept.

    Raises:
        ValueError: more than 999 items (no three-digit ID left).
    """
    if len(items) > MAX_ITEMS:
        raise ValueError(f"{len(items)} requirements; at most {MAX_ITEMS} fit three-digit IDs")
    out, changed = [], 0
    for number, item in enumerate(items, start=1):
        new_id = canonical_id(prefix, number)
        if item.get("id") != new_id:
            changed += 1
        if "id" in item:
            fixed = {k: (new_id if k == "id" else v) for k, v in item.items()}
        else:
            fixed = {"id": new_id, **item}
        out.append(fixed)
    return out, changed
