"""ba-lora train: the recipe before and after the throughput work, side by side, on SmolLM2-135M.

    python benchmarks/bench_train.py --base artifacts/models/smollm2-135m-instruct \
        --rows 32 --out bench.json [--baseline-steps 1]

Every configuration trains one epoch over the same synthetic v2 rows
(benchmarks/synth_rows.py) in its own ``ba-lora train`` process (so each has its own peak
RSS), with the code of this checkout:

* ``before``: the training configuration ``make finetune`` used at adccde9: ba-llm's long
  zero-shot prompt (~250 tokens on every sample), LoRA r 8 on q/k/v/o, dropout 0.05, lr
  2e-4, grad-accum 8, samples unpadded;
* ``after``: today's ``make finetune`` recipe: the short training prompt
  (prompts/finetune.json), LoRA r 8 on all linear layers, dropout 0, lr 5e-4, grad-accum 4,
  micro-batches padded to a multiple of 64 tokens;
* ``after-unpadded``: ``after`` with ``--pad-to-multiple 0`` (every sample its own length,
  as before 2026-12-06);
* ``before-fp32``, ``after-fp32``: the same with the base computing in float32 whatever
  ``ba_llm.precision`` decides (``BA_BF16=0``), e.g. ``--configs after-fp32,after`` for what
  training in bf16 gains on a CPU where it is measured faster.

Reported per configuration: wall seconds of the epoch's training steps, real / answer
tokens, real tokens/s, peak RSS of the process, and the achieved FLOP/s against
``torch.matmul`` of 1024 x 1024 matrices in the dtype the training computes in (float32
on a CPU without native bf16, see ba_llm.precision), measured before and after the runs.
``--baseline-steps N`` adds the original script's way (transformers Trainer + peft, pad to
2048, loss on every token) for N optimizer steps, extrapolated to the epoch.

FLOP accounting (per epoch): the frozen base costs 2 N (forward) + 2 N (backward,
activation gradients only; no weight gradients for frozen layers) per real token, N = the
decoder's linear weights; the LoRA matrices 6 per parameter per token; the LM head
4 V d per answer token only (forward, and backward into the hidden state); attention
scores 3 x 4 d per (query, key) pair under the causal mask (the recomputed scores of the
backward pass are not counted).
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

import torch

sys.path.insert(0, str(Path(__file__).parent))
from synth_rows import make_rows  # noqa: E402

CONFIGS: dict[str, dict] = {
    "before": {
        "prompt": None,
        "target_modules": "attention",
        "lora_dropout": 0.05,
        "lr": 2e-4,
        "grad_accum": 8,
        "pad_to_multiple": 0,
    },
    "after": {
        "prompt": "prompts/finetune.json",
        "target_modules": "all-linear",
        "lora_dropout": 0.0,
        "lr": 5e-4,
        "grad_accum": 4,
    },
}
# today's recipe without padding micro-batches to a multiple of 64 tokens (before 2026-12-06)
CONFIGS["after-unpadded"] = {**CONFIGS["after"], "pad_to_multiple": 0}
# each recipe again with the base computing in float32 whatever ba_llm.precision decides
# (BA_BF16=0): what the trainer did on a CPU without AMX before bf16 was measured (#14)
for _name in list(CONFIGS):
    CONFIGS[f"{_name}-fp32"] = {**CONFIGS[_name], "env": {"BA_BF16": "0"}}
ROOT = Path(__file__).resolve().parents[3]


def matmul_flops(dtype: torch.dtype, n: int = 1024, seconds: float = 3.0) -> dict:
    """matmul FLOP/s in ``dtype`` per wall second and per CPU second of this process."""
    a = torch.randn(n, n, dtype=dtype)
    b = torch.randn(n, n, dtype=dtype)
    for _ in range(3):
        a @ b
    count, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        torch.matmul(a, b)
        count += 1
    flops = 2 * n**3 * count
    return {"wall": flops / (time.perf_counter() - t0), "cpu": flops / (time.process_time() - c0)}


def write_rows(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in make_rows(n, seed=0):
            f.write(json.dumps(row) + "\n")


def run_config(name: str, base: Path, train: Path, out: Path) -> tuple[dict, float]:
    """``ba-lora train`` of configuration ``name`` in a child process: (training_info, peak RSS MB)."""
    c = CONFIGS[name]
    cmd = [
        str(Path(sys.executable).with_name("ba-lora")),
        "train",
        "--train",
        str(train),
        "--output",
        str(out),
        "--model",
        str(base),
        "--quantization",
        "bf16",
        "--epochs",
        "1",
        "--save-steps",
        "0",
        "--target-modules",
        c["target_modules"],
        "--lora-dropout",
        str(c["lora_dropout"]),
        "--lr",
        str(c["lr"]),
        "--grad-accum",
        str(c["grad_accum"]),
        "--overwrite",
    ]
    if c["prompt"]:
        cmd += ["--prompt", str(ROOT / c["prompt"])]
    if "pad_to_multiple" in c:
        cmd += ["--pad-to-multiple", str(c["pad_to_multiple"])]
    proc = subprocess.Popen(cmd, env={**os.environ, "BA_NO_PROGRESS": "1", **c.get("env", {})})
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name}: ba-lora train failed ({' '.join(cmd)})")
    return json.loads((out / "training_info.json").read_text()), usage.ru_maxrss / 1024


def epoch_flops(model_dir: Path, train: Path, trainable: int, prompt: str | None) -> dict:
    """FLOPs of one ba-lora epoch over ``train`` on the model in ``model_dir`` (the docstring's
    accounting; ``trainable`` = LoRA parameters)."""
    from transformers import AutoConfig

    from ba_io import read_jsonl
    from ba_llm.prompt import load_prompt
    from ba_lora.data import encode_rows
    from ba_lora.modeling import load_tokenizer

    c = AutoConfig.from_pretrained(str(model_dir))
    d, L, V = c.hidden_size, c.num_hidden_layers, c.vocab_size
    hd = getattr(c, "head_dim", None) or d // c.num_attention_heads
    kv = c.num_key_value_heads * hd
    n_linear = L * (d * d * 2 + d * kv * 2 + 3 * d * c.intermediate_size)
    samples, _ = encode_rows(load_tokenizer(model_dir), load_prompt(prompt), read_jsonl(train, "example-v2"), 2048)
    real = sum(s.length for s in samples)
    answer = sum(s.n_answer for s in samples)
    attn_pairs = sum(s.length * (s.length + 1) // 2 for s in samples)
    total = (
        4 * n_linear * real
        + 6 * trainable * real
        + 4 * V * d * answer
        + 3 * 4 * c.num_attention_heads * hd * attn_pairs * L
    )
    return {"flops": total, "n_linear": n_linear, "real_tokens": real, "answer_tokens": answer, "samples": len(samples)}


def run_baseline(base: Path, train: Path, steps: int, out: Path) -> dict:
    """transformers Trainer + peft as the original script did it: pad to 2048, loss on all tokens."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments

    from ba_io import read_jsonl
    from ba_llm.prompt import load_prompt, training_pair
    from ba_lora.data import answer_text

    tok = AutoTokenizer.from_pretrained(str(base))
    prompt = load_prompt(None)
    rows = read_jsonl(train, "example-v2")[: steps * 8]
    feats, real = [], 0
    for r in rows:
        _, full = training_pair(tok, prompt, r["concept"], answer_text(r))
        enc = tok(full, add_special_tokens=False, padding="max_length", max_length=2048, truncation=True)
        labels = [t if m else -100 for t, m in zip(enc["input_ids"], enc["attention_mask"])]
        real += sum(enc["attention_mask"])
        feats.append({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": labels})

    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.bfloat16)
    model = get_peft_model(
        model,
        LoraConfig(
            r=8,
            lora_alpha=32,
            lora_dropout=0.05,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
            task_type="CAUSAL_LM",
        ),
    )
    args = TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=1,
        gradient_accumulation_steps=8,
        learning_rate=2e-4,
        max_steps=steps,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        dataloader_num_workers=0,
        seed=42,
        disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=args, train_dataset=feats)
    t0, c0 = time.perf_counter(), time.process_time()
    trainer.train()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "samples": len(feats),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "seconds_per_sample": seconds / len(feats),
        "cpu_seconds_per_sample": cpu / len(feats),
        "real_tokens": real,
        "computed_tokens": 2048 * len(feats),
        "real_tokens_per_second": real / seconds,
    }


def _ratios(new: dict, old: dict) -> dict:
    """``new`` against ``old``: wall time, computed tokens, tokens/s and peak RSS."""
    return {
        "wall_time_ratio": new["epoch_seconds"] / old["epoch_seconds"],
        "real_tokens_ratio": new["real_tokens"] / old["real_tokens"],
        "tokens_per_second_ratio": new["real_tokens_per_second"] / old["real_tokens_per_second"],
        "peak_rss_ratio": new["peak_rss_mb"] / old["peak_rss_mb"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, default=Path("artifacts/models/smollm2-135m-instruct"))
    ap.add_argument("--rows", type=int, default=32)
    ap.add_argument("--configs", default="before,after", help="comma-separated, of: " + ", ".join(CONFIGS))
    ap.add_argument(
        "--baseline-steps",
        type=int,
        default=0,
        help="optimizer steps (8 samples each) of the Trainer + peft baseline (default 0: skip)",
    )
    ap.add_argument("--out", type=Path, help="write the figures as JSON here")
    a = ap.parse_args()
    names = [n.strip() for n in a.configs.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        raise SystemExit(f"--configs: unknown {', '.join(unknown)} (known: {', '.join(CONFIGS)})")
    report: dict = {
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "rows": a.rows,
        "cpu": platform.processor() or platform.machine(),
        "configs": {},
    }
    mm: dict[str, list] = {"float32": [], "bfloat16": []}

    def probe() -> None:
        for dt in mm:
            mm[dt].append(matmul_flops(getattr(torch, dt), seconds=2.0))

    with tempfile.TemporaryDirectory() as tmp:
        train_file = Path(tmp) / "train.jsonl"
        write_rows(train_file, a.rows)
        probe()
        for name in names:
            info, rss = run_config(name, a.base, train_file, Path(tmp) / name)
            fl = epoch_flops(
                a.base,
                train_file,
                info["trainable_parameters"],
                CONFIGS[name]["prompt"] and str(ROOT / CONFIGS[name]["prompt"]),
            )
            epoch_s = info["epochs"][0]["seconds"]
            report["configs"][name] = {
                **CONFIGS[name],
                "compute_dtype": info.get("compute_dtype"),
                "epoch_seconds": epoch_s,
                "epoch_cpu_seconds": info["durations"]["train_cpu"],
                "real_tokens_per_second": info["tokens_per_second"],
                "padding_fraction": info["tokens"]["padding_fraction"],
                "peak_rss_mb": round(rss, 1),
                **fl,
                "achieved_flops_per_second": fl["flops"] / epoch_s,
            }
            probe()
        if a.baseline_steps:
            base = run_baseline(a.base, train_file, a.baseline_steps, Path(tmp) / "baseline")
            fl = epoch_flops(a.base, train_file, 0, None)
            base["epoch_seconds_extrapolated"] = base["seconds_per_sample"] * fl["samples"]
            report["baseline"] = base
    report["matmul"] = mm
    for r in report["configs"].values():
        ref = mm.get(r["compute_dtype"] or "float32") or mm["float32"]
        peak = sum(x["wall"] for x in ref) / len(ref)
        r["matmul_reference_dtype"] = r["compute_dtype"]
        r["fraction_of_matmul"] = r["achieved_flops_per_second"] / peak
    for new, old, key in (("after", "before", "after_vs_before"), ("after", "after-fp32", "after_vs_after_fp32")):
        if new in report["configs"] and old in report["configs"]:
            report[key] = _ratios(report["configs"][new], report["configs"][old])
    if "baseline" in report and "after" in report["configs"]:
        report["baseline"]["speedup_epoch_wall_vs_after"] = (
            report["baseline"]["epoch_seconds_extrapolated"] / report["configs"]["after"]["epoch_seconds"]
        )
    print(json.dumps(report, indent=2))
    if a.out:
        a.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
