"""``ba-lora``: train a LoRA adapter, merge it, export it for Ollama / llama.cpp."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from ba_io import UsageError, add_command, add_max_new_tokens, add_model, add_output, run_cli, tool_parser

from . import __version__
from .config import add_config_arguments, config_from_namespace

EPILOG_TRAIN = """example:
  ba-lora train --train artifacts/data/template/train_fixed.jsonl \\
      --val artifacts/data/template/val_fixed.jsonl --output artifacts/finetuning/smollm2-bf16 \\
      --model hf:artifacts/models/smollm2-135m-instruct --quantization bf16 --epochs 3 --resume
"""


# long: one add_argument per flag, in --help order; split up, the CLI would be read in several places
def _parser() -> argparse.ArgumentParser:
    p = tool_parser(
        "ba-lora",
        __version__,
        "LoRA fine-tuning on BA requirements documents, with merge and Ollama/GGUF export.",
        "example: ba-lora train --train train.jsonl --val val.jsonl -o out/ --model smollm2",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = add_command(
        sub,
        "train",
        help="train a LoRA adapter on v2 examples",
        description="Train a LoRA adapter: answer-only loss, no compute on padding, checkpoints "
        "every --save-steps and each epoch, --resume after an interruption. "
        "Runs unchanged under `accelerate launch` (DDP).",
        epilog=EPILOG_TRAIN,
    )
    add_config_arguments(t)

    m = add_command(
        sub,
        "merge",
        help="merge an adapter into its base model (bf16 safetensors)",
        epilog="example: ba-lora merge --adapter artifacts/finetuning/smollm2-bf16 "
        "-o artifacts/models/smollm2-ba-merged",
    )
    m.add_argument("--adapter", required=True, metavar="DIR", help="adapter directory written by ba-lora train")
    add_output(m, required=True, metavar="DIR", help="directory for the merged model", folder=True)
    add_model(
        m, dest="base_model", help="base model (default: the one training_info.json records)", old=("--base-model",)
    )

    e = add_command(
        sub,
        "export",
        help="write Ollama Modelfiles: a GGUF LoRA adapter and merged GGUFs",
        description="Write a self-contained folder for Ollama / llama.cpp (relative paths only; "
        "copy it to the machine that runs Ollama): adapter.gguf + Modelfile (FROM "
        "./base.gguf, the base GGUF linked or copied in; ADAPTER ./adapter.gguf), and "
        "per --merged type model-TYPE.gguf + Modelfile.TYPE, the adapter merged into "
        "the base (the route every llama.cpp runtime takes). Each Modelfile has the "
        "ChatML TEMPLATE, the adapter's SYSTEM prompt and ba-llm's stop parameters.",
        epilog="example: ba-lora export --adapter artifacts/finetuning/smollm2-bf16 "
        "-o artifacts/ollama/smollm2-ba --name smollm2-ba\n"
        "then:    ollama create smollm2-ba -f artifacts/ollama/smollm2-ba/Modelfile",
    )
    e.add_argument("--adapter", required=True, metavar="DIR", help="adapter directory written by ba-lora train")
    add_output(e, required=True, metavar="DIR", help="directory for Modelfile and adapter.gguf", folder=True)
    e.add_argument(
        "--name",
        help="model name for the GGUF metadata and the printed `ollama create` line "
        "(default: the output directory's name)",
    )
    e.add_argument(
        "--from",
        dest="from_",
        metavar="BASE",
        help="Modelfile FROM: an Ollama model or GGUF file of the same base weights "
        "(default: the GGUF a ba-llm-prepared base came from)",
    )
    add_model(
        e, dest="base_model", help="base model (default: the one training_info.json records)", old=("--base-model",)
    )
    e.add_argument(
        "--merged",
        default="f16,q8_0",
        metavar="TYPES",
        help="merged GGUFs to write: f16, q8_0, both comma-separated, or none (default: f16,q8_0)",
    )
    add_max_new_tokens(
        e, default=640, help="the Modelfile's num_predict: the most tokens one answer may take (default: %(default)s)"
    )
    return p


def _main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "train":
        from .trainer import train

        info = train(config_from_namespace(args))
        if os.environ.get("RANK", "0") != "0":  # one summary from a multi-process run
            return 0
        last = info["epochs"][-1] if info["epochs"] else {}
        print(
            json.dumps(
                {
                    "output": args.output,
                    "status": info["status"],
                    "steps": info["steps"],
                    "train_loss": last.get("train_loss"),
                    "val_loss": last.get("val_loss"),
                    "tokens_per_second": info["tokens_per_second"],
                }
            )
        )
    elif args.command == "merge":
        from .export import merge_adapter

        out = merge_adapter(args.adapter, args.output, base=args.base_model)
        print(f"{out}: merged model (bf16 safetensors)")
    else:
        from .export import export_ollama

        parts = [q.strip() for q in args.merged.split(",")]
        if parts == ["none"]:
            merged: tuple[str, ...] = ()
        elif not all(parts) or "none" in parts:
            raise UsageError(f"--merged {args.merged!r}: give f16, q8_0 or f16,q8_0, or none alone")
        else:
            merged = tuple(parts)
        res = export_ollama(
            args.adapter,
            args.output,
            name=args.name,
            from_=args.from_,
            base=args.base_model,
            max_new_tokens=args.max_new_tokens,
            merged=merged,
        )
        print(f"{res['modelfile']}: Modelfile (FROM {res['from']}), {res['adapter']}: GGUF LoRA adapter")
        for q, m in res["merged"].items():
            print(f"{m['modelfile']}: Modelfile (FROM ./{Path(m['gguf']).name}), merged GGUF ({q})")
        print(f"build it with: ollama create {shlex.quote(res['name'])} -f {shlex.quote(res['modelfile'])}")
    return 0


def main(argv: list[str] | None = None) -> None:
    sys.exit(run_cli(_main, argv))


if __name__ == "__main__":  # pragma: no cover - `python -m ba_lora.cli` under accelerate launch
    main()
