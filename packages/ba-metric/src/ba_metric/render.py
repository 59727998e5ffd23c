"""Canonical YAML rendering of requirements documents.

Layout: the five fields in the order title, description, functional_requirements,
non_functional_requirements, constraints (absent fields are omitted, other top-level keys
dropped); each requirement mapping as id, description, priority, then any other keys in
their original order; block style; sequences indented two spaces under their key; unicode
written as is; no line wrapping; multi-line strings as literal blocks (``|``) when YAML
allows it. A category block in ``render(doc)`` is ``render_category(items)`` indented by two
spaces, so the dataset-v2 string form and the document form always agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from .parse import CATEGORIES, document_from_fields

__all__ = ["render", "render_category"]

_REQ_KEYS = ("id", "description", "priority")
_NO_BLOCK = frozenset("\r\x85\u2028\u2029\ufeff")


class _Dumper(yaml.SafeDumper):
    """Pure-Python emitter so the output is identical with or without libyaml."""

    def ignore_aliases(self, data: Any) -> bool:  # never emit anchors
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = None
    if not _NO_BLOCK.isdisjoint(data):
        style = '"'  # only double quotes escape these (PyYAML writes them raw otherwise)
    elif data.endswith("\n\n") or (data.endswith("\n") and not data.strip()):
        # a block would need keep-chomping ("|+"), after which PyYAML ends the document with
        # "...", a line that is no longer a marker once render indents the category
        style = '"'
    elif "\n" in data:
        style = "|"  # the emitter falls back to quoting when a block scalar cannot hold it
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def _dump(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=float("inf"),
    )


def _ordered_item(item: Any) -> Any:
    if not isinstance(item, Mapping):
        return item
    out = {key: item[key] for key in _REQ_KEYS if key in item}
    for key, value in item.items():
        if key not in out:
            out[key] = value
    return out


def render_category(items: list[Any]) -> str:
    """YAML string form of one category (dataset v2), e.g. ``"- id: FR001\\n  ..."``."""
    if not isinstance(items, list):
        raise TypeError(f"render_category expects a list, got {type(items).__name__}")
    return _dump([_ordered_item(item) for item in items])


def _indent(block: str) -> str:
    return "".join("  " + line if line.strip("\n") else line for line in block.splitlines(True))


def render(doc: Mapping[str, Any]) -> str:
    """Canonical YAML text of a document (categories may be lists or YAML strings)."""
    if not isinstance(doc, Mapping):
        raise TypeError(f"render expects a mapping, got {type(doc).__name__}")
    doc = document_from_fields(doc)
    parts = []
    for key, value in doc.items():
        if key in CATEGORIES and isinstance(value, list) and value:
            parts.append(f"{key}:\n" + _indent(render_category(value)))
        else:
            parts.append(_dump({key: value}))
    return "".join(parts)
