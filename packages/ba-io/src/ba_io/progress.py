"""One progress-bar style for every package."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

if os.environ.get("BA_NO_PROGRESS") == "1":
    # the libraries' own bars too (transformers' "Loading weights", huggingface_hub): tqdm
    # takes TQDM_* variables as the defaults of every bar, read when tqdm is first imported
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from tqdm import tqdm  # noqa: E402 - after the environment above


def progress(
    iterable: Iterable | None = None, *, total: int | float | None = None, desc: str | None = None, unit: str = "it"
) -> tqdm:
    """A tqdm bar on stderr, refreshed at most once a second.

    Disabled when the environment has ``BA_NO_PROGRESS=1`` (which, once ``ba_io`` is
    imported, also turns off the bars of tqdm-based libraries). Use it as an iterable
    wrapper or, without ``iterable``, as a context manager with ``.update(n)``.
    """
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        mininterval=1.0,
        dynamic_ncols=True,
        disable=os.environ.get("BA_NO_PROGRESS") == "1",
    )
