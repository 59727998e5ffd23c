"""Training throughput, side by side: the same rows, prompt and recipe under several compute
configurations, each in its own process, on this machine (#14).

Usage (after `make finetune` has written the data and the base model):

    .venv/bin/python benchmarks/bench_train.py --steps 6 --out artifacts/bench/train.json

Each configuration runs `ba-lora train` for --steps optimizer steps of `make finetune`'s recipe
(all-linear LoRA r 8, dropout 0, lr 5e-4, grad-accum 4, the short training prompt) on the first
rows of the training set, and reports real tokens/s (prompt + answer tokens computed, from
training_info.json), the training seconds, the child's peak RSS and the share of this CPU's
matrix-product peak it reaches: tokens/s x 4 x parameters (forward 2N, backward through the
frozen weights 2N FLOP per token; attention scores not counted) / the best bf16 GFLOP/s of a
1024^3 product measured in this process at the same thread count.

Configurations (comma-separated --configs), each DTYPE or DTYPE+bN:
  fp32  BA_BF16=0: the base model computes in float32
  bf16  BA_BF16=1: the base model computes in bfloat16
  auto  what ba_llm.precision decides on this CPU (the default of every command)
  +bN   N samples per forward pass (--batch-size N, --grad-accum divided by N: the same
        samples per optimizer step; default 1, as `make finetune`)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG_ENV = {"fp32": {"BA_BF16": "0"}, "bf16": {"BA_BF16": "1"}, "auto": {}}


def matmul_gflops(dtype_name: str, threads: int, n: int = 1024, reps: int = 10) -> float:
    """Best-of-3 GFLOP/s of an n^3 product in ``dtype_name`` at ``threads`` threads."""
    import torch

    torch.set_num_threads(threads)
    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    for _ in range(3):
        torch.mm(a, b)
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 * reps / best / 1e9


def model_parameters(model_dir: Path) -> int:
    """Parameter count from the safetensors headers (no weights loaded)."""
    from safetensors import safe_open

    total = 0
    for f in sorted(model_dir.glob("*.safetensors")):
        with safe_open(str(f), "pt") as st:
            for name in st.keys():
                shape = st.get_slice(name).get_shape()
                count = 1
                for d in shape:
                    count *= d
                total += count
    return total


def parse_config(name: str) -> tuple[str, int]:
    """``bf16+b4`` -> ("bf16", 4); ValueError for an unknown one."""
    dtype, _, batch = name.partition("+b")
    if dtype not in CONFIG_ENV or (batch and not batch.isdigit()) or batch == "0":
        raise ValueError(name)
    return dtype, int(batch or 1)


def run_config(name: str, args: argparse.Namespace, workdir: Path) -> dict:
    """One configuration in a fresh process; its training_info figures and peak RSS."""
    dtype, batch = parse_config(name)
    out = workdir / name
    exe = Path(sys.executable).with_name("ba-lora")
    cmd = [str(exe), "train", "--train", args.train, "-o", str(out), "--model", args.model]
    cmd += ["--prompt", args.prompt, "--epochs", "1", "--max-steps", str(args.steps), "--save-steps", "0"]
    cmd += [
        "--lr",
        "5e-4",
        "--grad-accum",
        str(max(1, args.grad_accum // batch)),
        "--lora-r",
        "8",
        "--lora-dropout",
        "0",
    ]
    cmd += ["--target-modules", "all-linear", "--threads", str(args.threads), "--quantization", "bf16"]
    cmd += ["--batch-size", str(batch)]
    env = {**os.environ, "BA_NO_PROGRESS": "1", **CONFIG_ENV[dtype]}
    if not CONFIG_ENV[dtype]:
        env.pop("BA_BF16", None)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read() if proc.stderr else ""
    if status != 0:
        raise SystemExit(f"{name}: ba-lora train failed: {err.strip().splitlines()[-1:]}")
    info = json.loads((out / "training_info.json").read_text(encoding="utf-8"))
    return {
        "config": name,
        "compute_dtype": info.get("compute_dtype"),
        "steps": args.steps,
        "real_tokens_per_s": info["tokens_per_second"],
        "train_s": info["durations"]["train"],
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "train_loss": info.get("train_loss"),
    }


def _known(name: str) -> bool:
    try:
        parse_config(name)
    except ValueError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", default="artifacts/data/template/train_fixed.jsonl", help="training rows (v2 JSONL)")
    p.add_argument("--model", default="hf:artifacts/models/smollm2-135m-instruct", help="base model spec")
    p.add_argument("--prompt", default="prompts/finetune.json", help="training prompt file")
    p.add_argument(
        "--configs", default="fp32,bf16", help="comma-separated: fp32, bf16, auto, each with an optional +bN"
    )
    p.add_argument("--steps", type=int, default=6, help="optimizer steps per configuration")
    p.add_argument("--grad-accum", type=int, default=4, help="samples per optimizer step")
    p.add_argument("--threads", type=int, default=2, help="torch threads (training and the peak)")
    p.add_argument("--out", help="also write the results as JSON here")
    args = p.parse_args(argv)
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in names if not _known(c)]
    if unknown or not names:
        p.error(f"--configs: unknown {unknown}; choose from {', '.join(CONFIG_ENV)}, each with an optional +bN")
    if not Path(args.train).is_file():
        p.error(f"--train {args.train}: not found; run `make finetune` (or `make data`) first")
    peaks = {dt: round(matmul_gflops(dt, args.threads), 1) for dt in ("float32", "bfloat16")}
    n_params = model_parameters(Path(args.model.removeprefix("hf:")))
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        for name in names:
            r = run_config(name, args, Path(tmp))
            r["tflops"] = round(r["real_tokens_per_s"] * 4 * n_params / 1e12, 3)
            r["share_of_bf16_peak"] = round(r["tflops"] * 1e3 / peaks["bfloat16"], 3)
            results.append(r)
            print(f"{name}: {r['real_tokens_per_s']:.1f} real tokens/s", file=sys.stderr)
    first = results[0]["real_tokens_per_s"]
    report = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpu_count": os.cpu_count(),
        "threads": args.threads,
        "parameters": n_params,
        "matmul_gflops_1024": peaks,
        "rows_per_config": args.steps * args.grad_accum,
        "results": results,
    }
    print(
        f"| config | compute | real tokens/s | x {results[0]['config']} | train s | peak RSS MB | TFLOP/s | of bf16 peak |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['config']} | {r['compute_dtype']} | {r['real_tokens_per_s']:.1f} | "
            f"{r['real_tokens_per_s'] / first:.2f} | {r['train_s']:.1f} | {r['peak_rss_mb']:.0f} | "
            f"{r['tflops']:.3f} | {r['share_of_bf16_peak']:.0%} |"
        )
    print(f"\nmatrix-product peak at {args.threads} threads (1024^3): {peaks} GFLOP/s; {n_params:,} parameters")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
