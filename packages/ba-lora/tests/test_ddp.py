"""The same command under `accelerate launch` with two CPU processes (gloo DDP) finishes,
writes a valid output and trains to the result of a single process (the effective batch
is batch_size x grad_accum samples whatever the process count)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import run_cli, train_args
from safetensors.torch import load_file

from ba_io import read_json, validate

ARGS = (
    "--epochs",
    "1",
    "--grad-accum",
    "4",
    "--lora-dropout",
    "0",
    "--lr",
    "5e-3",
    "--train-limit",
    "8",
    "--val-limit",
    "2",
    "--save-steps",
    "1",
)


@pytest.mark.slow
@pytest.mark.integration
def test_two_process_ddp_matches_one_process(tiny_model_dir, tmp_path, data_dir):
    single = tmp_path / "single"
    res = run_cli(*train_args(tiny_model_dir, single, data_dir, *ARGS))
    assert res.returncode == 0, res.stderr

    ddp = tmp_path / "ddp"
    accelerate = Path(sys.executable).with_name("accelerate")
    cmd = [
        str(accelerate),
        "launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "-m",
        "ba_lora.cli",
        *train_args(tiny_model_dir, ddp, data_dir, *ARGS),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count('"status": "completed"') == 1  # one summary, from rank 0

    a, b = read_json(single / "training_info.json"), read_json(ddp / "training_info.json")
    assert validate(b, "training-info") == []
    assert a["world_size"] == 1 and b["world_size"] == 2
    assert b["steps"] == a["steps"] == 2 and b["tokens"]["real"] == a["tokens"]["real"]
    assert b["epochs"][0]["train_loss"] == pytest.approx(a["epochs"][0]["train_loss"], rel=1e-5)
    assert b["epochs"][0]["val_loss"] == pytest.approx(a["epochs"][0]["val_loss"], rel=1e-5)
    wa = load_file(str(single / "adapter_model.safetensors"))
    wb = load_file(str(ddp / "adapter_model.safetensors"))
    for k in wa:
        assert torch.allclose(wa[k], wb[k], rtol=1e-4, atol=1e-6), k
