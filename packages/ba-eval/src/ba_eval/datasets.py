"""Evaluation inputs: concept files, the packaged curated set, prediction files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from ba_io import DataError, UsageError, iter_jsonl

__all__ = [
    "CURATED",
    "curated_path",
    "resolve_dataset",
    "load_concepts",
    "PredictionFile",
]

#: the name that ``--dataset`` / ``--in`` resolve to the packaged curated set
CURATED = "curated"


def curated_path() -> Path:
    """Path of the packaged curated evaluation set (``ba_eval/data/curated.jsonl``).

    Raises:
        UsageError: when the package was installed without its data file.
    """
    ref = resources.files("ba_eval") / "data" / "curated.jsonl"
    path = Path(str(ref))  # a plain file in wheel and editable installs
    if not path.is_file():
        raise UsageError(f"the packaged curated set is missing ({path}); reinstall ba-eval")
    return path


def resolve_dataset(name: str | os.PathLike[str]) -> Path:
    """``"curated"`` -> the packaged file; anything else is a path, returned as is."""
    if os.fspath(name) == CURATED:
        return curated_path()
    return Path(name)


def load_concepts(path: str | os.PathLike[str], limit: int | None = None) -> list[dict]:
    """``{"id", "concept"}`` for each row of a concept / example file, in file order.

    Rows need a non-empty string ``id`` and ``concept`` (concept rows, v1 or v2 example
    rows all qualify); other fields are ignored.

    Args:
        path: a JSONL file or ``"curated"``.
        limit: keep the first ``limit`` rows (None: all).

    Raises:
        DataError: ``path:line: ...`` for a row without id/concept or a repeated id.
        UsageError: a missing file or a bad ``limit``.
    """
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be >= 1, got {limit}")
    p = resolve_dataset(path)
    out: list[dict] = []
    seen: dict[str, int] = {}
    for line, row in iter_jsonl(p):
        for key in ("id", "concept"):
            value = row.get(key)
            if not isinstance(value, str) or not value.strip():
                raise DataError(p, line, f"{key}: a non-empty string is required")
        if row["id"] in seen:
            raise DataError(p, line, f"id {row['id']!r} repeats line {seen[row['id']]}")
        seen[row["id"]] = line
        out.append({"id": row["id"], "concept": row["concept"]})
        if limit is not None and len(out) >= limit:
            break
    if not out:
        raise DataError(p, None, "no rows")
    return out


class PredictionFile:
    """A validated prediction file grouped by example: ``examples[id][run] = row``.

    Attributes:
        path: the file.
        rows: every row in file order.
        order: example ids in order of first appearance.
        runs: the run indices present anywhere in the file, sorted.
        models: the distinct ``model`` specs in the file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.rows: list[dict] = []
        self.examples: dict[str, dict[int, dict]] = {}
        where: dict[tuple[str, int], int] = {}
        concepts: dict[str, str] = {}
        for line, row in iter_jsonl(self.path, "prediction"):
            key = (row["id"], row["run"])
            if key in where:
                raise DataError(
                    self.path,
                    line,
                    f"duplicate prediction for id {row['id']!r} run {row['run']} (first on line {where[key]})",
                )
            if concepts.setdefault(row["id"], row["concept"]) != row["concept"]:
                raise DataError(self.path, line, f"id {row['id']!r} has a different concept than on its first line")
            where[key] = line
            self.rows.append(row)
            self.examples.setdefault(row["id"], {})[row["run"]] = row
        if not self.rows:
            raise DataError(self.path, None, "no predictions")
        self.order = list(self.examples)
        self.runs = sorted({r["run"] for r in self.rows})
        self.models = sorted({r["model"] for r in self.rows})

    def complete_ids(self) -> list[str]:
        """Ids that have a row for every run in the file, in file order."""
        want = set(self.runs)
        return [i for i in self.order if set(self.examples[i]) == want]

    def iter_rows(self, ids: list[str]) -> Iterator[dict]:
        """Rows of ``ids`` (each id's runs in run order)."""
        for i in ids:
            for run in sorted(self.examples[i]):
                yield self.examples[i][run]
