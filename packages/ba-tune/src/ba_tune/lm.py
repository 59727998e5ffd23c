"""DSPy language models for ba-llm model specs.

* ``ollama:NAME`` goes through DSPy's own Ollama support
  (``dspy.LM("ollama_chat/NAME", api_base=$OLLAMA_HOST)``); the host follows ba-llm's one
  rule (:func:`ba_llm.backends.ollama_host`) and the server is asked up front whether the
  model is pulled, so a missing server or model fails in seconds, before any DSPy work.
  Its requests carry ba-llm's repetition penalty (off; Ollama's default was 1.1 before
  August 2026), so the optimiser scores the decoding ``ba-eval generate`` uses.
* ``smollm2`` / ``hf:DIR[+lora:DIR]`` / ``gguf:FILE[+lora:FILE]`` go through
  :class:`BaLLMEngine`, a DSPy 3.4 custom engine (``complete(Request) -> Response``) over a
  ba-llm backend, so DSPy calls run the same local model code as ``ba-eval generate``.

Every LM is built with ``cache=False`` unless asked otherwise; DSPy's disk cache (pickle)
is never used (see :func:`configure_dspy_cache`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import dspy
from dspy.clients.engines.base import validate_request
from dspy.lm15 import Message, Response, TextPart, Usage, response_to_events

from ba_io import UsageError

__all__ = [
    "BaLLMEngine",
    "make_lm",
    "configure_dspy_cache",
    "ollama_api_base",
    "check_ollama_model",
    "request_messages",
]

#: generate(messages, max_new_tokens=, temperature=, top_p=, seed=) -> (text, input_tokens, output_tokens, finish)
GenerateFn = Callable[..., tuple]


def configure_dspy_cache(memory: bool = False) -> None:
    """Turn DSPy's disk cache off (it pickles); keep an in-memory cache only when ``memory``."""
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=bool(memory))


def ollama_api_base() -> str:
    """The Ollama URL DSPy is given: ba-llm's host rule (``$OLLAMA_HOST`` or its default)."""
    from ba_llm.backends import ollama_host

    return ollama_host()


def check_ollama_model(name: str, *, timeout: float = 10.0) -> None:
    """Ask the Ollama server whether ``name`` is pulled (one ``/api/tags`` call, no retries).

    Raises :class:`ba_io.UsageError` with ba-llm's one-line message (``start it with ollama
    serve`` / ``run ollama pull NAME``) when the server is unreachable or the model is missing.
    """
    from ba_llm import parse_spec
    from ba_llm.backends import OllamaBackend
    from ba_llm.errors import BackendError

    try:
        OllamaBackend(parse_spec(f"ollama:{name}"), timeout=timeout, retries=1).close()
    except BackendError as exc:
        raise UsageError(str(exc)) from None


def request_messages(request: Any) -> list[dict[str, str]]:
    """A DSPy/lm15 request as OpenAI-style ``[{role, content}]`` chat messages."""
    messages: list[dict[str, str]] = []
    if request.system is not None:
        system = (
            request.system
            if isinstance(request.system, str)
            else "".join(getattr(p, "text", "") or "" for p in request.system)
        )
        messages.append({"role": "system", "content": system})
    for m in request.messages:
        role = m.role if m.role in ("system", "user", "assistant") else "user"
        messages.append({"role": role, "content": m.text or ""})
    return messages


class BaLLMEngine:
    """A DSPy custom engine over a local ba-llm model.

    ``generate`` turns chat messages into ``(text, input_tokens, output_tokens, finish)``.
    Temperature 0 (or None) decodes greedily; otherwise each call samples with seed
    ``seed + call number``, so a single-threaded run is reproducible. Calls are serialised
    (one local model). ``calls``, ``errors`` and ``last_error`` are kept for the run log.
    """

    def __init__(self, generate: GenerateFn, *, name: str, seed: int = 42):
        self._generate = generate
        self.name = name
        self.seed = int(seed)
        self.calls = 0
        self.errors = 0
        self.last_error: str | None = None
        self.output_tokens = 0
        self._lock = threading.Lock()

    def complete(self, request):
        validate_request(request)
        messages = request_messages(request)
        config = request.config
        temperature = float(config.temperature or 0.0)
        with self._lock:
            self.calls += 1
            seed = self.seed + self.calls
            try:
                text, n_in, n_out, finish = self._generate(
                    messages,
                    max_new_tokens=config.max_tokens,
                    temperature=temperature,
                    top_p=config.top_p,
                    seed=seed,
                )
            except Exception as exc:
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                raise
            self.output_tokens += int(n_out or 0)
        return Response(
            id=None,
            model=self.name,
            message=Message.assistant([TextPart(text or "")]),
            finish_reason="length" if finish == "length" else "stop",
            usage=Usage(input_tokens=n_in, output_tokens=n_out),
        )

    def stream(self, request):
        return response_to_events(self.complete(request))

    def close(self) -> None:
        pass


def _ba_llm_generate(spec: str) -> GenerateFn:
    """Load a ba-llm backend once and return a messages -> completion function."""
    from ba_llm import Decoding, load_backend

    backend = load_backend(spec)

    def generate(messages, *, max_new_tokens, temperature, top_p, seed):
        greedy = not temperature or temperature <= 0
        decoding = Decoding(
            max_new_tokens=int(max_new_tokens or Decoding.max_new_tokens),
            greedy=greedy,
            temperature=float(temperature) if not greedy else Decoding.temperature,
            top_p=float(top_p) if top_p else Decoding.top_p,
            seed=seed,
        )
        (out,) = backend.complete([messages], decoding, batch_size=1)
        if out.finish_reason == "error":
            raise RuntimeError(f"{spec}: generation failed")
        return out.text, out.prompt_tokens, out.completion_tokens, out.finish_reason

    return generate


def make_lm(
    spec: str,
    *,
    max_tokens: int = 512,
    temperature: float = 0.0,
    seed: int = 42,
    cache: bool = False,
    generate: GenerateFn | None = None,
    check: bool = True,
) -> dspy.LM:
    """A ``dspy.LM`` for a ba-llm model spec (see the module docstring).

    ``generate`` replaces the ba-llm backend for a local spec (tests). The engine, when
    there is one, is reachable as ``lm.engine`` for its call/error counters. ``check``
    (ollama specs) asks the server for the model first (:func:`check_ollama_model`).
    """
    from ba_llm import parse_spec
    from ba_llm.backends import REPEAT_PENALTY

    parsed = parse_spec(spec)
    if parsed.kind == "ollama":
        if generate is not None:
            raise UsageError("ollama specs are served by DSPy's Ollama client; a custom generate is not used")
        if check:
            check_ollama_model(parsed.name or "")
        return dspy.LM(
            f"ollama_chat/{parsed.name}",
            api_base=ollama_api_base(),
            cache=cache,
            max_tokens=max_tokens,
            temperature=temperature,
            repeat_penalty=REPEAT_PENALTY,
        )
    engine = BaLLMEngine(generate or _ba_llm_generate(spec), name=f"ba-llm/{spec}", seed=seed)
    return dspy.LM(
        f"ba-llm/{spec}",  # the full spec, so cache keys and histories never mix two local models
        engine=engine,
        cache=cache,
        max_tokens=max_tokens,
        temperature=temperature,
    )
