"""Reading dataset rows line by line, and the requirement categories inside them.

Dataset rows come in two forms, told apart per row: v1 (categories as JSON lists of
``{id, description, priority}``) and v2 (each category a YAML string of such a list, as
``ba_metric.render_category`` writes it).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import ba_metric
from ba_io import JsonlLine, iter_jsonl_lines
from ba_metric import ParseError, load_yaml

__all__ = [
    "CATEGORIES",
    "PREFIXES",
    "PRIORITIES",
    "TEXT_FIELDS",
    "CategoryError",
    "Line",
    "id_pattern",
    "item_problems",
    "iter_lines",
    "load_category",
    "normalise_concept",
    "row_form",
]

# the document's rules are ba-metric's: its categories, ID prefixes and priorities
CATEGORIES = ba_metric.CATEGORIES
PREFIXES = ba_metric.ID_PREFIXES
PRIORITIES = ba_metric.PRIORITY_LEVELS
TEXT_FIELDS = ("concept", "title", "description")

# The tolerant line reader lives in ba-io; the old names stay importable from here.
Line = JsonlLine
iter_lines = iter_jsonl_lines


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "list", dict: "object"}.get(
        type(value), type(value).__name__
    )


class CategoryError(ValueError):
    """A category value that is not a list of requirements (or YAML of one)."""


def load_category(value: Any) -> tuple[list, str]:
    """``(items, form)`` where form is ``"list"`` (v1) or ``"yaml"`` (v2 string).

    Raises:
        CategoryError: neither a list nor a YAML string holding a list.
    """
    if isinstance(value, list):
        return value, "list"
    if isinstance(value, str):
        if not value.strip():
            raise CategoryError("empty YAML string")
        try:
            data = load_yaml(value)
        except ParseError as exc:
            raise CategoryError(str(exc)) from None
        if not isinstance(data, list):
            raise CategoryError(f"YAML string holds {_kind(data)}, expected a list of requirements")
        return data, "yaml"
    raise CategoryError(f"expected a list or a YAML string, got {_kind(value)}")


def row_form(row: dict) -> str:
    """``example-v2`` when any category is a string, else ``example-v1``."""
    return "example-v2" if any(isinstance(row.get(c), str) for c in CATEGORIES) else "example-v1"


def id_pattern(prefix: str) -> str:
    return f"^{prefix}\\d{{3}}$"


def item_problems(item: Any, prefix: str) -> list[tuple[str, str]]:
    """``[(field, message)]`` for one requirement item of a v2 document ("" = the item)."""
    if not isinstance(item, dict):
        return [("", f"expected a mapping with id, description and priority, got {_kind(item)}")]
    out = []
    rid = item.get("id")
    if "id" not in item:
        out.append(("", "'id' is a required property"))
    elif not isinstance(rid, str) or re.fullmatch(f"{prefix}\\d{{3}}", rid) is None:
        out.append(("id", f"{rid!r} does not match '{id_pattern(prefix)}'"))
    desc = item.get("description")
    if "description" not in item:
        out.append(("", "'description' is a required property"))
    elif not isinstance(desc, str) or not desc.strip():
        out.append(("description", f"{desc!r} is not a non-empty string"))
    if "priority" not in item:
        out.append(("", "'priority' is a required property"))
    elif item["priority"] not in PRIORITIES:
        out.append(("priority", f"{item['priority']!r} is not one of {list(PRIORITIES)}"))
    return out


_PUNCT = re.compile(r"[^\w]+")


def normalise_concept(text: Any) -> str:
    """Unicode NFC, lower case, punctuation and whitespace runs collapsed: the key for 'same
    concept' (campaign 26: "Gestión" typed with a combining accent and with a precomposed one
    were two concepts, and the pair crossed the train/val split)."""
    return _PUNCT.sub(" ", unicodedata.normalize("NFC", str(text)).lower()).strip()
