"""One progress-bar style for every package."""

from __future__ import annotations

import os
import sys
from typing import Iterable

from tqdm import tqdm


def progress(iterable: Iterable | None = None, *, total: int | float | None = None,
             desc: str | None = None, unit: str = "it") -> tqdm:
    """A tqdm bar on stderr, refreshed at most once a second.

    Disabled when the environment has ``BA_NO_PROGRESS=1``. Use it as an iterable
    wrapper or, without ``iterable``, as a context manager with ``.update(n)``.
    """
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr,
                mininterval=1.0, dynamic_ncols=True,
                disable=os.environ.get("BA_NO_PROGRESS") == "1")
