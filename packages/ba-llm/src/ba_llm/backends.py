"""Backends: one class per model kind, loaded once and asked many times.

``load_backend(spec)`` -> :class:`TransformersBackend` (``smollm2``, ``hf:``),
:class:`LlamaCppBackend` (``gguf:``) or :class:`OllamaBackend` (``ollama:``). Each takes
chat message lists (rendered by :func:`ba_llm.prompt.render_messages`) and returns one
:class:`Completion` per list, in order.
"""

from __future__ import annotations

import math
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .decoding import decode
from .errors import BackendError, UsageError
from .models import ModelSpec, parse_spec, resolve_spec
from .prompt import render_chat_text
from .quoting import quote_colon_values
from .stopping import CHECK_EVERY, Dropped, cut_loop, drop_repeated_requirements, looping_rows

__all__ = [
    "Decoding",
    "Completion",
    "Backend",
    "TransformersBackend",
    "LlamaCppBackend",
    "OllamaBackend",
    "load_backend",
    "DEFAULT_OLLAMA_HOST",
    "ollama_host",
    "BATCH_SIZE",
    "REPEAT_PENALTY",
]

Messages = Sequence[dict[str, str]]
DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"


def ollama_host(host: str | None = None) -> str:
    """The one Ollama host rule: ``host``, else ``$OLLAMA_HOST``, else
    :data:`DEFAULT_OLLAMA_HOST`; ``http://`` added when no scheme is given, no trailing ``/``."""
    value = (host or os.environ.get("OLLAMA_HOST", "")).strip() or DEFAULT_OLLAMA_HOST
    if "://" not in value:
        value = "http://" + value
    return value.rstrip("/")


IM_END = "<|im_end|>"
# Rows per decoded batch (ba_llm.decoding). Decoding a 135M model on 2 CPU cores is bound by
# reading the weights once per step, so a step's cost is mostly fixed: 16 rows cost 121 ms,
# 42 rows 222 ms (float32, 2-vCPU AMD EPYC). Rows leave the batch as they end and the cache
# grows with the rows, so a larger batch pays that fixed cost fewer times for the same
# documents: 24 rows took 548 s for make finetune's four evaluations against 703 s at 16,
# the largest peak RSS, the base model's curated evaluation, 2,050 MiB with the freed pages
# handed back (the package README, 2026-12-05).
BATCH_SIZE = 24
#: the repetition penalty llama.cpp and Ollama are told: none (1). Ollama's default before
#: August 2026, 1.1 over the last 64 tokens, wrote other documents (the package README)
REPEAT_PENALTY = 1.0


def _threads(threads: int | None) -> int | None:
    """``threads`` or ``$BA_LLM_THREADS`` (unset/0: the library's default)."""
    if threads is None:
        env = os.environ.get("BA_LLM_THREADS", "").strip()
        if env:
            try:
                threads = int(env)
            except ValueError:
                raise UsageError(f"BA_LLM_THREADS must be an integer, got {env!r}") from None
    cpus = os.cpu_count() or 1
    if threads is not None and not 0 <= threads <= cpus:
        raise UsageError(
            f"threads must be between 1 and this machine's {cpus} CPUs (0: the library's default), got {threads}"
        )
    return threads or None


class PromptTooLong(UsageError):
    """Conversation ``index`` of a :meth:`Backend.complete` call does not fit the model's
    context with the completion it asks for (``ba_llm.generate_with`` names its concept)."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class Decoding:
    """Decoding settings shared by every backend.

    Greedy by default. ``greedy=False`` samples with ``temperature`` and nucleus
    ``top_p`` only (top-k and min-p are switched off in every backend) from ``seed``. No
    backend penalises repeated tokens: llama.cpp and Ollama are told so (Ollama's default
    before August 2026, 1.1 over the last 64 tokens, changes the greedy documents).
    """

    max_new_tokens: int = 768
    greedy: bool = True
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise UsageError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        # checked for greedy decoding too, where they are unused (campaign 15: nan passed)
        if not (math.isfinite(self.temperature) and (self.temperature > 0 or (self.greedy and self.temperature == 0))):
            raise UsageError(
                f"temperature must be a finite number > 0 (0 only with greedy decoding), got {self.temperature}"
            )
        if not 0 < self.top_p <= 1:
            raise UsageError(f"top_p must be in (0, 1], got {self.top_p}")

    def sampler_options(self, index: int = 0) -> dict[str, Any]:
        """The sampler settings llama.cpp and Ollama both take under these names (and an
        exported Modelfile's ``PARAMETER`` lines: :func:`ba_llm.stopping.runtime_parameters`):
        greedy is temperature 0 with top-k 1; sampling switches top-k and min-p off; the
        repetition penalty is off (1) in both; the seed of the ``index``-th conversation of a
        call is ``seed + index``."""
        if self.greedy:
            opts: dict[str, Any] = {"temperature": 0.0, "top_k": 1}
        else:
            opts = {"temperature": self.temperature, "top_p": self.top_p, "top_k": 0, "min_p": 0.0}
        opts["repeat_penalty"] = REPEAT_PENALTY
        if self.seed is not None:
            opts["seed"] = self.seed + index
        return opts

    def to_dict(self) -> dict[str, Any]:
        """The ``decoding`` object of a prediction row."""
        if self.greedy:
            return {"mode": "greedy", "max_new_tokens": self.max_new_tokens}
        return {
            "mode": "sample",
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_new_tokens": self.max_new_tokens,
        }


@dataclass
class Completion:
    """One answer: its text (the end-of-turn token excluded; a loop cut and the
    requirements another one already says dropped, :mod:`ba_llm.stopping`; values holding ``": "`` quoted,
    :mod:`ba_llm.quoting`), token counts, timing, the dropped items verbatim and the quoted
    lines' numbers."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    finish_reason: str  # "stop" | "length" | "loop" (see ba_llm.stopping) | "error"
    dropped: list[Dropped] = field(default_factory=list)
    quoted: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Backend(ABC):
    """A loaded model. Use as a context manager or call :meth:`close`."""

    name: str = "?"

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    @abstractmethod
    def complete(
        self,
        conversations: Sequence[Messages],
        decoding: Decoding = Decoding(),
        *,
        batch_size: int = BATCH_SIZE,
        on_done: Callable[[int], None] | None = None,
    ) -> list[Completion]:
        """Answer each conversation; ``on_done(n)`` is called as ``n`` more are finished."""

    def info(self) -> dict[str, Any]:
        return {"spec": self.spec.spec, "kind": self.spec.kind, "backend": self.name}

    def close(self) -> None:  # noqa: B027 - optional hook: a backend with nothing to free keeps it
        """Free the model."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- transformers


class TransformersBackend(Backend):
    """transformers on CPU, batched with left padding; ``dtype="auto"`` (the default) is
    float32 on a CPU (AMX too: the documents of every CPU and of the GGUF export) and bf16 on
    a GPU that computes it (``precision.resolve_dtype``).

    ``threads`` (or ``$BA_LLM_THREADS``) sets torch's intra-op threads for the whole
    process; on a machine shared with other jobs, 1 avoids OpenMP oversubscription.
    Conversations are sorted by prompt length before batching to reduce padding; each
    row's ``completion_tokens`` counts generated tokens before its first end-of-turn
    token, and each row's ``latency_s`` is its batch's wall time divided equally among
    the batch's rows (so the latencies of a run add up to its generation time).
    """

    name = "transformers"

    def __init__(
        self, spec: ModelSpec, *, dtype: str = "auto", merge_lora: bool = True, threads: int | None = None
    ) -> None:
        super().__init__(spec)
        import torch

        from .precision import DTYPES, resolve_dtype

        if dtype not in DTYPES:
            raise UsageError(f"dtype must be auto, bfloat16 or float32, got {dtype!r}")
        dtype = resolve_dtype(dtype)
        n = _threads(threads)
        if n:
            torch.set_num_threads(n)  # process-wide
        self.threads = torch.get_num_threads()
        self.dtype = dtype
        path = str(spec.path)
        from .attention import register
        from .loading import check_tokenizer_fits, load_causal_lm, load_tokenizer

        # attention over the filled part of the static cache only (ba_llm.attention)
        model = load_causal_lm(path, dtype=getattr(torch, dtype), attn_implementation=register())
        self.tokenizer = load_tokenizer(path)
        check_tokenizer_fits(model, self.tokenizer, path)
        if spec.lora is not None:
            from peft import PeftModel

            try:
                model = PeftModel.from_pretrained(model, str(spec.lora))
            except (RuntimeError, ValueError, OSError) as exc:
                raise BackendError(
                    f"{spec.lora}: cannot apply the adapter to {path} ({str(exc).splitlines()[0][:200]}); "
                    "was it trained on this base?"
                ) from None
            if merge_lora:
                model = model.merge_and_unload()
        model.eval()
        self._attach(model, self.tokenizer)

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, name: str = "in-memory") -> TransformersBackend:
        """A backend over a model and tokenizer already in memory (ba-lora's in-training
        metric: the peft model being trained), so that it generates with the same batching,
        stop tokens, loop rule and cache options as every other ba-llm generation. The
        caller owns the model: its train/eval mode and the tokenizer's padding side are the
        caller's to set and restore."""
        import torch

        self = cls.__new__(cls)
        Backend.__init__(self, ModelSpec(kind="hf", spec=name))
        self.threads = torch.get_num_threads()
        self.dtype = str(next(p for p in model.parameters()).dtype).removeprefix("torch.")
        self.tokenizer = tokenizer
        self._attach(model, tokenizer)
        return self

    def _attach(self, model: Any, tokenizer: Any) -> None:
        self.model = model
        self._token_bytes: int | None = None  # the longest token's UTF-8 bytes, once asked
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.stop_ids = self._stop_ids()

    def _stop_ids(self) -> list[int]:
        tok = self.tokenizer
        ids: list[int] = []
        cand = [tok.convert_tokens_to_ids(IM_END) if IM_END in tok.get_vocab() else None, tok.eos_token_id]
        gen_eos = getattr(self.model.generation_config, "eos_token_id", None)
        cand += gen_eos if isinstance(gen_eos, list) else [gen_eos]
        for i in cand:
            if i is not None and i not in ids:
                ids.append(int(i))
        if not ids:
            raise BackendError(f"{self.spec.path}: the tokenizer has no end-of-sequence token")
        return ids

    def info(self) -> dict[str, Any]:
        out = super().info()
        out.update(
            path=str(self.spec.path),
            lora=str(self.spec.lora) if self.spec.lora else None,
            dtype=self.dtype,
            threads=self.threads,
            parameters=sum(p.numel() for p in self.model.parameters()),
            chat_template=self.tokenizer.chat_template,
        )
        return out

    def render(self, messages: Messages) -> str:
        return render_chat_text(self.tokenizer, messages, add_generation_prompt=True)

    def complete(
        self,
        conversations: Sequence[Messages],
        decoding: Decoding = Decoding(),
        *,
        batch_size: int = BATCH_SIZE,
        on_done: Callable[[int], None] | None = None,
    ) -> list[Completion]:
        import torch

        if batch_size < 1:
            raise UsageError(f"batch_size must be >= 1, got {batch_size}")
        tok = self.tokenizer
        texts = [self.render(m) for m in conversations]
        self._check_not_huge(texts)
        # the chat template already holds the special tokens; verbose=False: a prompt past
        # the context is _check_fits' one error line, not also transformers' warning
        lengths = [len(tok(t, add_special_tokens=False, verbose=False).input_ids) for t in texts]
        self._check_fits(lengths, decoding)
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        choose = _chooser(decoding)
        looping = looping_rows(tok)
        # the model's own device: ba-lora's in-training metric asks a model on the GPU
        device = next(self.model.parameters()).device
        results: list[Completion | None] = [None] * len(texts)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            enc = tok([texts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            if decoding.seed is not None:
                torch.manual_seed(decoding.seed + start)
            t0 = time.perf_counter()
            with torch.inference_mode():
                rows = decode(
                    self.model,
                    enc["input_ids"],
                    enc["attention_mask"],
                    max_new_tokens=decoding.max_new_tokens,
                    stop_ids=self.stop_ids,
                    choose=choose,
                    looping=looping,
                    check_every=CHECK_EVERY,
                )
            elapsed = time.perf_counter() - t0
            for row, i in zip(rows, idx):
                results[i] = _finish(
                    tok.decode(row.tokens, skip_special_tokens=False),
                    lengths[i],
                    len(row.tokens),
                    elapsed / len(idx),
                    row.reason,
                )
            if on_done:
                on_done(len(idx))
        return [r for r in results if r is not None]

    def _check_not_huge(self, texts: Sequence[str]) -> None:
        """Refuse, before tokenizing, a prompt too long for the context whatever its tokens:
        more UTF-8 bytes than the context times the longest token's (campaign 26: a 10 MB
        prompt file was tokenized whole, 10-19 s and 2.25 GB, to be refused as too long)."""
        context = getattr(self.model.config, "max_position_embeddings", None)
        if not context:
            return
        if self._token_bytes is None:
            self._token_bytes = max((len(t.encode("utf-8")) for t in self.tokenizer.get_vocab()), default=1)
        limit = context * self._token_bytes
        for i, text in enumerate(texts):
            if len(text) > limit or len(text.encode("utf-8")) > limit:
                raise PromptTooLong(
                    i,
                    f"its prompt is {len(text):,} characters, more than the model's context of {context} tokens "
                    "can hold; shorten the concept or the prompt file",
                )

    def _check_fits(self, lengths: Sequence[int], decoding: Decoding) -> None:
        """Every prompt plus the completion it asks for within the model's context."""
        context = getattr(self.model.config, "max_position_embeddings", None)
        if context and decoding.max_new_tokens > context:  # the KV cache may grow to it
            raise UsageError(
                f"max_new_tokens {decoding.max_new_tokens} is more than the model's context of "
                f"{context} tokens; use at most {context}"
            )
        longest = max(range(len(lengths)), key=lambda i: lengths[i], default=None)
        if context and longest is not None and lengths[longest] + decoding.max_new_tokens > context:
            # past its context the model writes noise, with no error (campaign 24: `ask` with a long concept)
            raise PromptTooLong(
                longest,
                f"its prompt is {lengths[longest]} tokens, which with max_new_tokens {decoding.max_new_tokens} "
                f"is more than the model's context of {context} tokens; shorten the concept or lower "
                "--max-new-tokens",
            )

    def close(self) -> None:
        self.model = None


def _chooser(decoding: Decoding) -> Callable[[Any], Any]:
    """The next-token rule over float32 logits ``[rows, vocab]``: argmax when greedy, else
    transformers' temperature and top-p warpers (no top-k) and one multinomial draw per row
    from torch's global generator (seeded per batch by the caller). Only what ``decoding``
    says: the defaults of a model's ``generation_config.json`` (a repetition penalty, min-p,
    ...) are not applied (``generate`` applied them until 2026-12-05; the prepared SmolLM2
    has none)."""
    import torch

    if decoding.greedy:
        return lambda logits: logits.argmax(-1)
    from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

    warp = LogitsProcessorList([TemperatureLogitsWarper(decoding.temperature), TopPLogitsWarper(decoding.top_p)])

    def sample(logits: Any) -> Any:
        probs = torch.softmax(warp(None, logits), dim=-1)
        return torch.multinomial(probs, num_samples=1).squeeze(1)

    return sample


def _finish(text: str, prompt_tokens: int, completion_tokens: int, latency_s: float, reason: str) -> Completion:
    """A completion with the rules of :mod:`ba_llm.stopping` applied (every backend): the loop
    cut, then the requirements another one already says dropped; then a ``title:`` or
    ``description:`` value holding ``": "`` quoted (:mod:`ba_llm.quoting`)."""
    cut = cut_loop(text)
    tidy, dropped = drop_repeated_requirements(cut.text)
    tidy, quoted = quote_colon_values(tidy)
    return Completion(
        text=tidy,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        latency_s=latency_s,
        finish_reason="loop" if cut.looped else reason,
        dropped=dropped,
        quoted=quoted,
    )


# --------------------------------------------------------------------------- llama.cpp


class LlamaCppBackend(Backend):
    """llama-cpp-python (the optional extra ``ba-llm[gguf]``), one stream at a time.

    The chat template is the one stored in the GGUF, applied by llama-cpp-python.
    """

    name = "llama.cpp"

    def __init__(self, spec: ModelSpec, *, n_ctx: int = 4096, threads: int | None = None) -> None:
        super().__init__(spec)
        try:
            from llama_cpp import Llama
        except ImportError:
            raise BackendError("gguf: models need llama-cpp-python; run `pip install 'ba-llm[gguf]'`") from None
        kwargs: dict[str, Any] = dict(
            model_path=str(spec.path), n_ctx=n_ctx, verbose=False, n_threads=_threads(threads) or os.cpu_count() or 1
        )
        if spec.lora is not None:
            kwargs["lora_path"] = str(spec.lora)
        try:
            self.llm = Llama(**kwargs)
        except (ValueError, RuntimeError, OSError) as exc:
            what = f"{spec.path} with adapter {spec.lora}" if spec.lora else str(spec.path)
            raise BackendError(
                f"{what}: llama.cpp cannot load it ({exc}); is it a GGUF model (and an adapter for this base)?"
            ) from None
        self.n_ctx = n_ctx
        self.threads = kwargs["n_threads"]

    def info(self) -> dict[str, Any]:
        out = super().info()
        meta = getattr(self.llm, "metadata", {}) or {}
        out.update(
            path=str(self.spec.path),
            lora=str(self.spec.lora) if self.spec.lora else None,
            n_ctx=self.n_ctx,
            threads=self.threads,
            chat_template=meta.get("tokenizer.chat_template"),
        )
        return out

    def complete(
        self,
        conversations: Sequence[Messages],
        decoding: Decoding = Decoding(),
        *,
        batch_size: int = BATCH_SIZE,
        on_done: Callable[[int], None] | None = None,
    ) -> list[Completion]:
        results = []
        for n, messages in enumerate(conversations):
            kwargs: dict[str, Any] = dict(
                messages=[dict(m) for m in messages],
                max_tokens=decoding.max_new_tokens,
                stop=[IM_END],
                **decoding.sampler_options(n),
            )
            self.llm.reset()
            t0 = time.perf_counter()
            try:
                resp = self.llm.create_chat_completion(**kwargs)
            except ValueError as exc:  # e.g. prompt longer than the context
                raise BackendError(f"{self.spec.path}: {exc} (raise n_ctx or shorten the prompt)") from None
            elapsed = time.perf_counter() - t0
            choice = resp["choices"][0]
            usage = resp.get("usage") or {}
            results.append(
                _finish(
                    choice["message"]["content"] or "",
                    int(usage.get("prompt_tokens", 0)),
                    int(usage.get("completion_tokens", 0)),
                    elapsed,
                    "length" if choice.get("finish_reason") == "length" else "stop",
                )
            )
            if on_done:
                on_done(1)
        return results

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close()
            self.llm = None


# --------------------------------------------------------------------------- ollama


class OllamaBackend(Backend):
    """An Ollama server through the official ``ollama`` client (host from ``OLLAMA_HOST``).

    Transient failures (HTTP 5xx, connection refused/reset, dropped connection) are
    retried ``retries`` times in all with exponential backoff; each request has a
    ``timeout`` in seconds.
    """

    name = "ollama"

    def __init__(
        self,
        spec: ModelSpec,
        *,
        host: str | None = None,
        timeout: float = 120.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        check: bool = True,
    ) -> None:
        super().__init__(spec)
        import ollama

        if not (math.isfinite(timeout) and timeout > 0):
            raise UsageError(f"timeout must be a finite number of seconds > 0, got {timeout}")
        self.host = ollama_host(host)
        self.timeout = timeout
        self.retries = max(1, retries)
        self.backoff_s = backoff_s
        self.model = spec.name or ""
        self.client = ollama.Client(host=self.host, timeout=timeout)
        if check:
            self._check_pulled()

    def _unreachable(self) -> BackendError:
        return BackendError(
            f"Ollama is not reachable at {self.host}; start it with `ollama serve` (or set OLLAMA_HOST)"
        )

    def _not_pulled(self) -> BackendError:
        return BackendError(
            f"Ollama model {self.model!r} is not available at {self.host}; run `ollama pull {self.model}`"
        )

    def _call(self, fn: Callable[[], Any]) -> Any:
        import httpx
        import ollama

        delay = self.backoff_s
        for attempt in range(1, self.retries + 1):
            try:
                return fn()
            except ollama.ResponseError as exc:
                if exc.status_code == 404:
                    raise self._not_pulled() from None
                if exc.status_code < 500 or attempt == self.retries:
                    raise BackendError(f"Ollama at {self.host} answered HTTP {exc.status_code}: {exc.error}") from None
            except httpx.TimeoutException:
                raise BackendError(
                    f"Ollama at {self.host} did not answer within {self.timeout:g} s; raise the timeout or use a smaller model"
                ) from None
            except (ConnectionError, httpx.TransportError) as exc:
                # ConnectionError: the client's wrapper for refused connections (also
                # covers ConnectionResetError); TransportError: dropped / reset sockets
                if attempt == self.retries:
                    if isinstance(exc, (ConnectionRefusedError, httpx.ConnectError)) or type(exc) is ConnectionError:
                        raise self._unreachable() from None
                    raise BackendError(
                        f"Ollama at {self.host}: connection failed {self.retries} times ({exc})"
                    ) from None
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_pulled(self) -> None:
        resp = self._call(self.client.list)
        names = set()
        for m in resp.models or []:
            name = getattr(m, "model", None) or getattr(m, "name", None)
            if name:
                names.add(name)
                if name.endswith(":latest"):
                    names.add(name[: -len(":latest")])
        if self.model not in names:
            raise self._not_pulled()

    def info(self) -> dict[str, Any]:
        out = super().info()
        out.update(host=self.host, model=self.model, timeout_s=self.timeout)
        return out

    def complete(
        self,
        conversations: Sequence[Messages],
        decoding: Decoding = Decoding(),
        *,
        batch_size: int = BATCH_SIZE,
        on_done: Callable[[int], None] | None = None,
    ) -> list[Completion]:
        results = []
        for n, messages in enumerate(conversations):
            options: dict[str, Any] = {"num_predict": decoding.max_new_tokens, **decoding.sampler_options(n)}
            msgs = [dict(m) for m in messages]
            t0 = time.perf_counter()
            resp = self._call(
                lambda msgs=msgs, options=options: self.client.chat(  # type: ignore[misc]
                    model=self.model, messages=msgs, options=options, stream=False
                )
            )
            elapsed = time.perf_counter() - t0
            results.append(
                _finish(
                    (resp.message.content or "") if resp.message else "",
                    int(resp.prompt_eval_count or 0),
                    int(resp.eval_count or 0),
                    elapsed,
                    "length" if resp.done_reason == "length" else "stop",
                )
            )
            if on_done:
                on_done(1)
        return results

    def close(self) -> None:
        client = getattr(self.client, "_client", None)
        if client is not None:
            client.close()


# --------------------------------------------------------------------------- factory


def load_backend(spec: str | ModelSpec, options: Any = None, **kwargs: Any) -> Backend:
    """Resolve ``spec`` and load its backend once, with ``options``: the typed options of
    its backend (:mod:`ba_llm.options`: :class:`TransformersOptions` ``dtype``/``threads``,
    :class:`LlamaCppOptions` ``n_ctx``/``threads``, :class:`OllamaOptions`
    ``host``/``timeout``/``retries``), or the same as keywords, checked the same way: an
    option the backend does not take is a :class:`UsageError`."""
    from dataclasses import asdict

    from .options import options_class, options_for

    ms = parse_spec(spec) if isinstance(spec, str) else spec
    if options is None:
        options = options_for(ms, **kwargs)
    elif kwargs:
        raise UsageError("give the backend options as one options object or as keywords, not both")
    elif not isinstance(options, options_class(ms)):
        raise UsageError(f"{type(options).__name__} are not the options of the backend of {ms.spec}")
    chosen = asdict(options)
    if ms.kind == "ollama":
        return OllamaBackend(ms, **chosen)
    ms = resolve_spec(ms)
    if ms.kind == "gguf":
        return LlamaCppBackend(ms, **chosen)
    return TransformersBackend(ms, **chosen)
