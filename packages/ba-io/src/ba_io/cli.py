"""``ba-io`` command line: validate a file against a schema, list schemas."""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .cli_types import add_command, add_output, output_path, tool_parser
from .errors import UsageError
from .jsonio import output_group, read_json, read_jsonl, write_jsonl
from .paths import distinct_paths
from .runcli import run_cli
from .schemas import _get, schema_names

EPILOG = """\
examples:
  ba-io schemas
  ba-io validate artifacts/data/train.jsonl --schema example-v2
  ba-io validate raw.jsonl --schema concept --rejects rejects.jsonl -o clean.jsonl
  ba-io validate artifacts/eval/report.json --json --schema benchmark-report

exit codes: 0 ok, 1 bad data (one line `Error: file:line: what`), 2 bad usage.
"""


def _parser() -> argparse.ArgumentParser:
    p = tool_parser("ba-io", __version__, "Validate JSON/JSONL artifacts against the ba-finetune schemas.", EPILOG)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    v = add_command(sub, "validate", help="validate a JSONL (default) or JSON file", epilog=EPILOG)
    v.add_argument("file", metavar="FILE")
    v.add_argument("--schema", required=True, metavar="NAME", help="schema name (see `ba-io schemas`)")
    v.add_argument("--json", action="store_true", help="FILE is one JSON document, not JSONL")
    v.add_argument(
        "--rejects", metavar="R", type=output_path, help="write bad lines here instead of stopping at the first"
    )
    add_output(v, help="write the valid rows here")
    add_command(sub, "schemas", help="list schema names and titles")
    return p


def _main(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "schemas":
        names = schema_names()
        width = max(len(n) for n in names)
        for name in names:
            print(f"{name:<{width}}  {_get(name).get('title', '')}")
        return 0
    if args.command != "validate":
        parser.print_help(sys.stderr)
        return 2
    _get(args.schema)  # unknown name -> UsageError listing the known ones
    distinct_paths(("the input", args.file), ("-o", args.output), ("--rejects", args.rejects))
    if args.json:
        if args.rejects or args.output:
            raise UsageError("--rejects and -o apply to JSONL input, not --json")
        read_json(args.file, args.schema)
        print("OK: document valid")
        return 0
    if args.rejects is None:
        rows = read_jsonl(args.file, args.schema)
        if args.output:
            write_jsonl(args.output, rows, args.schema)
        print(f"OK: {len(rows)} rows valid")
        return 0
    with output_group():  # rejects and output together, or neither
        rows = read_jsonl(args.file, args.schema, rejects=args.rejects)
        if args.output:
            write_jsonl(args.output, rows, args.schema)
    with open(args.rejects, encoding="utf-8") as f:
        n_bad = sum(1 for _ in f)
    out = f" -> {args.output}" if args.output else ""
    print(f"valid: {len(rows)} rows{out}; rejected: {n_bad} rows -> {args.rejects}")
    return 0


def main(argv: list[str] | None = None) -> None:
    sys.exit(run_cli(_main, argv))


if __name__ == "__main__":
    main()
