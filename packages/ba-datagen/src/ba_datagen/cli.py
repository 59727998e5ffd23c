"""``ba-datagen``: concepts from templates and teacher documents (argument parsing only)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from ba_io import (
    UsageError,
    add_command,
    add_max_new_tokens,
    add_output,
    add_seed,
    distinct_paths,
    iter_jsonl,
    output_path,
    positive_int,
    read_json,
    run_cli,
    tool_parser,
    write_jsonl,
)

from . import __version__

_EPILOG = """examples:
  ba-datagen concepts --n 210 --seed 42 -o artifacts/data/concepts-210-s42.jsonl
  ba-datagen synth --teacher template --in concepts.jsonl -o raw.jsonl --rejects raw.rejects.jsonl
  ba-datagen synth --teacher ollama:mistral:7b-instruct --in concepts.jsonl -o raw.jsonl
  ba-datagen prompt > teacher.json   # the packaged teacher prompt, to edit and pass with --prompt
"""


# long: one add_argument per flag, in --help order; split up, the CLI would be read in several places
def _parser() -> argparse.ArgumentParser:
    p = tool_parser(
        "ba-datagen",
        __version__,
        "Bootstrap a requirements dataset: concepts from templates, "
        "then one requirements document per concept from a teacher.",
        _EPILOG,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = add_command(
        sub,
        "concepts",
        help="generate business concepts from templates (no LLM)",
        description="Write N concept rows (schemas/concept.schema.json): text plus the "
        "structured facts it was built from. Deterministic for a seed.",
        epilog="examples:\n  ba-datagen concepts --n 210 --seed 42 -o concepts.jsonl\n"
        "  ba-datagen concepts --n 40 --seed 1001 --focus round-1/failures.json --id-prefix r1-c \\\n"
        "      --exclude concepts.jsonl curated.jsonl -o round-1/targeted-concepts.jsonl",
    )
    c.add_argument("--n", type=positive_int, required=True, help="how many concepts")
    add_seed(c, help="random seed")
    add_output(c, help="output JSONL (written atomically)", required=True, dest="out", old=("--out",))
    c.add_argument(
        "--focus",
        metavar="FAILURES_JSON",
        help="draw from the worst groups of a failure analysis (`ba-eval failures`): an equal "
        "share of the rows from its target domains, its target structures and its target languages",
    )
    c.add_argument(
        "--exclude",
        nargs="+",
        default=[],
        metavar="JSONL",
        help="files of rows with a 'concept' field (concepts, datasets, the curated set) whose "
        "texts must not be written again",
    )
    c.add_argument("--id-prefix", default="c", help="start of every id (default: c, as in c0001)")

    s = add_command(
        sub,
        "synth",
        help="write one requirements document per concept with a teacher",
        description="Ask a teacher for each concept's requirements document and write v1 rows "
        "(categories as JSON lists) with id, concept, teacher (and the raw text for LLM "
        "teachers). Concepts without a usable document go to --rejects with the reason. "
        "An interrupted run resumes where it stopped (OUT.partial).",
        epilog="examples:\n  ba-datagen synth --teacher template --in concepts.jsonl -o raw.jsonl\n"
        "  ba-datagen synth --teacher hf:artifacts/models/smollm2-135m-instruct --in c.jsonl "
        "-o raw.jsonl --batch-size 4",
    )
    s.add_argument(
        "--teacher",
        default="template",
        help="'template' (offline, from the concept's facts) or a ba-llm model spec "
        "(ollama:NAME, hf:DIR, gguf:FILE, smollm2)",
    )
    s.add_argument("--in", dest="in_path", required=True, help="concepts JSONL")
    add_output(s, help="output JSONL (v1 rows)", required=True, dest="out", old=("--out",))
    s.add_argument(
        "--rejects",
        type=output_path,
        help="rejects JSONL (default: OUT.rejects.jsonl for OUT.jsonl, else OUT.rejected.jsonl)",
    )
    s.add_argument("--prompt", help="prompt file for LLM teachers (default: the packaged teacher prompt)")
    add_max_new_tokens(s, default=768, help="LLM teachers: token limit (default: %(default)s)")
    s.add_argument("--batch-size", type=positive_int, default=None, help="concepts per teacher call")
    s.add_argument("--sample", action="store_true", help="LLM teachers: sample instead of greedy decoding")
    s.add_argument("--temperature", type=float, default=0.7, help="with --sample (0.7)")
    s.add_argument("--top-p", type=float, default=0.95, help="with --sample (0.95)")
    add_seed(s, help="with --sample: the sampling seed")
    s.add_argument(
        "--restart",
        action="store_true",
        help="start over: the partial files of an interrupted run (OUT.partial, REJECTS.partial) are moved "
        "aside to NAME.discarded-<time> (nothing is deleted) and the run begins afresh",
    )

    add_command(
        sub,
        "prompt",
        help="print the packaged teacher prompt (JSON)",
        description="Print the teacher prompt shipped with ba-datagen (schemas/prompt.schema.json).",
        epilog="example:\n  ba-datagen prompt > teacher.json",
    )
    return p


def _concepts(args: argparse.Namespace) -> int:
    from .concepts import focused_concepts, generate_concepts

    distinct_paths(("-o", args.out), ("--focus", args.focus), *(("--exclude", p) for p in args.exclude))
    if not args.id_prefix or not args.id_prefix.isprintable() or any(ch.isspace() for ch in args.id_prefix):
        raise UsageError(f"--id-prefix {args.id_prefix!r}: give printable characters without spaces, e.g. r1-c")
    focus = read_json(args.focus, "failure-analysis")["targets"] if args.focus else None
    exclude = [
        row["concept"] for path in args.exclude for _, row in iter_jsonl(path) if isinstance(row.get("concept"), str)
    ]
    if focus is None:
        rows = generate_concepts(args.n, args.seed, exclude=exclude, id_prefix=args.id_prefix)
    else:
        rows = focused_concepts(args.n, args.seed, focus, exclude=exclude, id_prefix=args.id_prefix)
    write_jsonl(args.out, rows, "concept")
    domains = len({r["domain"] for r in rows})
    print(f"{len(rows)} concepts across {domains} domains -> {args.out}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from .synth import synth
    from .teachers import make_teacher

    options = {}
    if args.teacher != "template":
        options = dict(
            max_new_tokens=args.max_new_tokens,
            greedy=not args.sample,
            temperature=args.temperature,
            top_p=args.top_p,
            seed=args.seed,
        )
    elif args.sample:
        raise UsageError("--sample applies only to LLM teachers, not --teacher template")
    teacher = make_teacher(args.teacher, prompt=args.prompt, **options)
    if args.batch_size is not None:
        teacher.batch_size = args.batch_size
    t0 = time.perf_counter()
    try:
        result = synth(args.in_path, args.out, teacher, rejects=args.rejects, restart=args.restart, prompt=args.prompt)
    finally:
        close = getattr(teacher, "close", None)
        if close is not None:
            close()
    elapsed = time.perf_counter() - t0
    resumed = f" ({result.resumed} done by an earlier run)" if result.resumed else ""
    print(
        f"{result.total} concepts: {result.written} written -> {args.out}, "
        f"{result.rejected} rejected{resumed} in {elapsed:.1f} s"
    )
    return 0


def _prompt(args: argparse.Namespace) -> int:
    from importlib import resources

    from .teachers import TEACHER_PROMPT_RESOURCE

    text = resources.files("ba_datagen").joinpath(TEACHER_PROMPT_RESOURCE).read_text(encoding="utf-8")
    sys.stdout.write(json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n")
    return 0


def _main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return {"concepts": _concepts, "synth": _synth, "prompt": _prompt}[args.command](args)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    sys.exit(run_cli(_main, argv))
