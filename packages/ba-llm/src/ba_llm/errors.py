"""Error types used by ba-llm: ba-io's, plus :class:`BackendError`.

``DataError(path, line, message)`` is a bad file (exit 1 in a CLI); ``UsageError`` a bad
call or a missing input (exit 2). :class:`BackendError` is a ``UsageError`` for a model
that cannot be reached or loaded (server down, model not pulled, files missing, adapter
for another base): its message says what to do.
"""

from __future__ import annotations

from ba_io import BaError, DataError, UsageError


class BackendError(UsageError):
    """A model backend cannot serve the request; the message says what to do."""


__all__ = ["BaError", "DataError", "UsageError", "BackendError"]
