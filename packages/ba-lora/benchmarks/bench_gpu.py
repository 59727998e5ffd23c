"""ba-lora train on a CUDA GPU: bf16 LoRA and bnb4 QLoRA on randomly initialised Llama models.

    python benchmarks/bench_gpu.py --tokenizer DIR --out gpu.json [--sizes smollm2-135m,llama-1b,llama-7b]

No weights are downloaded: each model is a randomly initialised Llama of the named shape
(``SHAPES``) saved with the tokenizer and chat template of ``--tokenizer`` (any ba-llm
prepared model directory), so the figures are throughput and memory, not quality (the loss
still falls: the synthetic rows are learnable). Per size and quantization it runs
``ba_lora.train`` on the same synthetic v2 rows (benchmarks/synth_rows.py) for
``--epochs`` epochs (after ``--warmup`` untimed one-epoch runs) and records real tokens/s, seconds per step, peak GPU memory, the
training loss of each epoch, and achieved FLOP/s against a bf16 matmul measured in the
same process (FLOPs counted as in bench_train.py: 4 per frozen linear weight and real token,
6 per LoRA parameter, 4 V d per answer token for the LM head, 12 d per causal pair).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_train import epoch_flops  # noqa: E402
from synth_rows import make_rows  # noqa: E402

# name -> LlamaConfig fields (hidden, intermediate, layers, heads, kv heads)
SHAPES = {
    "smollm2-135m": dict(
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        tie_word_embeddings=True,
    ),
    "llama-1b": dict(
        hidden_size=2048,
        intermediate_size=5632,
        num_hidden_layers=22,
        num_attention_heads=32,
        num_key_value_heads=4,
        tie_word_embeddings=False,
    ),
    "llama-7b": dict(
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        tie_word_embeddings=False,
    ),
}


def matmul_flops(n: int = 8192, reps: int = 20) -> float:
    a = torch.randn(n, n, dtype=torch.bfloat16, device="cuda")
    b = torch.randn(n, n, dtype=torch.bfloat16, device="cuda")
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def build_model(name: str, tokenizer_dir: Path, dest: Path) -> Path:
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    cfg = LlamaConfig(
        vocab_size=len(tok),
        max_position_embeddings=4096,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        rms_norm_eps=1e-5,
        **SHAPES[name],
    )
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = LlamaForCausalLM(cfg).to(torch.bfloat16)
    model.save_pretrained(str(dest), safe_serialization=True)
    tok.save_pretrained(str(dest))
    del model
    torch.cuda.empty_cache()
    return dest


def run(name: str, quant: str, model_dir: Path, train: Path, epochs: int, out: Path, micro_batch_tokens: int) -> dict:
    from ba_lora import TrainConfig
    from ba_lora import train as ba_train

    gc.collect()  # the previous run's peft model sits in reference cycles
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    cfg = TrainConfig(
        train=str(train),
        output=str(out),
        base_model=str(model_dir),
        quantization=quant,
        epochs=epochs,
        save_steps=0,
        overwrite=True,
        lr=1e-3,
        early_stopping_patience=0,
        micro_batch_tokens=micro_batch_tokens,
    )
    t0 = time.perf_counter()
    info = ba_train(cfg)
    wall = time.perf_counter() - t0
    fl = epoch_flops(model_dir, train, info["trainable_parameters"])["flops"]
    return {
        "model": name,
        "quantization": quant,
        "steps": info["steps"],
        "wall_seconds": wall,
        "train_seconds": info["durations"]["train"],
        "seconds_per_step": info["durations"]["train"] / info["steps"],
        "real_tokens_per_second": info["tokens_per_second"],
        "peak_gpu_memory_gib": torch.cuda.max_memory_allocated() / 2**30,
        "epoch_train_losses": [e["train_loss"] for e in info["epochs"]],
        "achieved_flops_per_second": fl * epochs / info["durations"]["train"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", type=Path, required=True, help="a model directory with the tokenizer to use")
    ap.add_argument("--sizes", default="smollm2-135m,llama-1b,llama-7b")
    ap.add_argument("--quants", default="bf16,bnb4")
    ap.add_argument("--rows", type=int, default=32, help="synthetic rows (8 per optimizer step)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1, help="untimed one-epoch runs before each measured run")
    ap.add_argument("--micro-batch-tokens", type=int, default=16384)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    os.environ.setdefault("BA_NO_PROGRESS", "1")
    assert torch.cuda.is_available(), "bench_gpu.py needs a CUDA GPU"
    report: dict = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "runs": []}
    report["matmul_bf16_flops"] = matmul_flops()
    with tempfile.TemporaryDirectory() as tmp:
        train = Path(tmp) / "train.jsonl"
        train.write_text("".join(json.dumps(r) + "\n" for r in make_rows(a.rows, seed=0)))
        for name in a.sizes.split(","):
            model_dir = build_model(name, a.tokenizer, Path(tmp) / name)
            for quant in a.quants.split(","):
                try:
                    for _ in range(a.warmup):  # first use of a shape pays cuBLAS / allocator start-up
                        run(name, quant, model_dir, train, 1, Path(tmp) / f"{name}-{quant}", a.micro_batch_tokens)
                    r = run(
                        name, quant, model_dir, train, a.epochs, Path(tmp) / f"{name}-{quant}", a.micro_batch_tokens
                    )
                    r["fraction_of_matmul"] = r["achieved_flops_per_second"] / report["matmul_bf16_flops"]
                except Exception as exc:  # record and go on to the next configuration
                    r = {"model": name, "quantization": quant, "error": f"{type(exc).__name__}: {exc}"}
                print(json.dumps(r), flush=True)
                report["runs"].append(r)
                torch.cuda.empty_cache()
    print(json.dumps(report, indent=2))
    if a.out:
        a.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
