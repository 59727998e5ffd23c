"""Give freed heap memory back to the operating system between training steps.

PyTorch's CPU allocator takes every tensor from ``malloc``. glibc raises its mmap threshold
each time a large block is freed (up to 32 MB), so after the first steps the activations of
a step come from the heap arenas; samples of varying lengths then leave the arenas
fragmented and never trimmed. A ``ba-lora train`` run of SmolLM2 on 189 samples (2 epochs,
2026-12-03) grew this way from 1.9 GB of resident memory after its first steps to 4.4 GB,
a little more with every step. :func:`release_free_memory` (glibc's ``malloc_trim(0)``)
returns the free pages of every arena; ba-lora calls it once per optimizer step (a few
seconds of compute on a CPU). On a C library without ``malloc_trim`` (macOS, musl) it does
nothing.

The other part of that growth is oneDNN's primitive cache: a CPU matrix product in bf16
compiles a kernel (a "primitive") for each shape, and oneDNN keeps up to 1,024 of them.
Training samples of varying lengths give every step new shapes, so the cache grows for
hundreds of steps. :func:`limit_kernel_cache` bounds it (``ONEDNN_PRIMITIVE_CACHE_CAPACITY``,
read by oneDNN when the process makes its first primitive; a value the user set is kept).
Measured on 2 vCPUs of an AMD EPYC VM with AVX512-BF16, 2026-12-04 (16 steps of the
`make finetune` recipe, peak RSS / real tokens per second): capacity 1,024 (oneDNN's default)
2,634 MB / 261, 256: 2,275 MB / 239, 64: 2,091 MB / 155, 0: 2,052 MB / 131. Whole
trainings and the capacity chosen: the ba-lora README.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from typing import Any

__all__ = ["release_free_memory", "limit_kernel_cache", "KERNEL_CACHE_CAPACITY"]

#: oneDNN primitives kept per process while training (oneDNN's own default: 1,024)
KERNEL_CACHE_CAPACITY = 128


@functools.cache
def _malloc_trim() -> Any:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        fn = getattr(ctypes.CDLL(name), "malloc_trim", None)
    except OSError:
        return None
    if fn is None:
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


def release_free_memory() -> bool:
    """Return the C heap's free pages to the OS; True when the C library could do it."""
    fn = _malloc_trim()
    if fn is None:
        return False
    fn(0)
    return True


def limit_kernel_cache(capacity: int = KERNEL_CACHE_CAPACITY) -> int:
    """Bound oneDNN's primitive cache to ``capacity`` kernels, unless
    ``ONEDNN_PRIMITIVE_CACHE_CAPACITY`` is set already (the user's value is kept); returns
    the capacity in force. It takes effect only before the process's first oneDNN
    primitive: call it before the first tensor operation, not after."""
    value = os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(capacity)).strip()
    return int(value) if value.isdigit() else capacity
