"""``ba-metric`` command line: argument parsing and error mapping only (logic in report.py)."""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import traceback
from typing import Any

from . import __version__
from .report import DataError, UsageError, format_summary, read_jsonl, score_row, summarize, write_jsonl, write_stdout
from .score import DEFAULT_THRESHOLD

MAIN_EPILOG = """\
examples:
  ba-metric score predictions.jsonl -o scored.jsonl
  ba-metric score dataset.jsonl --concept-field concept | head -1
  ba-metric summary scored.jsonl
  ba-metric summary predictions.jsonl --json
"""
SCORE_EPILOG = """\
Which text is scored in each row: --field if given; else "text" (raw model output) if the
row has it; else "document"; else the row itself as document fields (title, description,
functional_requirements, ...; categories as lists or YAML strings).

Each output row is the input row plus "score" (0..1, the rubric total), "breakdown"
(points per rubric component), "grounding" (0..1, null without a concept), "content"
(0..1: what a business analyst sees, see the README's "Content score"), "defects" (codes
such as "duplicate:FR002,FR004") and "passed" (score >= threshold).

examples:
  ba-metric score predictions.jsonl -o scored.jsonl
  ba-metric score predictions.jsonl --field completion --threshold 0.8
  cat dataset.jsonl | ba-metric score - > scored.jsonl
"""
SUMMARY_EPILOG = """\
Rows that already carry "score" and "breakdown" are used as they are; other rows are
scored on the fly (same field rules as "ba-metric score"). A component passes when it
gets its full points. Also printed: mean and minimum content, and for each defect kind
the share of documents that have it.

examples:
  ba-metric summary scored.jsonl
  ba-metric summary predictions.jsonl --json > summary.json
"""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # no abbreviations: "--out A -o B" must not read --out as --output and keep B alone
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        ns, rest = super().parse_known_args(argv, namespace)
        words = argv[: argv.index("--")] if "--" in argv else argv
        for action in self._actions:  # the CLI contract (ba-io): a single-value option given once
            if type(action) is argparse._StoreAction and action.option_strings:
                given = [w for w in words for o in action.option_strings if w == o or w.startswith(o + "=")]
                if len(given) > 1:
                    self.error(f"give {'/'.join(action.option_strings)} once: a second value would replace the first")
        return ns, rest


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    common = _Parser(add_help=False)
    common.add_argument("input", metavar="IN.jsonl", help="JSONL file, one JSON object per line ('-' = stdin)")
    common.add_argument(
        "--field", default=None,
        help="row field holding the document (default: text, else document, else the row)",
    )  # fmt: skip
    common.add_argument(
        "--concept-field", default="concept",
        help="row field holding the concept, for grounding (default: %(default)s)",
    )  # fmt: skip
    common.add_argument(
        "--threshold", type=_threshold, default=DEFAULT_THRESHOLD,
        help="pass mark for 'passed' and the pass rate (default: %(default)s)",
    )  # fmt: skip
    common.add_argument("--debug", action="store_true", help="show the traceback on errors")

    parser = _Parser(
        prog="ba-metric",
        description="Parse and score business-analysis requirements documents (YAML).",
        epilog=MAIN_EPILOG,
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"ba-metric {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p_score = sub.add_parser(
        "score", parents=[common], help="add score, breakdown, grounding, content, defects, passed to each row",
        description="Score each row of a JSONL file.", epilog=SCORE_EPILOG, formatter_class=fmt,
    )  # fmt: skip
    p_score.add_argument(
        "-o", "--output", metavar="OUT.jsonl", default=None,
        help="output file (default: stdout), written atomically (a tmp file of its own beside OUT, renamed onto it)",
    )  # fmt: skip
    p_summary = sub.add_parser(
        "summary", parents=[common], help="print statistics of a scored (or unscored) file",
        description="Summarise scores of a JSONL file.", epilog=SUMMARY_EPILOG, formatter_class=fmt,
    )  # fmt: skip
    p_summary.add_argument("--json", action="store_true", help="print the summary as JSON")
    return parser


def _names_a_folder(text: str) -> bool:
    """``text`` ends in ``/`` or its last part is ``.`` or ``..`` (``Path`` reads ``x/.`` as ``x``)."""
    return text.endswith("/") or text.rstrip("/").rsplit("/", 1)[-1] in (".", "..")


def _same_file(a: str, b: str) -> bool:
    """Whether two paths are one file (symbolic links, ``..``, hard links)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _stdin_is(path: str) -> bool:
    """Whether standard input is read from the file at ``path`` (``score - -o F < F``)."""
    try:
        st_in, st_out = os.fstat(sys.stdin.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):
        return False
    return (st_in.st_dev, st_in.st_ino) == (st_out.st_dev, st_out.st_ino)


def _stdout_is_input(path: str) -> bool:
    """Whether standard output goes to the input file (``score F >> F``; ``-``: standard
    input's file): the scored rows would be appended to the rows they score."""
    try:
        st_out = os.fstat(sys.stdout.fileno())
        st_in = os.fstat(sys.stdin.fileno()) if path == "-" else os.stat(path)
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISREG(st_out.st_mode) and os.path.samestat(st_in, st_out)


def _run(args: argparse.Namespace) -> int:
    if args.command == "score":
        if args.output and _names_a_folder(args.output):  # `-o sub/` wrote a file `sub`, `-o notes.txt/.` replaced it
            raise UsageError(
                f"-o {args.output} names a folder (it ends in '/', '.' or '..'); nothing was written: give a file path"
            )

        def check_not_the_input(target: str | None = None) -> None:
            """-o, and the file it led to when the write began (``target``), is not the input."""
            for path in dict.fromkeys(p for p in (args.output, target) if p):
                if _stdin_is(path) if args.input == "-" else _same_file(args.input, path):  # campaign 22
                    raise UsageError(  # `score - -o F < F` replaced F
                        f"-o {args.output} is the input file; nothing was written: give -o a path of its own"
                    )

        check_not_the_input()
        if args.output in (None, "-") and _stdout_is_input(args.input):  # campaigns 26-27: `score F [-o -] >> F`
            raise UsageError("standard output is the input file; nothing was written: give -o a path of its own")
        options = {"field": args.field, "concept_field": args.concept_field, "threshold": args.threshold}
        rows = [score_row(row, **options, path=args.input, line=line) for line, row in read_jsonl(args.input)]
        write_jsonl(rows, args.output, check_not_the_input)  # again: a link put there meanwhile
        return 0
    stats = summarize(
        read_jsonl(args.input), field=args.field, concept_field=args.concept_field,
        threshold=args.threshold, path=args.input,
    )  # fmt: skip
    write_stdout(json.dumps(stats, indent=2) + "\n" if args.json else format_summary(stats))
    return 0


def _one_line(text: str) -> str:
    """The ``Error:`` line as one line: a character that is not printable (a newline in a
    path) is written as its Python escape. The rule of ``ba_io.one_line``, kept here because
    ba-metric depends on nothing of this project."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            raise UsageError("missing command: score or summary (see 'ba-metric --help')")
        return _run(args)
    except (DataError, UsageError) as exc:
        if debug:
            traceback.print_exc()
        print(_one_line(f"Error: {exc}"), file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:  # campaign 40: Ctrl-C printed a traceback; ba-io's contract
        if debug:
            raise
        print("Interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line unless --debug
        if debug:
            traceback.print_exc()
        print(_one_line(f"Error: internal error: {type(exc).__name__}: {exc} (rerun with --debug)"), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
