"""SHA-256 helpers (dataset hashes in training/benchmark reports)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_path(path: str | os.PathLike[str]) -> str:
    """:func:`sha256_file` of a file; of a folder (a ``save_to_disk`` dataset), the SHA-256 of
    its sorted ``relative/path<TAB>sha256`` lines over every file inside (dot-files too)."""
    p = Path(path)
    if not p.is_dir():
        return sha256_file(p)
    lines = sorted(f"{f.relative_to(p).as_posix()}\t{sha256_file(f)}\n" for f in p.rglob("*") if f.is_file())
    return sha256_text("".join(lines))


def sha256_text(s: str) -> str:
    """Hex SHA-256 of a string encoded as UTF-8."""
    return hashlib.sha256(s.encode("utf-8")).hexdigest()
