"""The one bf16 rule: native where the device computes it, float32 elsewhere."""

from __future__ import annotations

import pytest

from ba_llm.precision import native_bf16, resolve_dtype


def test_override_by_environment(monkeypatch):
    monkeypatch.setenv("BA_BF16", "0")
    assert native_bf16("cpu") is False and resolve_dtype("auto") == "float32"
    monkeypatch.setenv("BA_BF16", "1")
    assert native_bf16("cpu") is True and resolve_dtype("auto") == "bfloat16"


def test_detection_follows_the_cpu_flags(monkeypatch):
    """bf16 computes natively on a CPU with AMX tiles only: AVX512-BF16 alone was slower
    than float32 (131.6 vs 224.7 GFLOP/s, 129 vs 160 training tokens/s), AVX2 emulates it."""
    import torch

    monkeypatch.delenv("BA_BF16", raising=False)
    assert native_bf16("cpu") is bool(torch.cpu._is_amx_tile_supported())
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert native_bf16("cpu") is False and resolve_dtype("auto", "cpu") == "float32"
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert native_bf16("cpu") is True
    # #16: generation stays float32 on an AMX CPU too, so its greedy documents are those of
    # every other CPU and of the exported GGUF (training there computes in bf16)
    assert resolve_dtype("auto", "cpu") == "float32"


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_explicit_dtypes_are_kept(dtype, monkeypatch):
    monkeypatch.setenv("BA_BF16", "0")
    assert resolve_dtype(dtype) == dtype
