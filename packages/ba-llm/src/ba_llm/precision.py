"""Whether bfloat16 is the fast dtype on a device: the one rule that generation and training share.

On a CPU the flags do not say it; a measurement does. The same flags, very different speeds
(torch 2.13, 2 threads, a 1024^3 product):
* AVX2 only (a 2-core AMD EPYC VM): bf16 is emulated, 0.7 vs 75 GFLOP/s (float32);
* AVX512-BF16 without AMX, Intel Xeon VM (2026-12-02): 131.6 vs 224.7 GFLOP/s, and a LoRA
  training step of SmolLM2 at 129 real tokens/s in bf16 against 160 in float32;
* AVX512-BF16 without AMX, AMD EPYC VM (2026-12-03): 937 vs 198 GFLOP/s, and the training
  step at 434 real tokens/s in bf16 against 194 in float32 (a 6-step ``ba-lora train`` probe);
* AMX tiles (Intel Xeon): bf16 is always the fast one.
So :func:`native_bf16` on a CPU without AMX times one SmolLM2-sized projection in both
dtypes, once per process, on one thread, and says bf16 only when it is clearly faster
(:data:`BF16_MIN_SPEEDUP`). Where it is not, "bf16" models are computed in float32 (weights may
stay bf16 on disk). Generation on a CPU is float32 everywhere (:func:`resolve_dtype`).
``BA_BF16=1`` / ``BA_BF16=0`` overrides the detection (tests, benchmarks).
"""

from __future__ import annotations

import functools
import os
import time

__all__ = ["BF16_MIN_SPEEDUP", "cpu_bf16_speedup", "native_bf16", "resolve_dtype"]

DTYPES = ("auto", "bfloat16", "float32")

#: bf16 is the CPU's fast dtype when a product runs at least this much faster in it (measured
#: ratios: 0.01 with AVX2, 0.59 and 4.7 on the two AVX512-BF16 VMs above: far from the line).
BF16_MIN_SPEEDUP = 1.3


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
        if callable(amx) and amx():
            return True
        return cpu_bf16_speedup() >= BF16_MIN_SPEEDUP
    return True


@functools.cache
def cpu_bf16_speedup() -> float:
    """How many times faster a (256 x 576) @ (576 x 1536) product (a SmolLM2 MLP projection
    of a 256-token block) runs in bf16 than in float32 on this CPU: best of 5 timings of 4
    products each, after a warm-up; measured once per process (~0.1 s).

    The products run on one thread (torch's thread count is restored after): the ratio is a
    property of the kernels, and a multi-threaded timing is not one on a busy machine. With
    four busy processes on the 2-core EPYC VM (2026-12-03), two-thread ratios of 0.57 and
    10.0 came out of the same CPU, and 0.57 made a training run compute in float32 at half the
    speed and twice the activation memory; one-thread ratios were 4.5 and 4.6 (idle: 4.4)."""
    import torch

    def best(dtype: torch.dtype) -> float:
        gen = torch.Generator().manual_seed(0)
        a = torch.randn(256, 576, generator=gen).to(dtype)
        b = torch.randn(576, 1536, generator=gen).to(dtype)
        times = []
        with torch.no_grad():
            for _ in range(3):  # warm-up: kernel selection, thread pool
                torch.mm(a, b)
            for _ in range(5):
                t = time.perf_counter()
                for _ in range(4):
                    torch.mm(a, b)
                times.append(time.perf_counter() - t)
        return min(times)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return best(torch.float32) / max(best(torch.bfloat16), 1e-9)
    finally:
        torch.set_num_threads(threads)


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
