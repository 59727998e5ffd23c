"""--quantization bnb4: a real short run where bitsandbytes supports the device, and a
one-line error naming the fix where it does not."""

from __future__ import annotations

import importlib.util
import os

import pytest
import torch
from conftest import run_cli, train_args
from safetensors.torch import load_file

from ba_io import UsageError
from ba_lora.config import TrainConfig
from ba_lora.modeling import check_bnb4

HAVE_BNB = importlib.util.find_spec("bitsandbytes") is not None


@pytest.mark.skipif(not HAVE_BNB, reason="bitsandbytes is not installed (pip install 'ba-lora[bnb4]')")
def test_bnb4_trains_on_this_device(tiny_model_dir, tmp_path, data_dir):
    from ba_lora.trainer import train

    out = tmp_path / "bnb4"
    info = train(
        TrainConfig(
            train=str(data_dir / "train.jsonl"),
            val=str(data_dir / "val.jsonl"),
            output=str(out),
            base_model=str(tiny_model_dir),
            quantization="bnb4",
            max_length=384,
            max_steps=2,
            grad_accum=2,
            val_limit=2,
            save_steps=0,
            lr=1e-2,
        )
    )
    assert info["quantization"] == "bnb4" and info["status"] == "max_steps" and info["steps"] == 2
    assert info["epochs"][0]["train_loss"] > 0 and info["epochs"][0]["val_loss"] > 0
    w = load_file(str(out / "adapter_model.safetensors"))
    assert all(v.dtype == torch.float32 for v in w.values())
    assert any(v.abs().sum() > 0 for k, v in w.items() if "lora_B" in k)


def test_missing_bitsandbytes_fails_at_once_naming_the_fix(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # import raises ImportError
    with pytest.raises(UsageError) as err:
        check_bnb4(torch.device("cpu"))
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("--quantization bnb4 needs bitsandbytes")
    assert msg.endswith("pip install 'ba-lora[bnb4]' (bitsandbytes>=0.46), or train with --quantization bf16")


def test_old_bitsandbytes_on_cpu_is_refused_by_the_cli(tiny_model_dir, tmp_path, data_dir):
    env = {"PYTHONPATH": os.pathsep.join([str(data_dir / "old_bnb"), os.environ.get("PYTHONPATH", "")])}
    res = run_cli(*train_args(tiny_model_dir, tmp_path / "out", data_dir, "--quantization", "bnb4"), env=env)
    assert res.returncode == 2
    assert res.stderr.strip() == (
        "Error: --quantization bnb4 on CPU needs bitsandbytes>=0.46 (found 0.45.0); "
        "pip install 'ba-lora[bnb4]' (bitsandbytes>=0.46), or train with --quantization bf16"
    )
    assert not (tmp_path / "out").exists()
