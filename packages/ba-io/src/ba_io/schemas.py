"""Packaged JSON Schemas (2020-12) and fast, cached validation."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .errors import UsageError

_SUFFIX = ".schema.json"


@lru_cache(maxsize=1)
def _all_schemas() -> dict[str, dict]:
    out: dict[str, dict] = {}
    folder = resources.files("ba_io") / "schemas"
    for entry in folder.iterdir():
        if entry.name.endswith(_SUFFIX):
            out[entry.name[: -len(_SUFFIX)]] = json.loads(entry.read_text(encoding="utf-8"))
    return dict(sorted(out.items()))


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resources_ = []
    for schema in _all_schemas().values():
        res = Resource.from_contents(schema, default_specification=DRAFT202012)
        resources_.append((schema["$id"], res))
    return Registry().with_resources(resources_).crawl()


def schema_names() -> list[str]:
    """Names of the packaged schemas (file stems without ``.schema.json``), sorted."""
    return list(_all_schemas())


def _get(name: str) -> dict:
    schemas = _all_schemas()
    if not isinstance(name, str) or name not in schemas:
        raise UsageError(f"unknown schema {name!r}; known schemas: {', '.join(schemas)}")
    return schemas[name]


def load_schema(name: str) -> dict:
    """The schema ``name`` as a dict (a fresh copy; safe to modify)."""
    return copy.deepcopy(_get(name))


def _validator(name: str) -> Draft202012Validator:
    if not isinstance(name, str):
        _get(name)  # raises UsageError (an unhashable name would break the cache)
    return _cached_validator(name)


@cache
def _cached_validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(_get(name), registry=_registry())


@dataclass(frozen=True)
class ValidationIssue:
    """One schema violation: ``path`` like ``functional_requirements -> 2 -> id`` or ``(root)``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def format_path(parts: Iterable[Any]) -> str:
    parts = list(parts)
    return " -> ".join(str(p) for p in parts) if parts else "(root)"


def _sort_key(err: ValidationError):
    return (
        tuple((0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in err.absolute_path),
        err.message,
    )


def validate(obj: Any, schema: str) -> list[ValidationIssue]:
    """Validate ``obj`` against the named schema; ``[]`` when valid.

    Issues are sorted by JSON path (array indices numerically), then message.
    """
    validator = _validator(schema)
    errors = sorted(validator.iter_errors(obj), key=_sort_key)
    return [ValidationIssue(format_path(e.absolute_path), e.message) for e in errors]


def first_issue(obj: Any, schema: str) -> ValidationIssue | None:
    """The first issue (in ``validate`` order) or ``None``; fast path for valid objects."""
    validator = _validator(schema)
    if validator.is_valid(obj):
        return None
    issues = validate(obj, schema)
    return issues[0] if issues else None
