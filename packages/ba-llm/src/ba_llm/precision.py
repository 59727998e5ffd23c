"""Whether bfloat16 runs natively on a device: the one rule that generation and training share.

A CPU without AVX512-BF16 or AMX emulates bf16 matrix products about 100x slower than
float32 (measured on a 2-core AMD EPYC VM exposing AVX2 only: 0.7 vs 75 GFLOP/s for a
1024^3 product on one thread), so there "bf16" models are computed in float32 instead.
``BA_BF16=1`` / ``BA_BF16=0`` overrides the detection (tests, benchmarks).
"""

from __future__ import annotations

import os

__all__ = ["native_bf16", "resolve_dtype"]

DTYPES = ("auto", "bfloat16", "float32")


def native_bf16(device_type: str = "cpu") -> bool:
    """True when bf16 matrix products run natively on ``device_type`` ("cpu", "cuda", ...)."""
    forced = os.environ.get("BA_BF16", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    import torch

    if device_type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device_type == "cpu":
        cpu = getattr(torch, "cpu", None)
        checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
        return any(bool(check()) for check in checks if callable(check))
    return True


def resolve_dtype(requested: str, device_type: str = "cpu") -> str:
    """``auto`` -> ``bfloat16`` where it is native, else ``float32``; others unchanged."""
    if requested == "auto":
        return "bfloat16" if native_bf16(device_type) else "float32"
    return requested
