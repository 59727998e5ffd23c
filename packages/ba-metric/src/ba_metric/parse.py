"""Raw model output -> requirements document dict.

The document is a plain ``dict`` holding (a subset of) the five fields in canonical order::

    title, description, functional_requirements, non_functional_requirements, constraints

Other top-level keys are dropped. A category given as a string holding YAML (or JSON) of a
list (the "dataset v2" form) is decoded into that list; any other category value is kept
as it is, so that the scorer can see what the model produced.

Safety: see ``loader`` (C safe loader, size and depth limits, aliases of collections rejected).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .loader import MAX_DEPTH, MAX_INPUT_CHARS, ParseError, load_json, load_yaml

__all__ = [
    "CATEGORIES",
    "FIELDS",
    "MAX_DEPTH",
    "MAX_INPUT_CHARS",
    "ParseError",
    "document_from_fields",
    "load_yaml",
    "parse",
]

CATEGORIES = ("functional_requirements", "non_functional_requirements", "constraints")
FIELDS = ("title", "description") + CATEGORIES
_FIELD_SET = frozenset(FIELDS)

_FENCE_RE = re.compile(
    r"^[ \t]*(?:```|~~~)[`~]*[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)(?:```|~~~|\Z)",
    re.M | re.S,
)
_FENCE_TAGS = frozenset({"", "yaml", "yml", "json", "jsonc"})
_START_RE = re.compile(
    r"^(?:title|description|functional_requirements|non_functional_requirements|constraints)"
    r"[ \t]*:|^[{]",
    re.M,
)
# A column-0 line that can continue a block YAML document: key, sequence entry, comment,
# document marker, closing bracket.
_YAML_LINE_RE = re.compile(r"[A-Za-z_\"'][^:\n]*:(?:[ \t]|$)|-(?:[ \t]|$)|#|---|\.\.\.|[\]}]")


def _decode_category(value: Any) -> Any:
    """A category string holding YAML of a list becomes that list; anything else is kept."""
    if isinstance(value, str) and value.strip():
        try:
            decoded = load_yaml(value)
        except ParseError:
            return value
        if isinstance(decoded, list):
            return decoded
    return value


def _has_fields(data: Any) -> bool:
    return isinstance(data, Mapping) and not _FIELD_SET.isdisjoint(data)


def _unwrap(data: Any) -> Any:
    """``{"document": {title: ...}}`` (one key wrapping a document) -> the inner mapping."""
    if isinstance(data, Mapping) and len(data) == 1 and _FIELD_SET.isdisjoint(data):
        (inner,) = data.values()
        if _has_fields(inner):
            return inner
    return data


def document_from_fields(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Build a document from a mapping whose categories are lists or YAML strings.

    Keeps only the five document fields (in canonical order); ``concept`` and any other key
    are ignored. Category strings holding YAML of a list are decoded into lists.
    """
    if not isinstance(mapping, Mapping):
        raise ParseError(f"expected a mapping, got {type(mapping).__name__}")
    doc: dict[str, Any] = {}
    for key in FIELDS:
        if key in mapping:
            value = mapping[key]
            doc[key] = _decode_category(value) if key in CATEGORIES else value
    return doc


def _strip_chatter(text: str) -> str:
    # Trailing white space is kept: it can be part of a final block scalar ("|+").
    if text.startswith("\ufeff"):
        text = text[1:]
    head = text.lstrip()
    if head.startswith("<think>"):  # reasoning models: drop the leading thinking block
        end = head.find("</think>")
        text = head[end + len("</think>") :] if end >= 0 else ""
    return text


def _candidates(text: str):
    """Texts that may hold the document, best first (generator: later ones cost more)."""
    yield text
    if "```" in text or "~~~" in text:
        for match in _FENCE_RE.finditer(text):
            if match.group(1).lower() in _FENCE_TAGS:
                yield match.group(2)
    start = _START_RE.search(text)
    if start is not None:
        lines = text[start.start() :].split("\n")
        end = len(lines)
        for i in range(1, len(lines)):
            line = lines[i]
            if line and not line[0].isspace() and not _YAML_LINE_RE.match(line):
                end = i
                break
        if start.start() > 0 or end < len(lines):
            yield "\n".join(lines[:end])


def _load_candidate(text: str) -> Any:
    if text.lstrip()[:1] in ("{", "["):
        data = load_json(text)
        if data is not None:
            return data
    return load_yaml(text)


def parse(text: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    """Parse raw model output (YAML, JSON, fenced block with chatter, dataset-v2 form).

    ``bytes`` are decoded as UTF-8 with ``errors="replace"``; a mapping goes through
    ``document_from_fields``. Returns the document dict; raises ``ParseError`` (a
    ``ValueError``) when no document can be found. Never raises anything else for str/bytes.
    """
    if isinstance(text, Mapping):
        doc = document_from_fields(_unwrap(text))
        if not doc:
            raise ParseError("no document fields (title, description, ...) found")
        return doc
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise ParseError(f"expected text, bytes or a mapping, got {type(text).__name__}")
    if len(text) > MAX_INPUT_CHARS:
        raise ParseError(f"input too large ({len(text)} characters > {MAX_INPUT_CHARS})")
    text = _strip_chatter(text)
    if not text or text.isspace():
        raise ParseError("empty input")
    first_error: ParseError | None = None
    found: Any = None
    for candidate in _candidates(text):
        try:
            data = _unwrap(_load_candidate(candidate))
        except ParseError as exc:
            first_error = first_error or exc
            continue
        if _has_fields(data):
            return document_from_fields(data)
        if found is None:
            found = data
    if isinstance(found, dict):
        raise ParseError("no document fields (title, description, ...) found")
    if first_error is not None:
        raise first_error
    kind = "nothing" if found is None else f"a {type(found).__name__}"
    raise ParseError(f"expected a YAML mapping, found {kind}")
