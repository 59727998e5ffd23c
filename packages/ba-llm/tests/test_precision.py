"""The one bf16 rule: native where the device computes it, float32 elsewhere."""

from __future__ import annotations

import pytest

from ba_llm.precision import native_bf16, resolve_dtype


def test_override_by_environment(monkeypatch):
    monkeypatch.setenv("BA_BF16", "0")
    assert native_bf16("cpu") is False and resolve_dtype("auto") == "float32"
    monkeypatch.setenv("BA_BF16", "1")
    assert native_bf16("cpu") is True and resolve_dtype("auto") == "bfloat16"


def test_detection_measures_the_cpu(monkeypatch):
    """bf16 is native on a CPU with AMX tiles, and elsewhere where a measured product runs
    clearly faster in it: AVX512-BF16 alone was 0.59x float32 on one VM and 4.4x on another."""
    import torch

    from ba_llm import precision

    monkeypatch.delenv("BA_BF16", raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.setattr(precision, "cpu_bf16_speedup", lambda: 0.59)
    assert native_bf16("cpu") is False and resolve_dtype("auto", "cpu") == "float32"
    monkeypatch.setattr(precision, "cpu_bf16_speedup", lambda: 4.4)
    assert native_bf16("cpu") is True
    monkeypatch.setattr(precision, "cpu_bf16_speedup", lambda: 0.01)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert native_bf16("cpu") is True
    # #16: generation stays float32 on a bf16 CPU too, so its greedy documents are those of
    # every other CPU and of the exported GGUF (training there computes in bf16)
    assert resolve_dtype("auto", "cpu") == "float32"


def test_the_measurement_is_a_ratio_taken_once(monkeypatch):
    import torch

    from ba_llm.precision import BF16_MIN_SPEEDUP, cpu_bf16_speedup

    monkeypatch.delenv("BA_BF16", raising=False)
    ratio = cpu_bf16_speedup()
    assert ratio > 0 and cpu_bf16_speedup() is ratio  # cached: one measurement per process
    expected = bool(torch.cpu._is_amx_tile_supported()) or ratio >= BF16_MIN_SPEEDUP
    assert native_bf16("cpu") is expected


def test_the_measurement_runs_on_one_thread_and_restores_the_count(monkeypatch):
    # a two-thread timing on a busy machine said 0.57 on a CPU whose kernels are 4.5x faster
    # in bf16, and training then ran in float32 at half the speed
    import torch

    from ba_llm import precision

    seen = []
    real_mm = torch.mm

    def mm(a, b):
        seen.append(torch.get_num_threads())
        return real_mm(a, b)

    monkeypatch.setattr(torch, "mm", mm)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        precision.cpu_bf16_speedup.__wrapped__()
        assert seen and set(seen) == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_explicit_dtypes_are_kept(dtype, monkeypatch):
    monkeypatch.setenv("BA_BF16", "0")
    assert resolve_dtype(dtype) == dtype
