"""``ba-dataset-tools``: validate, audit, fix, filter, split, stats (argument parsing only)."""

from __future__ import annotations

import argparse
import json
import sys

from ba_io import (
    UsageError,
    add_command,
    add_output,
    add_seed,
    default_rejects,
    distinct_paths,
    output_path,
    run_cli,
    tool_parser,
    write_json,
)

from . import __version__

_EPILOG = """examples:
  ba-dataset-tools validate train_fixed.jsonl --schema example-v2
  ba-dataset-tools audit train.jsonl -o audit/train.json
  ba-dataset-tools fix train.jsonl --fix-ids --convert-to-yaml-strings --validate \\
      -o train_fixed.jsonl --rejects train_fixed.rejects.jsonl
  ba-dataset-tools filter scored.jsonl --min-score 0.72 -o filtered.jsonl --rejects filtered.rejects.jsonl
  ba-dataset-tools split filtered.jsonl --val-ratio 0.1 --seed 42 --train-out train.jsonl --val-out val.jsonl
  ba-dataset-tools stats train_fixed.jsonl --json
  ba-dataset-tools export --train train_fixed.jsonl --val val_fixed.jsonl --format hf \
      --prompt prompts/finetune.json -o hf_dataset
"""


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    return value


def _sub(sub, name: str, help_: str, description: str, example: str) -> argparse.ArgumentParser:
    return add_command(sub, name, help=help_, description=description, epilog=f"example:\n  {example}")


# long: one add_argument per flag, in --help order; split up, the CLI would be read in several places
def _parser() -> argparse.ArgumentParser:
    p = tool_parser(
        "ba-dataset-tools",
        __version__,
        "Check, repair and slice requirements datasets (JSONL rows "
        "in v1 form, categories as JSON lists, or v2 form, categories as YAML strings).",
        _EPILOG,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    v = _sub(
        sub,
        "validate",
        "check rows against example-v1 or example-v2",
        "Check every row against a dataset schema; for example-v2 also parse each YAML category and "
        "check its items (IDs FR001/NFR001/C001, description, priority High/Medium/Low). Prints one "
        "'Error: FILE:LINE: path: message' line per invalid row (its problems joined by '; '); exit 1 when any.",
        "ba-dataset-tools validate train_fixed.jsonl --schema example-v2",
    )
    v.add_argument("file", metavar="FILE")
    v.add_argument("--schema", required=True, choices=("example-v1", "example-v2"))

    a = _sub(
        sub,
        "audit",
        "report ID-format, size, YAML, missing-field and duplicate problems",
        "Write the audit report (schemas/audit-report.schema.json) of a v1 or v2 file and print a "
        "summary. Exit 0 even when problems are found (use --strict for exit 1).",
        "ba-dataset-tools audit train.jsonl -o audit/train.json",
    )
    a.add_argument("file", metavar="FILE")
    add_output(a, help="the audit report (JSON)", required=True, metavar="REPORT.json")
    a.add_argument("--strict", action="store_true", help="exit 1 when any row is not valid")

    f = _sub(
        sub,
        "fix",
        "fix ID formats and convert categories to YAML strings (v1 -> v2)",
        "Repair every row: --fix-ids renumbers each category FR001, FR002, ... in order of appearance "
        "(FR01, FR1, FR-1, fr_01 ...); --convert-to-yaml-strings turns JSON lists into YAML strings; "
        "--validate checks each output row against example-v2. Rows that cannot be fixed go to "
        "--rejects with line and reason. Fixing a fixed file changes nothing.",
        "ba-dataset-tools fix train.jsonl --fix-ids --convert-to-yaml-strings --validate "
        "-o train_fixed.jsonl --rejects train_fixed.rejects.jsonl",
    )
    f.add_argument("file", metavar="FILE")
    f.add_argument("--fix-ids", action="store_true", help="renumber requirement IDs (FR001...)")
    f.add_argument("--convert-to-yaml-strings", action="store_true", help="JSON lists -> YAML strings")
    f.add_argument("--validate", action="store_true", help="validate every output row against example-v2")
    add_output(f, help="the fixed rows", required=True, metavar="OUT.jsonl")
    f.add_argument(
        "--rejects",
        type=output_path,
        help="rejects JSONL (default: OUT.rejects.jsonl for OUT.jsonl, else OUT.rejected.jsonl)",
    )

    fl = _sub(
        sub,
        "filter",
        "keep rows whose score and content reach thresholds",
        "Keep scored rows (ba-metric score output) with score >= --min-score (the rubric total) and "
        "content >= --min-content (the content score: duplicates, misplaced NFRs, non-constraints, "
        "contradicted numbers, filler, uncovered capabilities); give one or both. The others, rows "
        "without the needed numbers and unreadable lines go to --rejects with the reason.",
        "ba-dataset-tools filter scored.jsonl --min-score 0.72 --min-content 0.8 -o filtered.jsonl "
        "--rejects rejects.jsonl",
    )
    fl.add_argument("file", metavar="FILE")
    fl.add_argument("--min-score", type=_ratio, help="lowest rubric total kept, 0..1")
    fl.add_argument("--min-content", type=_ratio, help="lowest content score kept, 0..1")
    add_output(fl, help="the rows that pass", required=True, metavar="OUT.jsonl")
    fl.add_argument(
        "--rejects",
        type=output_path,
        help="rejects JSONL (default: OUT.rejects.jsonl for OUT.jsonl, else OUT.rejected.jsonl)",
    )

    s = _sub(
        sub,
        "split",
        "split into train and val, no concept in both",
        "Deterministic train/val split by concept: rows with the same normalised concept text stay "
        "together. Val gets about --val-ratio of the rows and at least one row when there are two.",
        "ba-dataset-tools split filtered.jsonl --val-ratio 0.1 --seed 42 --train-out train.jsonl --val-out val.jsonl",
    )
    s.add_argument("file", metavar="FILE")
    s.add_argument("--val-ratio", type=_ratio, default=0.1, help="share of rows for val (default 0.1)")
    add_seed(s, help="shuffle seed")
    s.add_argument("--train-out", required=True, type=output_path)
    s.add_argument("--val-out", required=True, type=output_path)

    st = _sub(
        sub,
        "stats",
        "rows, scores, requirements per category, priorities, domains, lengths",
        "Describe a dataset file: rows, mean score, requirements per category, priority distribution, "
        "domains, teachers and document length (words, approx tokens).",
        "ba-dataset-tools stats train_fixed.jsonl --json",
    )
    st.add_argument("file", metavar="FILE")
    st.add_argument("--json", action="store_true", help="print JSON instead of text")

    ex = _sub(
        sub,
        "export",
        "export as chat messages: a Hugging Face dataset, parquet or messages JSONL",
        "Write fixed (v2) rows in the chat 'messages' form (system, user, assistant) that TRL's "
        "SFTTrainer, axolotl (type: chat_template) and LLaMA-Factory read, with id and concept "
        "columns and a dataset card (README.md: schema, teacher, splits, prompt hash). The system "
        "and user turns are the --prompt file's; the assistant turn is the document ba-lora trains "
        "on. --format hf writes a datasets.DatasetDict (save_to_disk); parquet and messages-jsonl "
        "write train.* and validation.* files. The folder appears whole or not at all.",
        "ba-dataset-tools export --train train_fixed.jsonl --val val_fixed.jsonl --format hf "
        "--prompt prompts/finetune.json -o hf_dataset",
    )
    ex.add_argument("--train", required=True, metavar="TRAIN.jsonl", help="fixed training rows (example-v2)")
    ex.add_argument("--val", metavar="VAL.jsonl", help="fixed validation rows (example-v2), the 'validation' split")
    ex.add_argument("--format", required=True, choices=("hf", "parquet", "messages-jsonl"))
    ex.add_argument(
        "--prompt",
        metavar="PROMPT.json",
        help="prompt file whose system / user texts the rows get (default: ba-llm's default "
        "prompt; give the one you train with, e.g. prompts/finetune.json)",
    )
    add_output(ex, help="export folder", required=True, metavar="DIR", folder=True)
    return p


def _validate(args: argparse.Namespace) -> int:
    from .validate import validate_file

    report = validate_file(args.file, args.schema)
    for line in report.errors:
        print(f"Error: {line}", file=sys.stderr)
    print(
        f"{args.file}: {report.rows} rows, {report.rows - report.invalid} valid, "
        f"{report.invalid} invalid ({args.schema})"
    )
    return 1 if report.invalid else 0


def _audit(args: argparse.Namespace) -> int:
    from .audit import audit_file, summary

    distinct_paths(("the input", args.file), ("-o", args.output))
    report = audit_file(args.file)
    write_json(args.output, report, "audit-report")
    print(summary(report))
    print(f"report -> {args.output}")
    invalid = report["total_examples"] - report["valid_examples"]
    if args.strict and invalid:
        print(
            f"Error: {args.file}: {invalid} of {report['total_examples']} rows are not valid (--strict); "
            f"the problems are in {args.output}",
            file=sys.stderr,
        )
        return 1
    return 0


def _fix(args: argparse.Namespace) -> int:
    from .fix import fix_file

    if not (args.fix_ids or args.convert_to_yaml_strings):
        raise UsageError("nothing to do: give --fix-ids and/or --convert-to-yaml-strings")
    rejects = default_rejects(args.output, args.rejects)
    r = fix_file(
        args.file, args.output, rejects, fix_ids=args.fix_ids, to_yaml=args.convert_to_yaml_strings, check=args.validate
    )
    print(f"{r.rows} rows: {r.written} written -> {args.output}, {r.rejected} rejected -> {rejects}")
    print(
        f"  rows fixed {r.fixed}, IDs changed {r.ids_changed}, categories converted {r.converted}, "
        f"ids added {r.ids_added}"
    )
    return 0


def _filter(args: argparse.Namespace) -> int:
    from .selection import filter_file

    rejects = default_rejects(args.output, args.rejects)
    r = filter_file(args.file, args.output, rejects, args.min_score, args.min_content)
    tests = [
        f"{name} >= {value:g}"
        for name, value in (("score", args.min_score), ("content", args.min_content))
        if value is not None
    ]
    print(
        f"{r.rows} rows: {r.kept} kept ({' and '.join(tests)}) -> {args.output}, "
        f"{r.rejected} rejected ({r.below} below a threshold) -> {rejects}"
    )
    return 0


def _split(args: argparse.Namespace) -> int:
    from .selection import split_file

    r = split_file(args.file, args.train_out, args.val_out, val_ratio=args.val_ratio, seed=args.seed)
    print(
        f"{r.train} train ({r.train_concepts} concepts) -> {args.train_out}, "
        f"{r.val} val ({r.val_concepts} concepts) -> {args.val_out}"
    )
    return 0


def _stats(args: argparse.Namespace) -> int:
    from .stats import format_stats, stats_file

    s = stats_file(args.file)
    print(json.dumps(s, indent=2, ensure_ascii=False) if args.json else format_stats(s))
    return 0


def _export(args: argparse.Namespace) -> int:
    from ba_llm.prompt import load_prompt

    from .export import export_dataset

    r = export_dataset(args.train, args.output, fmt=args.format, prompt=load_prompt(args.prompt), val=args.val)
    counts = ", ".join(f"{n} {name}" for name, n in r.rows.items())
    print(f"{counts} rows -> {r.output} ({r.format}; prompt sha256 {r.prompt_sha256[:12]})")
    return 0


_COMMANDS = {
    "validate": _validate,
    "audit": _audit,
    "fix": _fix,
    "filter": _filter,
    "split": _split,
    "stats": _stats,
    "export": _export,
}


def _main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return _COMMANDS[args.command](args)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    sys.exit(run_cli(_main, argv))
