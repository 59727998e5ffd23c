"""Whether bfloat16 is the fast dtype on a device: the one rule that generation and training share.

On a CPU, bf16 pays only with AMX tiles. Without AMX it is slower than float32:
* AVX2 only (a 2-core AMD EPYC VM): bf16 matrix products are emulated, 0.7 vs 75 GFLOP/s
  for a 1024^3 product on one thread;
* AVX512-BF16 without AMX (a 2-core Intel Xeon VM, 2026-12-02, torch 2.13, 2 threads): a
  1024^3 product runs at 131.6 GFLOP/s in bf16 against 224.7 in float32, and a LoRA
  training step of SmolLM2 at 129 real tokens/s computing in bf16 against 160 in float32
  (generation: 54.9 vs 52.4 tokens/s, no difference).
So there "bf16" models are computed in float32 (weights may stay bf16 on disk). Generation
on a CPU is float32 even with AMX (:func:`resolve_dtype`).
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
        amx = getattr(getattr(torch, "cpu", None), "_is_amx_tile_supported", None)
        return bool(amx()) if callable(amx) else False
    return True


def resolve_dtype(requested: str, device_type: str = "cpu") -> str:
    """The dtype a model *generates* in: ``auto`` -> ``float32`` on every CPU, ``bfloat16``
    on a GPU where it is native; others unchanged.

    Generation on a CPU stays in float32 even with AMX (training there computes in bf16,
    :func:`native_bf16`): greedy documents then do not depend on the CPU a report was made
    on, and they are the documents llama.cpp writes from the exported GGUF. On an AMX Xeon
    (2026-12-02) the bf16 reference matched the f16 GGUF on 17 of 21 validation documents
    and the q8_0 one on 0 of 42 curated (its mean content 0.058 apart, outside the export's
    0.02 parity); computed in float32 on a CPU without AMX, f16 matched 21 of 21 and 38 of
    42. On a CPU generation is bound by memory and per-token overhead, not by matrix
    products (54.9 vs 52.4 tokens/s, bf16 vs float32, without AMX).
    ``BA_BF16=1`` (tests) still selects bf16 for ``auto`` on a CPU."""
    if requested == "auto":
        if device_type == "cpu":
            return "bfloat16" if os.environ.get("BA_BF16", "").strip() == "1" else "float32"
        return "bfloat16" if native_bf16(device_type) else "float32"
    return requested
