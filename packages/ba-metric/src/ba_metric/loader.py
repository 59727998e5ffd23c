"""Safe, bounded and fast YAML loading.

``load_yaml`` gives the same values as ``yaml.load(text, Loader=yaml.CSafeLoader)`` (the
pure-Python ``SafeLoader`` without libyaml) but builds plain strings, lists and dicts from
the composed node graph directly, handing every other tag (int, float, bool, null,
timestamps, binary, sets, ...) to the loader's own ``SafeConstructor``. While
building it rejects

* input over ``MAX_INPUT_CHARS`` characters (before parsing);
* a list or mapping node reached twice (a YAML alias: the "billion laughs" shape, cycles),
  so no alias of one is ever expanded;
* strings that add up to more than ``MAX_INPUT_CHARS`` characters: only aliases of a
  string can make them longer than the input (campaign 25: a 110 KB string aliased 2,500
  times, 275 MB of text for the rules, took 18-31 s);
* nesting deeper than ``MAX_DEPTH`` (libyaml itself stops at 1000 levels);
* merge keys (``<<: *base``): SafeConstructor expands chained merges in quadratic time,
  and a requirements document has no use for them.

Every failure is a ``ParseError``; nothing else escapes for any ``str``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

__all__ = ["MAX_DEPTH", "MAX_INPUT_CHARS", "ParseError", "check_tree", "load_json", "load_yaml"]

MAX_INPUT_CHARS = 262_144  # 256 Ki characters; model outputs are a few KB
MAX_DEPTH = 64  # a document needs 4 levels

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"
_ERRORS = (yaml.YAMLError, RecursionError, ValueError, TypeError, OverflowError)


class ParseError(ValueError):
    """The input holds no requirements document; ``str(err)`` says why."""


try:
    _Base: Any = yaml.CSafeLoader
    _PURE_PYTHON = False
except AttributeError:  # pragma: no cover - libyaml missing
    _Base = yaml.SafeLoader
    _PURE_PYTHON = True
_BRACKETS_RE = re.compile(r"[\[\]{}]")


# Implicit scalar resolvers by first character (wildcard ones appended), as Resolver does.
_WILDCARD = list(_Base.yaml_implicit_resolvers.get(None, []))
_IMPLICIT = {
    first: tuple(resolvers) + tuple(_WILDCARD)
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
    if first is not None
}
_NO_RESOLVERS = tuple(_WILDCARD)
assert not _Base.yaml_path_resolvers, "the fast resolver assumes no path resolvers"


class _Loader(_Base):
    """The safe loader with a leaner ``resolve`` (same result: SafeLoader has no path
    resolvers, so the per-node path bookkeeping is skipped)."""

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in _IMPLICIT.get(value[:1], _NO_RESOLVERS):
                    if regexp.match(value):
                        return tag
            return _STR
        return _SEQ if kind is SequenceNode else _MAP


def _short(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nesting too deep"
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__


def check_tree(data: Any) -> None:
    """Reject shared/cyclic lists or dicts and nesting over ``MAX_DEPTH``, iteratively."""
    if not isinstance(data, (dict, list)):
        return
    seen: set[int] = set()
    stack = [(data, 1)]
    while stack:
        obj, depth = stack.pop()
        if id(obj) in seen:
            raise ParseError("YAML aliases of lists or mappings are not allowed")
        seen.add(id(obj))
        if depth > MAX_DEPTH:
            raise ParseError(f"nesting deeper than {MAX_DEPTH} levels")
        for child in obj.values() if isinstance(obj, dict) else obj:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))


def _build(loader: Any, root: Any) -> Any:
    seen: set[int] = set()
    chars = [0]  # characters of every string built, aliases counted each time they are used
    construct = loader.construct_object

    def fallback(node: Any) -> Any:
        data = construct(node, deep=True)
        check_tree(data)
        return data

    def build(node: Any, depth: int) -> Any:
        cls = node.__class__
        if cls is ScalarNode:
            if node.tag != _STR:
                return fallback(node)
            chars[0] += len(node.value)
            if chars[0] > MAX_INPUT_CHARS:
                raise ParseError(f"YAML aliases expand the document past {MAX_INPUT_CHARS} characters")
            return node.value
        if depth > MAX_DEPTH:
            raise ParseError(f"nesting deeper than {MAX_DEPTH} levels")
        key = id(node)
        if key in seen:
            raise ParseError("YAML aliases of lists or mappings are not allowed")
        seen.add(key)
        depth += 1
        if cls is SequenceNode and node.tag == _SEQ:
            return [build(child, depth) for child in node.value]
        if cls is MappingNode and node.tag == _MAP:
            out = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE:  # expanding chained merges is quadratic (7,000: 15 s)
                    raise ParseError("YAML merge keys (<<) are not allowed")
                out[build(key_node, depth)] = build(value_node, depth)
            return out
        return fallback(node)

    return build(root, 1)


def _check_flow_depth(text: str) -> None:
    """Pure-Python parser only (libyaml has its own limit): refuse deep flow nesting before
    the recursive parser spends seconds on it. Brackets inside quotes count too (safe side)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for char in _BRACKETS_RE.findall(text):
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ParseError(f"nesting deeper than {MAX_DEPTH} levels")
        elif depth:
            depth -= 1


def load_yaml(text: str) -> Any:
    """Load one YAML (or JSON) value safely and fast; raise ``ParseError`` on any problem."""
    if len(text) > MAX_INPUT_CHARS:
        raise ParseError(f"input too large ({len(text)} characters > {MAX_INPUT_CHARS})")
    if _PURE_PYTHON:  # pragma: no cover - libyaml missing
        _check_flow_depth(text)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            return None if node is None else _build(loader, node)
        finally:
            loader.dispose()
    except ParseError:
        raise
    except _ERRORS as exc:
        raise ParseError(f"invalid YAML: {_short(exc)}") from None


def load_json(text: str) -> Any:
    """``json.loads`` bounded like ``load_yaml``; None when the text is not valid JSON."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    check_tree(data)
    return data
