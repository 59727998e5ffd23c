"""Ctrl-C while a console script is still starting: one line, as ``run_cli`` promises.

``run_cli`` maps KeyboardInterrupt to ``Interrupted.`` once a command runs, but the first fraction
of a second of every console script is spent importing its package (numpy, jsonschema, torch), and
a Ctrl-C there printed Python's 20-40 line traceback (campaign 41). ``ba_io/__init__`` calls
:func:`quiet_interrupt_at_start` before it imports anything else, and every ``ba_*`` package imports
``ba_io`` before its heavy modules, so the hook is in place from the first import on.

Stdlib only. The hook acts only in the pipeline's own console scripts (``sys.argv[0]``) and not
with ``--debug`` / ``BA_DEBUG=1``: a program that imports ``ba_io`` as a library keeps Python's
traceback. The exit status is 130, as ``run_cli``'s.
"""

import os
import sys

# only what the interpreter has already loaded: a Ctrl-C while this module imports is not hooked yet
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

#: the pipeline's console scripts (one per package)
CONSOLE_SCRIPTS = frozenset(
    {"ba-io", "ba-llm", "ba-metric", "ba-datagen", "ba-dataset-tools", "ba-tune", "ba-lora", "ba-eval"}
)


def debug_requested(argv: "Sequence[str]") -> bool:
    """``--debug`` in the arguments or ``BA_DEBUG=1``: errors keep their traceback."""
    return "--debug" in argv or os.environ.get("BA_DEBUG") == "1"


def _console_script() -> bool:
    argv = getattr(sys, "argv", None) or [""]
    return os.path.basename(argv[0]) in CONSOLE_SCRIPTS


def quiet_interrupt_at_start() -> None:
    """Make an uncaught Ctrl-C print ``Interrupted.`` in a console script (idempotent)."""
    earlier = sys.excepthook
    if getattr(earlier, "_ba_quiet_interrupt", False) or not _console_script():
        return

    def hook(kind: type[BaseException], value: BaseException, tb: "TracebackType | None") -> None:
        if issubclass(kind, KeyboardInterrupt) and not debug_requested(sys.argv[1:]):
            sys.stderr.write("Interrupted.\n")
            _exit_130()
        earlier(kind, value, tb)

    hook._ba_quiet_interrupt = True  # type: ignore[attr-defined]
    sys.excepthook = hook


def _exit_130() -> None:
    """Exit 130 as the commands do on Ctrl-C (campaign 43: the process ended by SIGINT, a wait
    status of -2 where every command's contract is exit 130); nothing else runs here yet."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(130)
