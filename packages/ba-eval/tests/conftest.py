"""Shared fixtures: prediction-file builders and a tiny random Llama with a ChatML tokenizer.

The tiny model follows ba-llm's test fixture: a 2-layer LlamaConfig with random weights
and a byte-level BPE tokenizer trained on the fly, saved to a temporary directory (no hub,
no download).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["BA_NO_PROGRESS"] = "1"

import pytest  # noqa: E402

DATA = Path(__file__).parent / "data"

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CORPUS = [
    "title: Community garden plot reservations",
    "description: A mobile app for community garden members to reserve plots.",
    "functional_requirements:\n  - id: FR001\n    description: Members shall reserve a plot.\n    priority: High",
    "non_functional_requirements:\n  - id: NFR001\n    description: Pages load in 2 seconds.\n    priority: Medium",
    "constraints:\n  - id: C001\n    description: The budget is under $20k.\n    priority: Low",
]


def make_tiny_model(path: Path, hidden: int = 32, seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tk.train_from_iterator(CORPUS, trainer=trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk, bos_token="<|im_start|>", eos_token="<|im_end|>", unk_token="<|endoftext|>"
    )
    tok.chat_template = CHATML
    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        initializer_range=0.2,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    model = LlamaForCausalLM(cfg)
    model.generation_config = GenerationConfig(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    model.save_pretrained(path, safe_serialization=True)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def curated_rows() -> list[dict]:
    from ba_eval import curated_path

    return [json.loads(line) for line in curated_path().read_text(encoding="utf-8").splitlines() if line.strip()]


def pred_row(example_id: str, concept: str, run: int, text: str, model: str = "m", **extra) -> dict:
    """A minimal valid prediction row."""
    row = {
        "id": example_id,
        "concept": concept,
        "model": model,
        "run": run,
        "text": text,
        "prompt_tokens": 10,
        "completion_tokens": 50,
        "latency_s": 0.5,
        "decoding": {"mode": "sample"},
    }
    row.update(extra)
    return row


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real console entry point in a subprocess (same interpreter)."""
    return subprocess.run(
        [sys.executable, "-m", "ba_eval", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "BA_NO_PROGRESS": "1"},
    )


def cli_main(*args: str) -> int:
    """The CLI's main() in-process (argparse, run_cli error mapping and all); returns the exit code."""
    from ba_eval.cli import main

    try:
        main(list(args))
    except SystemExit as e:
        return int(e.code or 0)
    return 0
