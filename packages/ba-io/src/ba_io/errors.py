"""Exception types shared by every ba-* package.

``DataError`` is a problem in an input/output *file* (exit code 1 in a CLI),
``UsageError`` is a problem with how the program was called: bad arguments, a
missing input file, an unknown schema name (exit code 2).
"""

from __future__ import annotations

import os


class BaError(Exception):
    """Base class of every error a ba-* library raises on purpose.

    ``reported`` (default False): a child process already printed this failure's one
    ``Error:`` line, so ``run_cli`` prints this message as context, without ``Error:``."""

    reported = False


class DataError(BaError):
    """A bad row or document in a file.

    ``str(e)`` is ``"path:line: message"`` (or ``"path: message"`` when the line
    is unknown, e.g. a schema error in a whole JSON document).
    """

    def __init__(self, path: str | os.PathLike[str], line: int | None, message: str) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.message = message
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"

    def __reduce__(self):  # keep picklable (multiprocessing) despite the custom __init__
        return (type(self), (self.path, self.line, self.message))


class UsageError(BaError):
    """Bad arguments or a missing input; ``str(e)`` is the message."""


def one_line(text: str) -> str:
    """The ``Error:`` line as one line: a character that is not printable (a newline or a
    carriage return in a path the user gave, an escape sequence) is written as its Python
    escape (``\\n``), so a message can never forge a second line (campaign 17: a newline in
    a path was printed raw)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


#: the only characters JSON allows between tokens (RFC 8259): a line of nothing else is
#: blank; any other line (``\x0b``, ``\x1c``, U+00A0, U+2028, which ``str.strip`` removes
#: too) is a row or a reject (campaign 18: such lines were skipped as blank)
JSON_WHITESPACE = " \t\r\n"
