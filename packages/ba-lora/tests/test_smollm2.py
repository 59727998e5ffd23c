"""One real path: a few steps on the embedded SmolLM2-135M-Instruct (bf16), chosen by its
ba-llm spec, with the BA metric on a validation concept; the adapter then serves through
ba-llm's hf:BASE+lora:DIR spec."""

from __future__ import annotations

import pytest
from conftest import run_cli

from ba_io import read_json, validate


@pytest.mark.slow
def test_smollm2_bf16_end_to_end(smollm2_dir, tmp_path, data_dir):
    out = tmp_path / "smollm2-bf16"
    env = {"BA_MODELS_DIR": str(smollm2_dir.parent)}
    res = run_cli(
        "train",
        "--train",
        str(data_dir / "train.jsonl"),
        "--val",
        str(data_dir / "val.jsonl"),
        "--output",
        str(out),
        "--model",
        "smollm2",
        "--quantization",
        "bf16",
        "--train-limit",
        "4",
        "--val-limit",
        "2",
        "--grad-accum",
        "2",
        "--max-steps",
        "2",
        "--max-length",
        "1024",
        "--eval-metric",
        "1",
        "--eval-max-new-tokens",
        "24",
        "--lr",
        "1e-3",
        env=env,
    )
    assert res.returncode == 0, res.stderr
    info = read_json(out / "training_info.json")
    assert validate(info, "training-info") == []
    assert info["base_model"] == "smollm2" and info["base_model_path"] == str(smollm2_dir.resolve())
    assert info["quantization"] == "bf16" and info["status"] == "max_steps" and info["steps"] == 2
    e = info["epochs"][0]
    # a pretrained instruct model already knows YAML: far below ln(49152) = 10.8
    assert 0.05 < e["train_loss"] < 4 and 0.05 < e["val_loss"] < 4
    assert 0.0 <= e["metric"] <= 1.0
    assert info["samples"]["truncated"] == 0 and info["tokens"]["computed"] % 64 == 0  # --pad-to-multiple 64
    assert info["trainable_parameters"] == 30 * 8 * (2 * (576 + 576) + 2 * (576 + 192))  # q,o + k,v

    from ba_llm import generate

    rows = generate(
        f"hf:{smollm2_dir}+lora:{out}",
        [{"id": "c1", "concept": "A web portal for dog walkers."}],
        max_new_tokens=8,
        progress=False,
    )
    assert rows[0]["completion_tokens"] >= 1 and rows[0]["text"]
