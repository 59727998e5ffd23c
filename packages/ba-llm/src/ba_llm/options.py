"""Typed backend options: one small dataclass per backend, checked when it is made.

:func:`options_for` turns keyword options into the dataclass of the spec's backend (chosen
by the parsed spec's kind, never by guessing from the spec's text), so an option a backend
does not take, or a bad value, is one :class:`UsageError` before any weights load.
:func:`cli_options` maps the command-line flags every ba-llm command shares (``--threads``,
``--fp32``, ``--timeout``) onto the backend that uses each; a flag that does not apply to the
spec's backend is left out (``--threads`` means nothing to an Ollama server).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields
from typing import Any

from .errors import UsageError
from .models import ModelSpec, parse_spec

__all__ = ["BackendOptions", "LlamaCppOptions", "OllamaOptions", "TransformersOptions", "cli_options", "options_for"]


def _check_threads(threads: int | None) -> None:
    cpus = os.cpu_count() or 1
    if threads is not None and not 0 <= threads <= cpus:
        raise UsageError(
            f"threads must be between 1 and this machine's {cpus} CPUs (0: the library's default), got {threads}"
        )


@dataclass(frozen=True)
class TransformersOptions:
    """transformers (``smollm2``, ``hf:DIR[+lora:DIR]``): ``dtype`` ``auto`` (float32 on a CPU,
    bf16 on a GPU that computes it: :func:`ba_llm.precision.resolve_dtype`), ``bfloat16`` or ``float32``;
    ``merge_lora`` merges an adapter into the weights once at load; ``threads`` sets torch's
    intra-op threads (None: ``$BA_LLM_THREADS`` or all cores)."""

    dtype: str = "auto"
    merge_lora: bool = True
    threads: int | None = None

    def __post_init__(self) -> None:
        from .precision import DTYPES

        if self.dtype not in DTYPES:
            raise UsageError(f"dtype must be auto, bfloat16 or float32, got {self.dtype!r}")
        _check_threads(self.threads)


@dataclass(frozen=True)
class LlamaCppOptions:
    """llama.cpp (``gguf:FILE[+lora:A.gguf]``): the context ``n_ctx`` in tokens and the CPU
    ``threads`` (None: ``$BA_LLM_THREADS`` or all cores)."""

    n_ctx: int = 4096
    threads: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.n_ctx, int) or self.n_ctx < 1:
            raise UsageError(f"n_ctx must be a whole number of tokens >= 1, got {self.n_ctx!r}")
        _check_threads(self.threads)


@dataclass(frozen=True)
class OllamaOptions:
    """An Ollama server (``ollama:NAME``): ``host`` (None: ``$OLLAMA_HOST`` or
    ``http://127.0.0.1:11434``), a per-request ``timeout`` in seconds, ``retries`` of a
    failed request with ``backoff_s`` between them, and ``check`` whether the model is
    pulled before the first request."""

    host: str | None = None
    timeout: float = 120.0
    retries: int = 3
    backoff_s: float = 0.5
    check: bool = True

    def __post_init__(self) -> None:
        if not (isinstance(self.timeout, (int, float)) and math.isfinite(self.timeout) and self.timeout > 0):
            raise UsageError(f"timeout must be a finite number of seconds > 0, got {self.timeout}")
        if not isinstance(self.retries, int) or self.retries < 0:
            raise UsageError(f"retries must be a whole number >= 0, got {self.retries!r}")
        if not (math.isfinite(self.backoff_s) and self.backoff_s >= 0):
            raise UsageError(f"backoff_s must be a finite number of seconds >= 0, got {self.backoff_s}")


BackendOptions = TransformersOptions | LlamaCppOptions | OllamaOptions

#: the options class of each spec kind's backend
_BY_KIND: dict[str, type] = {"smollm2": TransformersOptions, "hf": TransformersOptions}
_BY_KIND.update(gguf=LlamaCppOptions, ollama=OllamaOptions)
_BACKEND_NAMES = {TransformersOptions: "transformers", LlamaCppOptions: "llama.cpp", OllamaOptions: "ollama"}


def options_class(spec: str | ModelSpec) -> type:
    ms = parse_spec(spec) if isinstance(spec, str) else spec
    return _BY_KIND[ms.kind]


def options_for(spec: str | ModelSpec, **given: Any) -> BackendOptions:
    """The options dataclass of ``spec``'s backend from ``given`` (a None value: the default).
    An option this backend does not take is a :class:`UsageError` that names the ones it does."""
    cls = options_class(spec)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(given) - known)
    if unknown:
        raise UsageError(
            f"the {_BACKEND_NAMES[cls]} backend takes no option {', '.join(unknown)} "
            f"(its options: {', '.join(sorted(known))})"
        )
    return cls(**{k: v for k, v in given.items() if v is not None})


def cli_options(
    spec: str | ModelSpec, *, threads: int | None = None, fp32: bool = False, timeout: float | None = None
) -> BackendOptions:
    """The shared command-line flags as the options of ``spec``'s backend: ``--threads`` for
    transformers and llama.cpp, ``--fp32`` for transformers, ``--timeout`` for Ollama."""
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):  # checked even where unused
        raise UsageError(f"--timeout must be a finite number of seconds > 0, got {timeout}")
    cls = options_class(spec)
    if cls is OllamaOptions:
        return options_for(spec, timeout=timeout)
    if cls is LlamaCppOptions:
        return options_for(spec, threads=threads)
    return options_for(spec, threads=threads, dtype="float32" if fp32 else "auto")


def as_kwargs(options: BackendOptions) -> dict[str, Any]:
    return asdict(options)
