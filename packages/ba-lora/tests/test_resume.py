"""kill -9 a training run after a checkpoint exists, resume it, and get the result of an
uninterrupted run."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ba_io import read_json
from ba_lora.checkpoint import latest_checkpoint, load_checkpoint

from conftest import run_cli, train_args

ARGS = ("--epochs", "2", "--grad-accum", "4", "--save-steps", "1", "--lr", "5e-3", "--lora-dropout", "0.1")


def _exe() -> list[str]:
    exe = Path(sys.executable).with_name("ba-lora")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ba_lora.cli"]


@pytest.mark.slow
def test_kill_9_then_resume_matches_an_uninterrupted_run(tiny_model_dir, tmp_path, data_dir):
    ref_out = tmp_path / "uninterrupted"
    res = run_cli(*train_args(tiny_model_dir, ref_out, data_dir, *ARGS))
    assert res.returncode == 0, res.stderr
    ref = read_json(ref_out / "training_info.json")
    assert ref["steps"] == 6  # 12 rows / 4 per step x 2 epochs

    out = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "BA_LORA_TEST_STEP_SLEEP": "1.0"}
    proc = subprocess.Popen(_exe() + train_args(tiny_model_dir, out, data_dir, *ARGS), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = out / "checkpoints" / "step-00000002"  # mid-epoch 1: the data-order position matters
    deadline = time.time() + 300
    try:
        while not (target / "state.json").is_file():
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.time() < deadline, "no checkpoint appeared"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "training_info.json").exists()
    ck = latest_checkpoint(out / "checkpoints")
    step = load_checkpoint(ck)["step"]
    assert 2 <= step < 6
    (out / "checkpoints" / "step-00000099.tmp").mkdir()  # a checkpoint half-written when killed

    res = run_cli(*train_args(tiny_model_dir, out, data_dir, *ARGS, "--resume"))
    assert res.returncode == 0, res.stderr
    assert f"resuming from {ck}" in res.stderr
    got = read_json(out / "training_info.json")
    assert got["resumed_at_steps"] == [step]
    assert got["steps"] == ref["steps"] and got["status"] == "completed"
    for a, b in zip(got["epochs"], ref["epochs"]):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-6)
    w_ref = load_file(str(ref_out / "adapter_model.safetensors"))
    w_got = load_file(str(out / "adapter_model.safetensors"))
    assert w_ref.keys() == w_got.keys()
    for k in w_ref:
        assert torch.allclose(w_ref[k], w_got[k], rtol=1e-5, atol=1e-7), k


def test_resume_refuses_changed_settings(tiny_model_dir, tmp_path, data_dir):
    out = tmp_path / "run"
    res = run_cli(*train_args(tiny_model_dir, out, data_dir, "--max-steps", "1", "--grad-accum", "2",
                              "--keep-checkpoints"))
    assert res.returncode == 0, res.stderr
    ck = latest_checkpoint(out / "checkpoints")
    res = run_cli(*train_args(tiny_model_dir, out, data_dir, "--max-steps", "1", "--grad-accum", "2", "--resume",
                              "--lr", "1e-3"))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1] == (
        f"Error: --resume: {ck} was made with lr=0.0002, this run has 0.001; "
        "resume with the same settings or pass --overwrite")
