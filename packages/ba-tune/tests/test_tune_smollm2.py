"""One small real run: ``ba-tune mipro`` on the embedded SmolLM2-135M-Instruct (5 calls of <= 32 tokens)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ba_io import validate
from ba_llm.prompt import load_prompt, render_messages

BA_TUNE = str(Path(sys.executable).with_name("ba-tune"))


@pytest.fixture(scope="session")
def smollm2_dir(tmp_path_factory) -> Path:
    """SmolLM2 prepared by ``ba_llm.prepare`` from the embedded GGUF (about 20 s)."""
    from ba_llm import prepare

    return prepare("smollm2", tmp_path_factory.mktemp("models") / "smollm2-135m-instruct", log=lambda _m: None)


@pytest.mark.slow
@pytest.mark.integration
def test_tiny_mipro_run_on_smollm2(smollm2_dir, data_dir, tmp_path):
    out = tmp_path / "prompts" / "optimized.json"
    cmd = [
        BA_TUNE,
        "mipro",
        "--model",
        f"hf:{smollm2_dir}",
        "--train",
        str(data_dir / "train.jsonl"),
        "--val",
        str(data_dir / "val.jsonl"),
        "--num-trials",
        "2",
        "--num-candidates",
        "2",
        "--seed",
        "42",
        "--metric-threshold",
        "0.72",
        "--train-limit",
        "2",
        "--val-limit",
        "1",
        "--max-new-tokens",
        "32",
        "--max-bootstrapped-demos",
        "1",
        "--max-labeled-demos",
        "1",
        "--no-program-aware",
        "--no-data-aware",
        "-o",
        str(out),
    ]
    env = {**os.environ, "BA_NO_PROGRESS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "deprecated" not in proc.stderr  # the contract's spellings

    log = json.loads(out.with_name("optimized.log.json").read_text())
    prompt = load_prompt(out)
    assert validate(json.loads(out.read_text()), "prompt") == []
    assert render_messages(prompt, "A parking permit system for a town council.")[-1]["role"] == "user"
    assert proc.stdout.splitlines()[0] == (
        f"baseline {log['baseline_score']:.4f}  best {log['best_score']:.4f}  "
        + ("(improved)" if log["improved"] else "(no candidate beat the baseline; wrote the baseline prompt)")
    )
    trials = log["trials"]
    assert trials[0]["kind"] == "baseline" and len(trials) == 1 + 2
    assert log["best_score"] >= log["baseline_score"]
    assert log["improved"] == (log["best_score"] > log["baseline_score"])
    if not log["improved"]:
        assert prompt.sha256 == load_prompt(None).sha256
    # 2 instruction proposals + baseline and 2 trials on 1 val example (no bootstrapping with 2 candidates)
    assert log["lm_calls"]["task"]["calls"] == 5 and log["lm_calls"]["task"]["errors"] == 0
    assert log["inputs"]["model"] == f"hf:{smollm2_dir}"
    state = json.loads(out.with_name("optimized.program.json").read_text())
    assert state["metadata"]["dependency_versions"]["dspy"]
