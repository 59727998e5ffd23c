"""The DSPy program for the BA task and the adapter that renders it through ba-llm.

The program is one ``dspy.Predict`` over the signature ``concept -> document``:

* the signature's *instructions* are the part MIPROv2 optimises (the first paragraph of
  the starting prompt's system text);
* the ``document`` output field's description holds the output-format rules (the rest of
  the system text); the optimiser never rewrites it;
* demos are ``concept`` / ``document`` pairs.

:class:`BAAdapter` formats calls for this signature with
:func:`ba_llm.prompt.render_messages` - the same renderer generation, evaluation and
fine-tuning use - so what MIPROv2 scores is byte-identical to what the exported prompt
file renders (:func:`prompt_for` builds both). Other signatures (MIPROv2's instruction
proposer) go through DSPy's ChatAdapter, with a lenient fallback for small models that
omit the ``[[ ## field ## ]]`` markers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import dspy
from dspy.adapters.chat_adapter import ChatAdapter, field_header_pattern
from dspy.utils.exceptions import AdapterParseError

from ba_llm.prompt import Prompt, render_messages

__all__ = [
    "INPUT_FIELD",
    "OUTPUT_FIELD",
    "BARequirements",
    "BAAdapter",
    "split_system",
    "join_system",
    "make_signature",
    "is_ba_signature",
    "format_rules_of",
    "canonical_document",
    "prompt_for",
    "program_from_prompt",
]

INPUT_FIELD = "concept"
OUTPUT_FIELD = "document"
_INPUT_DESC = "The business concept to turn into a requirements document."


def split_system(system: str) -> tuple[str, str]:
    """Split a prompt's system text into ``(instruction, format_rules)``.

    The instruction is the first paragraph (up to the first blank line), the format rules
    are the rest. ``join_system(*split_system(s)) == s.strip()``.
    """
    head, _, tail = system.strip().partition("\n\n")
    return head.strip(), tail.strip()


def join_system(instruction: str, format_rules: str) -> str:
    """The system text: the instruction, a blank line, the format rules (empty parts dropped)."""
    return "\n\n".join(p.strip() for p in (instruction, format_rules) if p and p.strip())


def make_signature(instruction: str, format_rules: str) -> type[dspy.Signature]:
    """The ``concept -> document`` signature carrying the instruction and the format rules."""
    return dspy.make_signature(
        {
            INPUT_FIELD: (str, dspy.InputField(desc=_INPUT_DESC)),
            OUTPUT_FIELD: (str, dspy.OutputField(desc=format_rules or "The requirements document in YAML.")),
        },
        instructions=instruction,
        signature_name="BARequirementsSignature",
    )


def is_ba_signature(signature: type[dspy.Signature]) -> bool:
    """True for the BA task's ``concept -> document`` signature."""
    return list(signature.input_fields) == [INPUT_FIELD] and list(signature.output_fields) == [OUTPUT_FIELD]


def format_rules_of(signature: type[dspy.Signature]) -> str:
    """The output-format rules stored in the ``document`` field's description."""
    extra = signature.output_fields[OUTPUT_FIELD].json_schema_extra or {}
    desc = str(extra.get("desc") or "")
    return "" if desc.startswith("${") else desc


def canonical_document(text: str) -> str:
    """``ba_metric.render(ba_metric.parse(text))``; the stripped text when it does not parse."""
    from ba_metric import parse, render

    try:
        return render(parse(text))
    except Exception:  # noqa: BLE001 - an unparseable demo is kept as written
        return str(text).strip()


def _demo_pairs(demos: Iterable[Any]) -> list[dict[str, str]]:
    pairs = []
    for demo in demos:
        get = demo.get if hasattr(demo, "get") else (lambda k, d=demo: getattr(d, k, None))
        concept, document = get(INPUT_FIELD), get(OUTPUT_FIELD)
        if not isinstance(concept, str) or not concept.strip() or not isinstance(document, str) or not document.strip():
            continue
        pairs.append({"concept": concept, "document": canonical_document(document)})
    return pairs


def prompt_for(
    signature: type[dspy.Signature],
    demos: Iterable[Any],
    user_template: str,
    *,
    name: str = "dspy-candidate",
    source: Mapping[str, Any] | None = None,
) -> Prompt:
    """The ba-llm :class:`Prompt` a BA signature plus demos stands for.

    Used by :class:`BAAdapter` for every task call and by the exporter, so the exported
    file renders exactly what was scored.
    """
    return Prompt(
        name=name,
        system=join_system(signature.instructions, format_rules_of(signature)),
        user_template=user_template,
        demos=tuple(_demo_pairs(demos)),
        source=dict(source) if source is not None else None,
    )


class BAAdapter(ChatAdapter):
    """Renders the BA signature with ba-llm's prompt renderer; other signatures as ChatAdapter.

    The BA task's answer is the whole completion (``document``); nothing is parsed away, the
    metric parses it. For other signatures with one text output field, a completion without
    the ``[[ ## field ## ]]`` markers is taken as that field (small models rarely follow
    the marker format; without this MIPROv2's instruction proposer would crash).
    """

    def __init__(self, user_template: str):
        super().__init__(use_json_adapter_fallback=False)
        self.user_template = user_template

    def format(self, signature, demos, inputs):  # noqa: D401 - DSPy API
        if not is_ba_signature(signature):
            return super().format(signature, demos, inputs)
        prompt = prompt_for(signature, demos, self.user_template)
        return render_messages(prompt, inputs[INPUT_FIELD])

    def parse(self, signature, completion):
        if is_ba_signature(signature):
            return {OUTPUT_FIELD: completion.strip()}
        try:
            return super().parse(signature, completion)
        except AdapterParseError:
            fields = list(signature.output_fields)
            if len(fields) == 1 and signature.output_fields[fields[0]].annotation is str:
                text = field_header_pattern.sub("", completion).strip()
                if text:
                    return {fields[0]: text}
            raise


class BARequirements(dspy.Module):
    """``concept -> document``: one Predict whose prompt is a ba-llm prompt file."""

    def __init__(self, instruction: str, format_rules: str):
        super().__init__()
        self.generate = dspy.Predict(make_signature(instruction, format_rules))

    def forward(self, concept: str) -> dspy.Prediction:
        try:
            return self.generate(concept=concept)
        except AdapterParseError:  # an empty completion: score it as an empty document
            return dspy.Prediction(document="")


def program_from_prompt(prompt: Prompt) -> BARequirements:
    """The DSPy program that renders exactly ``prompt`` (its demos become the predictor's demos)."""
    instruction, rules = split_system(prompt.system)
    program = BARequirements(instruction, rules)
    program.generate.demos = [dspy.Example(concept=d["concept"], document=d["document"]) for d in prompt.demos]
    return program
