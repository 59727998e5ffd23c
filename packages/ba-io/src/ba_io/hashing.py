"""SHA-256 helpers (dataset hashes in training/benchmark reports)."""

from __future__ import annotations

import hashlib
import os


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_text(s: str) -> str:
    """Hex SHA-256 of a string encoded as UTF-8."""
    return hashlib.sha256(s.encode("utf-8")).hexdigest()
