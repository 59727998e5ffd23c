"""Teachers: who writes the requirements document for a concept.

A teacher is anything with ``name``, ``batch_size`` and ``write(concept_rows) -> drafts``
(the :class:`Teacher` protocol); a teacher may also say what else decides its documents
(``setup()``: its prompt, decoding, model files), which ``synth`` records in every row so that
a resumed run never keeps rows another setup wrote (:func:`teacher_setup`). :func:`ba_datagen.synth.synth` asks it for one batch at a
time and records every draft as it arrives, so a different teacher (or a fake one in a
test) plugs in without touching the bookkeeping.

* :class:`TemplateTeacher` writes from the concept's structured facts, offline.
* :class:`LLMTeacher` asks any ba-llm model spec with the teacher prompt and returns the
  raw text; ``synth`` parses it. ``ba_llm`` (and so torch) is imported only here, lazily.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .template import TemplateError, write_document

__all__ = [
    "Draft",
    "LLMTeacher",
    "TEACHER_PROMPT_RESOURCE",
    "Teacher",
    "TemplateTeacher",
    "load_teacher_prompt",
    "make_teacher",
    "teacher_setup",
]

TEACHER_PROMPT_RESOURCE = "prompts/teacher.json"


@dataclass
class Draft:
    """A teacher's answer for one concept.

    Exactly one of ``document`` (the five fields, categories as lists) or ``text`` (raw
    model output, to be parsed) is normally set; ``error`` says why neither could be made.
    ``meta`` is copied into the output row (token counts, latency, ...).
    """

    id: str
    document: dict[str, Any] | None = None
    text: str | None = None
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Teacher(Protocol):
    """What ``synth`` needs from a teacher."""

    name: str
    batch_size: int

    def write(self, concepts: Sequence[Mapping[str, Any]]) -> list[Draft]:
        """One draft per concept row, in order."""
        ...  # pragma: no cover


def teacher_setup(teacher: Teacher) -> str:
    """A short hash of what decides ``teacher``'s documents: its name and, where it has a
    ``setup()`` method, what that returns (campaign 22: a resumed synth kept rows another
    teacher, or the same model with another prompt, had written)."""
    import hashlib

    setup = getattr(teacher, "setup", None)
    what = {"teacher": teacher.name, **(setup() if callable(setup) else {})}
    text = json.dumps(what, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class TemplateTeacher:
    """The offline teacher: :func:`ba_datagen.template.write_document` per concept."""

    name = "template"
    batch_size = 32

    def write(self, concepts: Sequence[Mapping[str, Any]]) -> list[Draft]:
        drafts = []
        for row in concepts:
            try:
                drafts.append(Draft(id=row["id"], document=write_document(row)))
            except TemplateError as exc:
                drafts.append(Draft(id=row["id"], error=str(exc)))
        return drafts


def load_teacher_prompt(path: str | Path | None = None) -> Any:
    """The teacher prompt as a ``ba_llm.prompt.Prompt``; ``None`` = the one shipped here.

    Raises:
        ba_llm.errors.UsageError / DataError: a missing or invalid prompt file.
    """
    from ba_llm.prompt import load_prompt, prompt_from_dict

    if path is not None:
        return load_prompt(path)
    text = resources.files("ba_datagen").joinpath(TEACHER_PROMPT_RESOURCE).read_text(encoding="utf-8")
    return prompt_from_dict(json.loads(text), where="<ba-datagen teacher prompt>")


class LLMTeacher:
    """A real model as teacher: renders the teacher prompt, keeps the raw text.

    Args:
        spec: any ba-llm model spec (``ollama:mistral:7b-instruct``, ``hf:DIR``, ``smollm2``...).
        prompt: a prompt file, or ``None`` for the packaged teacher prompt.
        max_new_tokens, greedy, temperature, top_p, seed: decoding (``ba_llm.Decoding``).
        batch_size: concepts per ``write`` call (each call's rows are saved before the next).
        backend: an already loaded backend (or a test double with ``spec.spec``, ``name``
            and ``complete(conversations, decoding, batch_size=..., on_done=...)``); by
            default ``ba_llm.load_backend(spec)`` is called on the first ``write``.
    """

    def __init__(
        self,
        spec: str,
        prompt: str | Path | None = None,
        *,
        max_new_tokens: int = 768,
        greedy: bool = True,
        temperature: float = 0.7,
        top_p: float = 0.95,
        seed: int | None = None,
        batch_size: int = 8,
        backend: Any = None,
    ) -> None:
        from ba_llm import Decoding, parse_spec

        if backend is None:
            parse_spec(spec)  # a malformed spec fails now, before any concept is read
        self.name = spec
        self.batch_size = batch_size
        self.prompt = load_teacher_prompt(prompt)
        self.decoding = Decoding(
            max_new_tokens=max_new_tokens, greedy=greedy, temperature=temperature, top_p=top_p, seed=seed
        )
        self._backend = backend
        self._given_backend = backend is not None  # a test double has no model files

    def setup(self) -> dict[str, Any]:
        """What decides this teacher's documents besides its spec: the prompt, the decoding
        and the model's files (``ba_llm.model_files_fingerprint``: retrained in place, or
        another folder behind ``smollm2``)."""
        from ba_llm import model_files_fingerprint

        decoding = {k: getattr(self.decoding, k) for k in ("max_new_tokens", "greedy", "temperature", "top_p", "seed")}
        if self.decoding.greedy:  # sampling settings do not change a greedy document
            decoding = {"max_new_tokens": self.decoding.max_new_tokens, "greedy": True}
        files = None if self._given_backend else model_files_fingerprint(self.name)
        return {"prompt_sha256": self.prompt.sha256, "decoding": decoding, "model_files": files}

    @property
    def backend(self) -> Any:
        if self._backend is None:
            from ba_llm import load_backend

            self._backend = load_backend(self.name)
        return self._backend

    def write(self, concepts: Sequence[Mapping[str, Any]]) -> list[Draft]:
        from ba_llm import generate_with

        rows = generate_with(
            self.backend,
            [{"id": c["id"], "concept": c["concept"]} for c in concepts],
            self.prompt,
            self.decoding,
            batch_size=self.batch_size,
            progress=False,
            model=self.name,
        )
        drafts = []
        for row in rows:
            meta = {
                k: row[k]
                for k in (
                    "prompt",
                    "prompt_sha256",
                    "completion_tokens",
                    "latency_s",
                    "finish_reason",
                    "dropped",
                    "quoted",
                )
                if k in row and (k not in ("dropped", "quoted") or row[k])  # what ba-llm dropped or quoted
            }
            error = "generation failed" if row.get("finish_reason") == "error" else None
            drafts.append(Draft(id=row["id"], text=row["text"], error=error, meta=meta))
        return drafts

    def close(self) -> None:
        if self._backend is not None and hasattr(self._backend, "close"):
            self._backend.close()


def make_teacher(spec: str, *, prompt: str | Path | None = None, **options: Any) -> Teacher:
    """``template`` -> :class:`TemplateTeacher`; any other string is a ba-llm model spec."""
    if spec == "template":
        if prompt is not None:
            from ba_io import UsageError

            raise UsageError("--prompt applies only to LLM teachers, not --teacher template")
        return TemplateTeacher()
    return LLMTeacher(spec, prompt, **options)
