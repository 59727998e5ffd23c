"""Error types used by ba-llm.

They are ba-io's exception classes (so ``ba_io.run_cli`` maps them to exit codes);
a stand-in hierarchy is used only while ba-io is not installed.
"""
from __future__ import annotations

try:  # pragma: no cover - the branch depends on the environment
    from ba_io import BaError, DataError, UsageError
except ImportError:  # pragma: no cover
    class BaError(Exception):
        """Base class of ba-* errors."""

    class DataError(BaError):
        """A problem with an input file or artifact (exit 1)."""

    class UsageError(BaError):
        """A problem with how the tool was called (exit 2)."""

__all__ = ["BaError", "DataError", "UsageError"]
