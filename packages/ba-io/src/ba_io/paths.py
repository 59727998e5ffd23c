"""The one rule for a command's file arguments: no output is one of its inputs, and no two
outputs are one file.

``distinct_paths(("the input", src), ("-o", out), ("--rejects", rej))`` raises
:class:`UsageError` (exit 2) naming the two arguments that point at one file, before
anything is read or written. Two paths are one file when they resolve to the same real
path (symbolic links, ``..``) or, for files that exist, share device and inode (hard links).
"""
from __future__ import annotations

import os
from typing import Sequence, Tuple, Union

from .errors import UsageError

__all__ = ["distinct_paths"]

PathArg = Union[str, "os.PathLike[str]", None]


def _key(path: PathArg) -> tuple:
    real = os.path.realpath(os.fspath(path))  # type: ignore[arg-type]
    try:
        st = os.stat(real)
    except OSError:
        return ("path", real)
    return ("inode", st.st_dev, st.st_ino)


def distinct_paths(*named: Tuple[str, PathArg]) -> None:
    """Refuse any two of ``(label, path)`` that are one file; ``None`` paths are skipped."""
    seen: dict[tuple, Tuple[str, PathArg]] = {}
    for label, path in named:
        if path is None:
            continue
        key = _key(path)
        if key in seen:
            other, other_path = seen[key]
            same = f"{other_path}" if os.fspath(other_path) == os.fspath(path) else f"{other_path} and {path}"
            raise UsageError(f"{other} and {label} are the same file ({same}); nothing was written: "
                             f"give {label} a path of its own")
        seen[key] = (label, path)
