"""``ba-tune``: command-line parsing and error mapping only (logic in :mod:`ba_tune.tune`)."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

from ba_io import (
    UsageError,
    add_command,
    add_max_new_tokens,
    add_model,
    add_output,
    add_seed,
    check_side_output,
    distinct_paths,
    int_between,
    json_object_with,
    non_negative_int,
    output_target,
    positive_int,
    run_cli,
    sha256_file,
    tool_parser,
)

from . import __version__

EXAMPLE = """\
example:
  ba-tune mipro --model hf:artifacts/models/smollm2-135m-instruct \\
      --train artifacts/data/template/train_fixed.jsonl --val artifacts/data/template/val_fixed.jsonl \\
      --auto light --seed 42 --metric-threshold 0.72 --train-limit 8 --val-limit 4 \\
      --max-new-tokens 384 --max-bootstrapped-demos 1 --max-labeled-demos 2 \\
      --no-program-aware --no-data-aware --cache -o artifacts/prompts/optimized.json

writes artifacts/prompts/optimized.json (prompt file), optimized.program.json (DSPy
program state, JSON) and optimized.log.json (baseline, trials, best score, time).
"""


#: DSPy's parallel evaluations are Python threads, each with its own request in flight: more
#: than this only queues (the campaign's --num-threads 100000 was accepted)
MAX_EVAL_THREADS = 64


# long: one add_argument per flag, in --help order; split up, the CLI would be read in several places
def build_parser() -> argparse.ArgumentParser:
    parser = tool_parser(
        "ba-tune", __version__, "Optimise the BA prompt with DSPy MIPROv2 and export it as a prompt file.", EXAMPLE
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = add_command(
        sub,
        "mipro",
        help="run MIPROv2 and write the optimised prompt, program state and run log",
        description="Run DSPy MIPROv2 on the BA task (metric: ba_metric.ba_requirements_metric) and "
        "write the best prompt as a prompt file; the baseline prompt when no candidate beats it.",
        epilog=EXAMPLE,
    )
    add_model(p, required=True, help="task model spec: smollm2 | hf:DIR[+lora:DIR] | gguf:FILE | ollama:NAME")
    p.add_argument("--prompt-model", help="model spec that proposes instructions (default: --model)")
    p.add_argument("--train", required=True, help="train examples (example-v2 JSONL)")
    p.add_argument("--val", required=True, help="validation examples (example-v2 JSONL)")
    add_output(
        p,
        dest="out",
        metavar="OUT.json",
        required=True,
        help="prompt file to write (.json); .program.json and .log.json go next to it",
        old=("--out",),
    )
    p.add_argument("--prompt", help="starting prompt file (default: ba-llm's packaged prompt)")
    p.add_argument(
        "--auto", choices=("light", "medium", "heavy"), default="light", help="MIPROv2 budget (default light)"
    )
    p.add_argument("--num-trials", type=positive_int, help="manual budget instead of --auto (with --num-candidates)")
    p.add_argument("--num-candidates", type=positive_int, help="instruction/demo-set candidates (with --num-trials)")
    add_seed(p, help="optimizer and sampling seed")
    p.add_argument(
        "--metric-threshold", type=float, default=0.72, help="score a bootstrapped demo must reach (default 0.72)"
    )
    p.add_argument(
        "--objective",
        choices=("total", "content", "mean"),
        default="total",
        help="what MIPROv2 maximises: the rubric total, the content score (what a reader sees) or "
        "their mean (default total)",
    )
    p.add_argument("--train-limit", type=positive_int, help="use the first N train examples")
    p.add_argument("--val-limit", type=positive_int, help="use the first N validation examples")
    p.add_argument(
        "--num-threads",
        type=int_between(1, MAX_EVAL_THREADS),
        default=1,
        help=f"parallel evaluations (Python threads), at most {MAX_EVAL_THREADS} (default 1)",
    )
    # at most 32768 (past any supported context): refused before a model loads
    add_max_new_tokens(
        p,
        dest="max_tokens",
        default=512,
        maximum=32768,
        help="max new tokens per model call, at most 32768 (default: %(default)s)",
        old=("--max-tokens",),
    )
    p.add_argument("--temperature", type=float, default=0.0, help="task decoding temperature (default 0: greedy)")
    p.add_argument(
        "--max-bootstrapped-demos",
        type=non_negative_int,
        default=4,
        help="demos bootstrapped from the model's own answers that pass the threshold (default 4)",
    )
    p.add_argument(
        "--max-labeled-demos",
        type=non_negative_int,
        default=4,
        help="demos taken from the train set's documents (default 4)",
    )
    p.add_argument(
        "--no-program-aware",
        action="store_true",
        help="the instruction proposer skips describing the program (saves 2 prompt-model calls per candidate)",
    )
    p.add_argument(
        "--no-data-aware",
        action="store_true",
        help="the instruction proposer skips summarising the train set (saves a few prompt-model calls)",
    )
    p.add_argument(
        "--cache",
        action="store_true",
        help="serve repeated identical calls from an in-memory cache (off by default; never on disk)",
    )
    p.add_argument("--verbose", action="store_true", help="show MIPROv2's own progress log on stderr")
    return parser


def _mipro(args: argparse.Namespace) -> int:
    from ba_llm.prompt import load_prompt

    from .data import load_examples
    from .lm import configure_dspy_cache, make_lm
    from .tune import run_mipro

    settings = _settings(args)
    _check_outputs(args)
    base = load_prompt(args.prompt)
    trainset = load_examples(args.train, args.train_limit)
    valset = load_examples(args.val, args.val_limit)
    configure_dspy_cache(memory=args.cache)
    _check_specs(args)
    print(f"ba-tune: loading {args.model}", file=sys.stderr)
    task_lm = make_lm(
        args.model, max_tokens=args.max_tokens, temperature=args.temperature, seed=args.seed, cache=args.cache
    )
    prompt_lm = None
    if args.prompt_model and args.prompt_model != args.model:
        prompt_lm = make_lm(args.prompt_model, max_tokens=args.max_tokens, seed=args.seed, cache=args.cache)
    info = {
        "model": args.model,
        "prompt_model": args.prompt_model or args.model,
        "train": {"path": args.train, "sha256": sha256_file(args.train), "limit": args.train_limit},
        "val": {"path": args.val, "sha256": sha256_file(args.val), "limit": args.val_limit},
        "base_prompt": args.prompt or "<ba-llm default>",
        "max_tokens": args.max_tokens,
        "temperature": args.temperature,
        "cache": args.cache,
    }
    print(
        f"ba-tune: MIPROv2 auto={settings.auto} on {len(trainset)} train / {len(valset)} val examples", file=sys.stderr
    )
    result = run_mipro(
        task_lm, trainset, valset, args.out,
        settings=settings, prompt_lm=prompt_lm, base_prompt=base, info=info, verbose=args.verbose,
    )  # fmt: skip
    for role, stats in result.log["lm_calls"].items():
        if stats and stats["errors"]:
            print(
                f"warning: {stats['errors']} of {stats['calls']} {role}-model calls failed "
                f"(scored 0); last error: {stats['last_error']}",
                file=sys.stderr,
            )
    verdict = "improved" if result.improved else "no candidate beat the baseline; wrote the baseline prompt"
    print(f"baseline {result.baseline_score:.4f}  best {result.best_score:.4f}  ({verdict})")
    print(f"wrote {result.prompt_path}, {result.program_path}, {result.log_path}")
    return 0


def _settings(args: argparse.Namespace) -> Any:
    """The MIPROv2 settings of the flags, checked (and --temperature with them)."""
    from .tune import MiproSettings

    settings = MiproSettings(
        auto=None if args.num_trials is not None else args.auto,
        seed=args.seed,
        metric_threshold=args.metric_threshold,
        objective=args.objective,
        num_threads=args.num_threads,
        max_bootstrapped_demos=args.max_bootstrapped_demos,
        max_labeled_demos=args.max_labeled_demos,
        num_trials=args.num_trials,
        num_candidates=args.num_candidates,
        program_aware=not args.no_program_aware,
        data_aware=not args.no_data_aware,
    )
    settings.check()
    if not (math.isfinite(args.temperature) and args.temperature >= 0):
        raise UsageError(f"--temperature must be a finite number >= 0 (got {args.temperature})")
    return settings


def _check_outputs(args: argparse.Namespace) -> None:
    """Before any model work: the three outputs can be written, and none is an input."""
    from ba_llm import check_not_a_model_file

    from .tune import is_program_state, output_paths

    out, program, log = output_paths(args.out)
    for out_path in (out, program, log):
        distinct_paths(("--train", args.train), ("--val", args.val), ("--prompt", args.prompt), ("-o", out_path))
        output_target(out_path)  # a folder, FIFO or device at any of the three: refused now
    # campaign 15: a file of the user's at OUT.program.json or OUT.log.json was replaced
    check_side_output(program, "a DSPy program state ba-tune wrote", is_program_state)
    check_side_output(log, "a ba-tune log", json_object_with("command", "settings"))
    for out_path in (out, program, log):
        for spec in (args.model, args.prompt_model):  # campaign 14: -o MODEL/config.json was taken
            if spec:
                check_not_a_model_file(spec, out_path, "-o")
    existing = Path(args.out).absolute().parent
    while not existing.exists():  # the nearest folder that exists must let us create the rest
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"-o {args.out}: cannot write under {existing}")


def _check_specs(args: argparse.Namespace) -> None:
    """A bad local model spec, or a token limit beyond its context, is one Error: line
    before any progress line and before the weights load."""
    from ba_llm import check_max_new_tokens, parse_spec, resolve_spec

    for spec in (args.model, args.prompt_model):
        if spec and parse_spec(spec).kind != "ollama":
            resolve_spec(parse_spec(spec))
            check_max_new_tokens(spec, args.max_tokens)


def _main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "mipro":
        return _mipro(args)
    return 2  # pragma: no cover - argparse requires a command


def main(argv: list[str] | None = None) -> None:
    sys.exit(run_cli(_main, argv))


if __name__ == "__main__":  # pragma: no cover
    main()
