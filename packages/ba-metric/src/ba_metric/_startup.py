"""Ctrl-C while ``ba-metric`` is still importing: ``Interrupted.``, not a traceback.

``cli.main`` maps KeyboardInterrupt to one line once it runs; this hook covers the imports before
it (yaml and the metric's modules). It acts only in the ``ba-metric`` console script and not with
``--debug`` / ``BA_DEBUG=1``, so a program importing ba_metric keeps Python's traceback. (ba-io has
the same hook for the other tools; ba-metric imports no ``ba_*`` package.)
"""

import os
import sys

# only what the interpreter has already loaded: a Ctrl-C while this module imports is not hooked yet
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType


def quiet_interrupt_at_start() -> None:
    """Make an uncaught Ctrl-C print ``Interrupted.`` in the ``ba-metric`` script (idempotent)."""
    earlier = sys.excepthook
    argv = getattr(sys, "argv", None) or [""]
    if getattr(earlier, "_ba_quiet_interrupt", False) or os.path.basename(argv[0]) != "ba-metric":
        return

    def hook(kind: type[BaseException], value: BaseException, tb: "TracebackType | None") -> None:
        debug = "--debug" in sys.argv[1:] or os.environ.get("BA_DEBUG") == "1"
        if issubclass(kind, KeyboardInterrupt) and not debug:
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
