"""Train/val examples for tuning: ``example-v2`` rows -> ``dspy.Example(concept -> document)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dspy

import ba_metric
from ba_io import DataError, UsageError, iter_jsonl
from ba_metric import document_from_fields, render

__all__ = ["load_examples", "example_from_row"]


CATEGORIES = ba_metric.CATEGORIES  # ba-metric owns the document format


def example_from_row(row: dict) -> dspy.Example:
    """One v2 row as an Example: ``concept`` input, ``document`` = canonical YAML (ba_metric.render).

    Raises ``ValueError`` when a category is not a YAML list of requirements.
    """
    doc = document_from_fields(row)
    for name in CATEGORIES:
        if not isinstance(doc.get(name), list):
            raise ValueError(f"{name} is not a YAML list of requirements")
    document = render(doc)
    return dspy.Example(id=row["id"], concept=row["concept"], document=document).with_inputs("concept")


def load_examples(path: str | Path, limit: int | None = None) -> list[dspy.Example]:
    """Read ``path`` (``example-v2`` JSONL, validated) and return the first ``limit`` rows as Examples.

    Every row is validated (and its document parsed); a bad row stops the run with ``DataError`` (``path:line: ...``); an empty file too.
    """
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{p}: file not found")
    if limit is not None and limit < 1:
        raise UsageError(f"limit must be at least 1 (got {limit})")
    examples: list[Any] = []
    for line, row in iter_jsonl(p, schema="example-v2"):
        try:
            example = example_from_row(row)
        except Exception as exc:  # noqa: BLE001 - ba_metric.ParseError and friends
            raise DataError(p, line, str(exc)) from None
        if limit is None or len(examples) < limit:
            examples.append(example)
    if not examples:
        raise DataError(p, None, "no examples")
    return examples
