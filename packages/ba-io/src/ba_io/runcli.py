"""The shared CLI error mapping (every package's CLI except ba-metric).

Each package's ``cli.py`` ends with::

    def main(argv=None):
        sys.exit(run_cli(_main, argv))

where ``_main(argv)`` parses ``argv`` with argparse (declare a ``--debug`` flag so
argparse accepts it) and returns an exit code (or None for 0).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import threading
from collections.abc import Callable, Sequence

from .errors import DataError, UsageError, one_line
from .paths import command_scope
from .startup import debug_requested

#: OSErrors that the user fixes (permissions, a read-only file system, a full disk): exit 2
_USER_FIXES = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.ENAMETOOLONG}
)


def _thread_error_line(hook: threading.ExceptHookArgs) -> None:
    """A library's thread that fails (TensorBoard's log writer when ``runs/`` is removed mid-run:
    campaign 34) says so in one line, not a traceback; the command goes on or fails by its own
    rule. ``--debug`` keeps Python's traceback."""
    if hook.exc_type is SystemExit:
        return
    name = getattr(hook.thread, "name", "a thread")
    _tell(one_line(f"warning: {name}: {hook.exc_type.__name__}: {hook.exc_value} (run with --debug for the traceback)"))


def run_cli(main_func: Callable[[list[str]], int | None], argv: Sequence[str] | None = None) -> int:
    """Call ``main_func(argv)`` and map exceptions to one stderr line and an exit code.

    DataError -> ``Error: <path:line: what>``, 1; UsageError -> ``Error: <msg>``, 2; an OSError
    the user fixes (permission, read-only file system, full disk) -> ``Error: PATH: what``, 2;
    KeyboardInterrupt -> ``Interrupted.``, 130; a closed stdout (``| head``) changes nothing: the
    rest of the output is dropped quietly and the command exits as it would have; anything else ->
    ``Error: <Type>: <msg> (run with --debug for the traceback)``, 1.
    With ``--debug`` in argv (or ``BA_DEBUG=1``) exceptions are re-raised.
    ``SystemExit`` (argparse) becomes its exit code.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = debug_requested(args)
    earlier_hook = threading.excepthook
    if not debug:
        threading.excepthook = _thread_error_line
    try:
        with command_scope():  # what this command registers about its paths is its own
            return _run(main_func, args, debug)
    finally:
        threading.excepthook = earlier_hook


def _run(main_func: Callable[[list[str]], int | None], args: list[str], debug: bool) -> int:
    stdout = sys.stdout
    sys.stdout = _ClosedPipeSafe(stdout)
    try:
        rc = main_func(args)
        sys.stdout.flush()  # inside the try: a full disk under `> FILE` is an error, not exit 0
        return 0 if rc is None else int(rc)
    except SystemExit as e:
        if e.code is None:
            return 0
        if isinstance(e.code, int):
            return e.code
        _tell(e.code)
        return 1
    except BrokenPipeError:  # a write that bypassed the wrapper: the verdict is unknown
        _to_devnull(stdout)
        return 0
    except KeyboardInterrupt:
        if debug:
            raise
        _tell("Interrupted.")
        return 130
    except DataError as e:
        if debug:
            raise
        _tell(one_line(f"{'' if e.reported else 'Error: '}{e}"))
        return 1
    except UsageError as e:
        if debug:
            raise
        _tell(one_line(f"{'' if e.reported else 'Error: '}{e}"))
        return 2
    except OSError as e:
        if debug:
            raise
        if e.errno in _USER_FIXES:  # the user's to fix (a read-only folder, a full disk): a usage error
            where = f"{e.filename}: " if e.filename else ""
            _tell(one_line(f"Error: {where}{e.strerror or e} (nothing was written there)"))
            return 2
        _tell(one_line(f"Error: {type(e).__name__}: {e} (run with --debug for the traceback)"))
        return 1
    except Exception as e:  # noqa: BLE001 - the point of this function
        if debug:
            raise
        msg = str(e)
        what = f"{type(e).__name__}: {msg}" if msg else type(e).__name__
        _tell(one_line(f"Error: {what} (run with --debug for the traceback)"))
        return 1
    finally:
        wrapped = sys.stdout
        if isinstance(wrapped, _ClosedPipeSafe):
            with contextlib.suppress(UsageError):  # the command failed already: its error is the one to show
                wrapped.flush()  # now, through the wrapper: a reader gone since the last write is no error at exit
        sys.stdout = stdout


def _tell(line: object) -> None:
    """Print the error line; a stderr that cannot take it (`2>/dev/full`) does not change
    the exit code (campaign 27: a usage error exited 1)."""
    try:
        print(line, file=sys.stderr)
        sys.stderr.flush()
    except (OSError, ValueError):  # what stays buffered goes nowhere: the flush at exit must not fail (exit 120)
        _to_devnull(sys.stderr)


def _to_devnull(stream: object) -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())  # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError):
        pass


class _ClosedPipeSafe:
    """stdout for a command: when the reader closes the pipe (``| head``), the rest of the
    output goes to /dev/null and the command runs on, so its exit code still says whether
    it succeeded (``validate ... | head -1`` must still exit 1 on a bad row)."""

    def __init__(self, stream: object) -> None:
        self._stream = stream
        # `>&-`: Python's sys.stdout is None (campaign 26: a traceback, exit 120); a closed
        # stdout is a reader gone from the start
        self._closed = stream is None

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                _write_all(self._stream, text)
            except BrokenPipeError:
                self._closed = True
                _to_devnull(self._stream)
            except OSError as e:
                raise self._failed(e) from None
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()  # type: ignore[attr-defined]
            except BrokenPipeError:
                self._closed = True
                _to_devnull(self._stream)
            except OSError as e:
                raise self._failed(e) from None

    def _failed(self, e: OSError) -> UsageError:
        """The error for a write stdout refused (a full disk); what stays buffered goes to
        /dev/null, so the interpreter's flush at exit does not fail again."""
        self._closed = True
        _to_devnull(self._stream)
        return UsageError(f"cannot write to standard output: {e.strerror or e}; what was written there is incomplete")

    def isatty(self) -> bool:
        return not self._closed and bool(self._stream.isatty())  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        if self._stream is None:
            raise AttributeError(f"standard output is closed: it has no {name}")
        return getattr(self._stream, name)


def _write_all(stream: object, text: str) -> None:
    """Write ``text`` whole. An unbuffered stdout (``PYTHONUNBUFFERED=1``: a text layer over a
    raw file) drops what a short write leaves over (campaign 25: `score > FILE` on a full disk
    kept 418 of 1,050 rows and exited 0), so the bytes go to the binary layer until all are
    taken; a full disk then raises instead of ending the output early."""
    buf = getattr(stream, "buffer", None)
    if buf is None or not isinstance(getattr(stream, "encoding", None), str):
        stream.write(text)  # type: ignore[attr-defined]
        return
    stream.flush()  # type: ignore[attr-defined]  # what the text layer holds goes first
    # UTF-8 whatever the locale says (campaign 26: PYTHONIOENCODING=ascii failed on accents):
    # what the commands print is JSON Lines or lines naming files, UTF-8 like every file here
    view = memoryview(text.encode("utf-8", errors=getattr(stream, "errors", None) or "strict"))
    while view:
        n = buf.write(view)
        if n is None:  # a non-blocking stdout that is full: wait for the reader
            import select

            select.select([], [buf], [])
            continue
        view = view[n:]
    if getattr(stream, "line_buffering", False) or getattr(stream, "write_through", False):
        buf.flush()
