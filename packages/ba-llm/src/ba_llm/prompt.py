"""The one prompt: loading prompt files and rendering chat messages.

Every phase (data checks, LoRA training, evaluation, DSPy tuning, generation) renders
the chat messages for a concept with :func:`render_messages` and turns them into model
text with :func:`render_chat_text`, so training and inference see byte-identical input.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ba_io import read_json
from ba_io.schemas import first_issue

from .errors import DataError, UsageError

__all__ = [
    "Prompt",
    "load_prompt",
    "prompt_from_dict",
    "default_prompt",
    "render_messages",
    "render_chat_text",
    "training_pair",
    "prompt_for_model",
    "ADAPTER_PROMPT",
]

DEFAULT_PROMPT_RESOURCE = "default_prompt.json"
#: the prompt a LoRA adapter was trained with, kept in its directory (ba-lora writes it)
ADAPTER_PROMPT = "prompt.json"


@dataclass(frozen=True)
class Prompt:
    """A validated prompt file (schemas/prompt.schema.json)."""

    name: str
    system: str
    user_template: str
    demos: tuple[dict[str, str], ...] = ()
    source: dict[str, Any] | None = None
    path: str | None = field(default=None, compare=False)

    @property
    def sha256(self) -> str:
        """SHA-256 of what affects rendering: system, user_template and demos.

        Computed over canonical JSON (sorted keys, no spaces, UTF-8), so the name, the
        provenance (``source``) and the file's formatting do not change it.
        """
        payload = {
            "system": self.system,
            "user_template": self.user_template,
            "demos": [dict(d) for d in self.demos],
        }
        text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """The prompt as a JSON object valid against prompt.schema.json."""
        out: dict[str, Any] = {
            "name": self.name,
            "system": self.system,
            "user_template": self.user_template,
            "demos": [dict(d) for d in self.demos],
        }
        if self.source is not None:
            out["source"] = dict(self.source)
        return out

    def render_user(self, concept: str) -> str:
        """The user message for ``concept``."""
        return self.user_template.format(concept=concept)


# A chat template's control tokens (ChatML's <|im_start|>, <|im_end|>, Llama 3's
# <|eot_id|>, ...): in a prompt's text they would start a turn of the prompt's own making.
_CONTROL_TOKEN = re.compile(r"<\|[A-Za-z0-9_.-]{1,40}\|>")


def _check_no_control_tokens(data: Mapping[str, Any], where: str) -> None:
    texts = [("system", data["system"]), ("user_template", data["user_template"])]
    for i, demo in enumerate(data.get("demos") or []):
        texts += [(f"demos -> {i} -> concept", demo["concept"]), (f"demos -> {i} -> document", demo["document"])]
    for name, text in texts:
        found = _CONTROL_TOKEN.search(text)
        if found:
            raise DataError(
                where, None, f"{name}: holds the chat control token {found.group()!r}; the chat template adds those"
            )


def _check_template(template: str, where: str) -> None:
    try:
        parts = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise DataError(
            where, None, f"user_template is not a valid format string ({exc}); write literal braces as {{{{ and }}}}"
        ) from None
    fields = [
        f if not (spec or conv) else f"{f}{'!' + conv if conv else ''}{':' + spec if spec else ''}"
        for f, spec, conv in parts
    ]
    if fields != ["concept"]:  # no other field, and no format spec or conversion ({concept:{concept}}, {concept!r})
        raise DataError(
            where,
            None,
            f"user_template must contain the field {{concept}} exactly once and no other field (found {fields or 'none'})",
        )


def prompt_from_dict(data: Mapping[str, Any], where: str = "<prompt>") -> Prompt:
    """Validate a prompt object (prompt.schema.json plus the template check) and build a :class:`Prompt`."""
    data = dict(data) if isinstance(data, Mapping) else data
    issue = first_issue(data, "prompt")
    if issue is not None:
        raise DataError(where, None, str(issue))
    _check_template(data["user_template"], where)
    _check_no_control_tokens(data, where)
    demos = tuple({"concept": d["concept"], "document": d["document"]} for d in data.get("demos") or [])
    return Prompt(
        name=data["name"],
        system=data["system"],
        user_template=data["user_template"],
        demos=demos,
        source=data.get("source"),
        path=None if where.startswith("<") else where,
    )


def default_prompt() -> Prompt:
    """The prompt shipped with the package (``ba_llm/default_prompt.json``)."""
    text = resources.files("ba_llm").joinpath(DEFAULT_PROMPT_RESOURCE).read_text(encoding="utf-8")
    return prompt_from_dict(json.loads(text), where="<default prompt>")


def load_prompt(path: str | Path | None = None) -> Prompt:
    """Load and validate a prompt file; ``None`` gives the packaged default prompt.

    A missing file is a :class:`UsageError`; invalid JSON or a schema violation a
    :class:`DataError` naming the file.
    """
    if path is None:
        return default_prompt()
    data = read_json(path, "prompt")
    return prompt_from_dict(data, where=str(path))


def prompt_for_model(spec: Any, path: str | Path | None = None) -> Prompt:
    """The prompt to ask model ``spec`` (a spec string or ModelSpec) with.

    An explicit ``path`` wins. Otherwise a fine-tuned model is asked with the prompt it was
    trained with: ``prompt.json`` in the adapter directory (or beside an adapter file, as
    ``ba-lora export`` writes it), or, for a model without an adapter, in the model's own
    directory or beside its GGUF file (a ``ba-lora merge`` folder, a merged GGUF of ``ba-lora
    export``). Anything else gets the packaged default.
    """
    if path is not None:
        return load_prompt(path)
    from .models import parse_spec

    ms = parse_spec(spec) if isinstance(spec, str) else spec
    model_file = ms.lora if ms.lora is not None else (ms.path if ms.kind in ("hf", "gguf") else None)
    if model_file is not None:
        where = Path(model_file) if Path(model_file).is_dir() else Path(model_file).parent
        if (where / ADAPTER_PROMPT).is_file():
            return load_prompt(where / ADAPTER_PROMPT)
    return default_prompt()


def render_messages(prompt: Prompt, concept: str) -> list[dict[str, str]]:
    """THE renderer: chat messages for one concept.

    ``[system] + [user(demo concept), assistant(demo document)] * len(demos) + [user(concept)]``.
    """
    if not isinstance(concept, str) or not concept.strip():
        raise UsageError("concept must be a non-empty string")
    messages = [{"role": "system", "content": prompt.system}]
    for demo in prompt.demos:
        messages.append({"role": "user", "content": prompt.render_user(demo["concept"])})
        messages.append({"role": "assistant", "content": demo["document"]})
    messages.append({"role": "user", "content": prompt.render_user(concept)})
    return messages


def render_chat_text(tokenizer: Any, messages: Sequence[Mapping[str, str]], add_generation_prompt: bool = True) -> str:
    """Apply the tokenizer's chat template (``tokenize=False``).

    Used by training and by generation so both format messages identically.
    """
    if not getattr(tokenizer, "chat_template", None):
        raise UsageError(
            "the tokenizer has no chat_template; prepare the model with `ba-llm prepare smollm2` or add one"
        )
    return tokenizer.apply_chat_template(
        [dict(m) for m in messages], tokenize=False, add_generation_prompt=add_generation_prompt
    )


def training_pair(tokenizer: Any, prompt: Prompt, concept: str, answer: str) -> tuple[str, str]:
    """``(prompt_text, full_text)`` for supervised fine-tuning.

    ``prompt_text`` is exactly the generation prompt (chat template with the generation
    prompt appended); ``full_text`` is the chat template applied to the same messages plus
    the assistant ``answer``, so it ends with the template's end-of-turn (``<|im_end|>``
    for ChatML). Train on the tokens of ``full_text`` after ``prompt_text``.
    """
    messages = render_messages(prompt, concept)
    prompt_text = render_chat_text(tokenizer, messages, add_generation_prompt=True)
    full_text = render_chat_text(
        tokenizer, messages + [{"role": "assistant", "content": answer}], add_generation_prompt=False
    )
    if not full_text.startswith(prompt_text):
        raise UsageError(
            "the chat template renders the assistant turn differently from its generation prompt; "
            "training text would not match inference"
        )
    return prompt_text, full_text
