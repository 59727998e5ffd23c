"""ba-lora train against a baseline written like the original script, on SmolLM2-135M bf16.

    python benchmarks/bench_train.py --base artifacts/models/smollm2-135m-instruct \
        --rows 32 --baseline-steps 1 --out bench.json

Both train on the same synthetic v2 rows (benchmarks/synth_rows.py; the default prompt,
about 330 prompt + 350-550 answer tokens per sample) with the same LoRA settings
(r 8, alpha 32, dropout 0.05, q/k/v/o, lr 2e-4, batch 1 x grad-accum 8).

* ours: ``ba_lora.train`` for one epoch over every row (wall seconds of the epoch's
  training steps, real tokens/s from training_info.json);
* baseline: transformers ``Trainer`` + peft, every sample padded to max_length 2048,
  the loss over every real token (labels = input ids, padding masked), batch 1, grad-accum
  8, for ``--baseline-steps`` optimizer steps; its epoch time is extrapolated from the
  seconds per sample.

FLOP accounting (per epoch, ours): the frozen base costs 2 N (forward) + 2 N (backward,
activation gradients only; no weight gradients for frozen layers) per real token, N = the
decoder's linear weights; the LoRA matrices 6 per parameter per token; the LM head
4 V d per answer token only (forward, and backward into the hidden state); attention
scores 3 x 4 d per (query, key) pair under the causal mask. Achieved FLOP/s = that total /
the epoch's training seconds, compared with torch.matmul of 1024 x 1024 bf16 matrices
measured in the same process (before and after the runs).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from synth_rows import make_rows  # noqa: E402


def matmul_flops(n: int = 1024, seconds: float = 3.0) -> dict:
    """bf16 matmul FLOP/s per wall second and per CPU second of this process."""
    a = torch.randn(n, n, dtype=torch.bfloat16)
    b = torch.randn(n, n, dtype=torch.bfloat16)
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


def run_ours(base: Path, train: Path, out: Path) -> dict:
    from ba_lora import TrainConfig, train as ba_train

    cfg = TrainConfig(train=str(train), output=str(out), base_model=str(base), quantization="bf16", epochs=1,
                      save_steps=0, overwrite=True)
    return ba_train(cfg)


def epoch_flops(model_dir: Path, train: Path, trainable: int) -> dict:
    """FLOPs of one ba-lora epoch over ``train`` on the model in ``model_dir`` (the docstring's
    accounting; ``trainable`` = LoRA parameters)."""
    from ba_llm.prompt import load_prompt
    from transformers import AutoConfig

    from ba_io import read_jsonl
    from ba_lora.data import encode_rows
    from ba_lora.modeling import load_tokenizer

    c = AutoConfig.from_pretrained(str(model_dir))
    d, L, V = c.hidden_size, c.num_hidden_layers, c.vocab_size
    hd = getattr(c, "head_dim", None) or d // c.num_attention_heads
    kv = c.num_key_value_heads * hd
    n_linear = L * (d * d * 2 + d * kv * 2 + 3 * d * c.intermediate_size)
    samples, _ = encode_rows(load_tokenizer(model_dir), load_prompt(None), read_jsonl(train, "example-v2"), 2048)
    real = sum(s.length for s in samples)
    answer = sum(s.n_answer for s in samples)
    attn_pairs = sum(s.length * (s.length + 1) // 2 for s in samples)
    total = (4 * n_linear * real + 6 * trainable * real + 4 * V * d * answer
             + 3 * 4 * c.num_attention_heads * hd * attn_pairs * L)
    return {"flops": total, "n_linear": n_linear, "real_tokens": real, "answer_tokens": answer,
            "samples": len(samples)}


def run_baseline(base: Path, train: Path, steps: int, out: Path) -> dict:
    """transformers Trainer + peft as the original script did it: pad to 2048, loss on all tokens."""
    from ba_llm.prompt import load_prompt, training_pair
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments

    from ba_io import read_jsonl
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
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=32, lora_dropout=0.05,
                                             target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                                             task_type="CAUSAL_LM"))
    args = TrainingArguments(output_dir=str(out), per_device_train_batch_size=1, gradient_accumulation_steps=8,
                             learning_rate=2e-4, max_steps=steps, logging_steps=1, save_strategy="no",
                             report_to=[], use_cpu=True, dataloader_num_workers=0, seed=42,
                             disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=feats)
    t0, c0 = time.perf_counter(), time.process_time()
    trainer.train()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"samples": len(feats), "seconds": seconds, "cpu_seconds": cpu, "seconds_per_sample": seconds / len(feats),
            "cpu_seconds_per_sample": cpu / len(feats),
            "real_tokens": real, "computed_tokens": 2048 * len(feats), "real_tokens_per_second": real / seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, default=Path("artifacts/models/smollm2-135m-instruct"))
    ap.add_argument("--rows", type=int, default=32)
    ap.add_argument("--baseline-steps", type=int, default=1, help="optimizer steps (8 samples each) of the baseline")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--out", type=Path, help="write the figures as JSON here")
    a = ap.parse_args()
    os.environ.setdefault("BA_NO_PROGRESS", "1")
    report: dict = {"threads": torch.get_num_threads(), "torch": torch.__version__, "rows": a.rows}
    with tempfile.TemporaryDirectory() as tmp:
        train_file = Path(tmp) / "train.jsonl"
        write_rows(train_file, a.rows)
        mm = [matmul_flops()]
        info = run_ours(a.base, train_file, Path(tmp) / "ours")
        mm.append(matmul_flops())
        fl = epoch_flops(a.base, train_file, info["trainable_parameters"])
        epoch_s = info["epochs"][0]["seconds"]
        epoch_cpu = info["durations"]["train_cpu"]
        report["ours"] = {"epoch_seconds": epoch_s, "epoch_cpu_seconds": epoch_cpu,
                          "real_tokens_per_second": info["tokens_per_second"],
                          "padding_fraction": info["tokens"]["padding_fraction"], **fl,
                          "achieved_flops_per_second": fl["flops"] / epoch_s,
                          "achieved_flops_per_cpu_second": fl["flops"] / epoch_cpu}
        if not a.skip_baseline:
            base = run_baseline(a.base, train_file, a.baseline_steps, Path(tmp) / "baseline")
            mm.append(matmul_flops())
            base["epoch_seconds_extrapolated"] = base["seconds_per_sample"] * fl["samples"]
            base["epoch_cpu_seconds_extrapolated"] = base["cpu_seconds_per_sample"] * fl["samples"]
            report["baseline"] = base
            report["speedup_epoch_wall"] = base["epoch_seconds_extrapolated"] / epoch_s
            report["speedup_epoch_cpu"] = base["epoch_cpu_seconds_extrapolated"] / epoch_cpu
    report["matmul_bf16"] = mm
    # ours ran between the first two probes
    wall = (mm[0]["wall"] + mm[1]["wall"]) / 2
    cpu = (mm[0]["cpu"] + mm[1]["cpu"]) / 2
    report["ours"]["fraction_of_matmul_wall"] = report["ours"]["achieved_flops_per_second"] / wall
    report["ours"]["fraction_of_matmul_cpu"] = report["ours"]["achieved_flops_per_cpu_second"] / cpu
    print(json.dumps(report, indent=2))
    if a.out:
        a.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
