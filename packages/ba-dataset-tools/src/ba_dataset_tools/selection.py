"""``filter`` by score and ``split`` into train/val without concept leakage."""

from __future__ import annotations

import json
import math
import os
import random
from dataclasses import dataclass
from typing import Any

from ba_io import DataError, UsageError, atomic_write, distinct_paths, output_group, reject_record

from .rows import iter_lines, normalise_concept

__all__ = ["FilterResult", "SplitResult", "filter_file", "row_content", "row_score", "split_file"]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def row_score(row: dict[str, Any]) -> float | None:
    """The row's ``score`` as a number (a ``{"total": x}`` mapping also counts), or None."""
    value = row.get("score")
    if isinstance(value, dict):
        value = value.get("total")
    return _number(value)


def row_content(row: dict[str, Any]) -> float | None:
    """The row's ``content`` score (``ba-metric score`` writes it; a ``{"content": x}``
    mapping under ``score`` also counts), or None."""
    value = row.get("content")
    if value is None and isinstance(row.get("score"), dict):
        value = row["score"].get("content")
    return _number(value)


def _write_lines(path: str | os.PathLike[str], lines: list[str]) -> None:
    with atomic_write(path) as f:
        f.writelines(text + "\n" for text in lines)


@dataclass(frozen=True)
class FilterResult:
    """``rows`` read = ``kept`` + ``rejected`` (``below`` of them under a threshold)."""

    rows: int
    kept: int
    rejected: int
    below: int


def _below(row: dict[str, Any], min_score: float | None, min_content: float | None) -> tuple[str | None, bool]:
    """(reject reason, whether it is a threshold miss) for one parsed row."""
    for name, threshold, get in (("score", min_score, row_score), ("content", min_content, row_content)):
        if threshold is None:
            continue
        value = get(row)
        if value is None:
            return f"no {name}: run `ba-metric score` first", False
        if value < threshold:
            return f"{name} {value:g} < {threshold:g}", True
    return None, False


def filter_file(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    rejects: str | os.PathLike[str],
    min_score: float | None = None,
    min_content: float | None = None,
) -> FilterResult:
    """Keep rows with ``score >= min_score`` and ``content >= min_content`` (each test only
    when its threshold is given); the rest go to ``rejects`` with the reason.

    Rows without the needed numbers and unreadable lines are rejected too. Kept rows are
    written unchanged (same JSON text) and in input order.
    """
    if min_score is None and min_content is None:
        raise UsageError("give --min-score, --min-content or both")
    for name, value in (("--min-score", min_score), ("--min-content", min_content)):
        if value is not None and not 0 <= value <= 1:
            raise UsageError(f"{name} must be in [0, 1], got {value}")
    distinct_paths(("the input", path), ("-o", out), ("--rejects", rejects))
    kept: list[str] = []
    bad: list[str] = []
    rows = below = 0
    for line in iter_lines(path):
        rows += 1
        reason = line.error
        if line.row is not None:
            reason, missed = _below(line.row, min_score, min_content)
            below += missed
            if reason is None:
                kept.append(line.raw)
        if reason is not None:
            bad.append(json.dumps(reject_record(line.number, reason, line.raw), ensure_ascii=False))
    with output_group():  # both files or neither
        _write_lines(out, kept)
        _write_lines(rejects, bad)
    return FilterResult(rows=rows, kept=len(kept), rejected=len(bad), below=below)


@dataclass(frozen=True)
class SplitResult:
    """Row and distinct-concept counts of each side."""

    train: int
    val: int
    train_concepts: int
    val_concepts: int


def split_file(
    path: str | os.PathLike[str],
    train_out: str | os.PathLike[str],
    val_out: str | os.PathLike[str],
    *,
    val_ratio: float = 0.1,
    seed: int = 42,
) -> SplitResult:
    """Split rows into train and val by concept: rows with the same (normalised) concept
    text always land on the same side. Deterministic for ``seed``; both files keep the
    input order. Val gets about ``val_ratio`` of the rows, and at least one row whenever
    there are two or more rows (and at least two distinct concepts).

    Raises:
        UsageError: ``val_ratio`` outside (0, 1), or output paths that collide.
        DataError: an unreadable line, a row without a string ``concept``, or two or more
            rows that all share one concept (no leak-free split exists).
    """
    if not 0 < val_ratio < 1:
        raise UsageError(f"--val-ratio must be between 0 and 1 (exclusive), got {val_ratio}")
    distinct_paths(("the input", path), ("--train-out", train_out), ("--val-out", val_out))
    lines: list[tuple[str, str]] = []
    groups: dict[str, int] = {}
    for line in iter_lines(path):
        if line.row is None:
            raise DataError(path, line.number, line.error or "unreadable line")
        concept = line.row.get("concept")
        if not isinstance(concept, str) or not concept.strip():
            raise DataError(path, line.number, "concept: missing or not a string")
        key = normalise_concept(concept)
        groups[key] = groups.get(key, 0) + 1
        lines.append((key, line.raw))
    n = len(lines)
    val_keys: set[str] = set()
    if n >= 2:
        if len(groups) < 2:
            raise DataError(path, None, f"all {n} rows share one concept; a split without leakage is impossible")
        target = max(1, round(n * val_ratio))
        order = sorted(groups)  # a fixed order before shuffling: independent of input order
        random.Random(seed).shuffle(order)
        val_rows = 0
        for key in order:
            if val_rows >= target or len(val_keys) == len(groups) - 1:
                break
            val_keys.add(key)
            val_rows += groups[key]
    train = [raw for key, raw in lines if key not in val_keys]
    val = [raw for key, raw in lines if key in val_keys]
    with output_group():  # both splits or neither
        _write_lines(train_out, train)
        _write_lines(val_out, val)
    return SplitResult(
        train=len(train), val=len(val), train_concepts=len(groups) - len(val_keys), val_concepts=len(val_keys)
    )
