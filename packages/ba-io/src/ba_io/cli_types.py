"""The argparse pieces shared by the ba-* command lines: ``ArgumentParser`` (one-line
errors) and small ``type=`` converters."""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["ArgumentParser", "positive_int", "non_negative_int", "int_between", "fraction"]


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the project's error form: one ``Error: ...`` line naming ``--help``
    (exit 2) instead of the whole usage block. Sub-command parsers inherit it."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"Error: {self.prog}: {message} (see {self.prog} --help)\n")


def int_between(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """``type=int_between(1, 1000)``: an integer in ``[minimum, maximum]`` (no upper bound
    when ``maximum`` is None); ``must be >= 1, got 0`` / ``must be at most 1,000, got 5000``."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,}, got {value}")
        return value

    return convert


_int_at_least = int_between


positive_int = _int_at_least(1)
positive_int.__name__ = positive_int.__qualname__ = "positive_int"
positive_int.__doc__ = """``type=positive_int``: an integer >= 1.

Raises:
    argparse.ArgumentTypeError: ``expected an integer, got 'x'`` or ``must be >= 1, got 0``
        (argparse prints it as ``argument --n: must be >= 1, got 0``, exit 2).
"""

non_negative_int = _int_at_least(0)
non_negative_int.__name__ = non_negative_int.__qualname__ = "non_negative_int"
non_negative_int.__doc__ = "``type=non_negative_int``: an integer >= 0 (messages as :func:`positive_int`)."


def fraction(text: str) -> float:
    """``type=fraction``: a number between 0 and 1 (a threshold, a tolerance, a share).

    Raises:
        argparse.ArgumentTypeError: ``expected a number, got 'x'`` or ``must be between 0 and
            1, got 2`` (NaN is outside too).
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value
