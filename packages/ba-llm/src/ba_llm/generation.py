"""Generation: concepts in, prediction rows (schemas/prediction.schema.json) out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .backends import BATCH_SIZE, Backend, Decoding, PromptTooLong, load_backend
from .errors import UsageError
from .models import check_max_new_tokens
from .prompt import Prompt, prompt_for_model, render_messages

__all__ = ["generate", "generate_with", "Decoding"]


def _check_concepts(concepts: Sequence[Mapping[str, Any]]) -> None:
    seen: set[str] = set()
    for n, c in enumerate(concepts, start=1):
        if not isinstance(c, Mapping) or not isinstance(c.get("id"), str) or not isinstance(c.get("concept"), str):
            raise UsageError(f"concept #{n}: needs string fields 'id' and 'concept'")
        if not c["id"] or not c["concept"].strip():
            raise UsageError(f"concept #{n}: empty id or concept")
        if c["id"] in seen:
            raise UsageError(f"concept #{n}: duplicate id {c['id']!r}")
        seen.add(c["id"])


def generate_with(
    backend: Backend,
    concepts: Sequence[Mapping[str, Any]],
    prompt: Prompt,
    decoding: Decoding = Decoding(),
    *,
    batch_size: int = BATCH_SIZE,
    run: int = 0,
    progress: bool = True,
    model: str | None = None,
) -> list[dict[str, Any]]:
    """Generate with an already loaded backend; one prediction row per concept, in input order."""
    _check_concepts(concepts)
    if run < 0:
        raise UsageError(f"run must be >= 0, got {run}")
    conversations = [render_messages(prompt, c["concept"]) for c in concepts]
    bar = None
    if progress and concepts:
        from ba_io import progress as make_bar

        bar = make_bar(total=len(concepts), desc=f"generate {backend.spec.spec}", unit="concept")
    try:
        completions = backend.complete(
            conversations, decoding, batch_size=batch_size, on_done=bar.update if bar is not None else None
        )
    except PromptTooLong as exc:
        raise UsageError(f"concept {concepts[exc.index]['id']!r}: {exc}") from None
    finally:
        if bar is not None:
            bar.close()
    rows = []
    for c, comp in zip(concepts, completions):
        rows.append(
            {
                "id": c["id"],
                "concept": c["concept"],
                "model": model or backend.spec.spec,
                "prompt": prompt.name,
                "prompt_sha256": prompt.sha256,
                "run": run,
                "seed": decoding.seed,
                "decoding": decoding.to_dict(),
                "text": comp.text,
                "prompt_tokens": comp.prompt_tokens,
                "completion_tokens": comp.completion_tokens,
                "latency_s": round(comp.latency_s, 4),
                "finish_reason": comp.finish_reason,
                "dropped": [d._asdict() for d in comp.dropped],
                "quoted": list(comp.quoted),
                "backend": backend.name,
            }
        )
    return rows


def generate(
    spec: str | Backend,
    concepts: Sequence[Mapping[str, Any]],
    prompt: Prompt | str | Path | None = None,
    *,
    max_new_tokens: int = 768,
    greedy: bool = True,
    temperature: float = 0.7,
    top_p: float = 0.95,
    seed: int | None = None,
    batch_size: int = BATCH_SIZE,
    run: int = 0,
    progress: bool = True,
    **backend_options: Any,
) -> list[dict[str, Any]]:
    """Generate one prediction row per concept (``{"id", "concept"}`` dicts), in input order.

    ``spec`` is a model spec string (loaded, used and closed here) or a loaded
    :class:`Backend` (reuse it across calls). ``prompt`` is a :class:`Prompt`, a prompt
    file path, or ``None`` for the model's own (a LoRA adapter's training prompt, else the
    packaged default: :func:`ba_llm.prompt.prompt_for_model`). Greedy by default; ``greedy=False``
    samples with ``temperature``/``top_p`` from ``seed``. ``backend_options`` go to
    :func:`load_backend` (e.g. ``dtype="float32"``, ``timeout=60``).
    """
    p = (
        prompt
        if isinstance(prompt, Prompt)
        else prompt_for_model(spec.spec if isinstance(spec, Backend) else spec, prompt)
    )
    decoding = Decoding(max_new_tokens=max_new_tokens, greedy=greedy, temperature=temperature, top_p=top_p, seed=seed)
    if isinstance(spec, Backend):
        if backend_options:
            raise UsageError("backend options only apply when generate() loads the model from a spec string")
        return generate_with(spec, concepts, p, decoding, batch_size=batch_size, run=run, progress=progress)
    _check_concepts(concepts)
    check_max_new_tokens(spec, max_new_tokens)  # before the weights are loaded
    with load_backend(spec, **backend_options) as backend:
        return generate_with(backend, concepts, p, decoding, batch_size=batch_size, run=run, progress=progress)
