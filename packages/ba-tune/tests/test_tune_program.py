"""The DSPy program renders through ba-llm exactly as the exported prompt file does."""

from __future__ import annotations

import dspy
import pytest
from dspy.utils.exceptions import AdapterParseError

from ba_llm.prompt import load_prompt, prompt_from_dict, render_messages
from ba_metric import parse, render
from ba_tune.program import (
    BAAdapter,
    canonical_document,
    format_rules_of,
    is_ba_signature,
    join_system,
    make_signature,
    program_from_prompt,
    prompt_for,
    split_system,
)

CONCEPT = "A booking system for a dog grooming salon with SMS reminders."


def test_split_join_round_trips_the_default_system():
    system = load_prompt(None).system
    instruction, rules = split_system(system)
    assert instruction and rules
    assert "\n\n" not in instruction
    assert join_system(instruction, rules) == system.strip()


def test_join_system_drops_empty_parts():
    assert join_system("", "rules") == "rules"
    assert join_system("do it", "  ") == "do it"


def test_signature_carries_instruction_and_format_rules():
    sig = make_signature("Be precise.", "Rules here.")
    assert is_ba_signature(sig)
    assert sig.instructions == "Be precise."
    assert format_rules_of(sig) == "Rules here."
    assert not is_ba_signature(dspy.Signature("question -> answer"))


def test_baseline_program_renders_the_base_prompt_byte_for_byte():
    base = load_prompt(None)
    program = program_from_prompt(base)
    adapter = BAAdapter(base.user_template)
    messages = adapter.format(program.generate.signature, program.generate.demos, {"concept": CONCEPT})
    assert messages == render_messages(base, CONCEPT)
    assert prompt_for(program.generate.signature, [], base.user_template).sha256 == base.sha256


def test_demos_render_as_canonical_yaml_pairs(data_dir):
    from ba_tune.data import load_examples

    base = load_prompt(None)
    ex = load_examples(data_dir / "train.jsonl", 2)
    # a bootstrapped demo holds raw model text: fenced, chatty, non-canonical
    raw = "Here it is:\n```yaml\n" + ex[1].document + "```\nHope this helps."
    demos = [ex[0], dspy.Example(concept=ex[1].concept, document=raw, augmented=True)]
    sig = make_signature(*split_system(base.system))
    messages = BAAdapter(base.user_template).format(sig, demos, {"concept": CONCEPT})
    prompt = prompt_for(sig, demos, base.user_template)
    assert messages == render_messages(prompt, CONCEPT)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert messages[2]["content"] == ex[0].document
    assert messages[4]["content"] == render(parse(raw)) == ex[1].document


def test_program_from_prompt_with_demos_renders_that_prompt(data_dir):
    from ba_tune.data import load_examples

    ex = load_examples(data_dir / "train.jsonl", 1)[0]
    data = load_prompt(None).to_dict()
    data["demos"] = [{"concept": ex.concept, "document": ex.document}]
    prompt = prompt_from_dict(data)
    program = program_from_prompt(prompt)
    messages = BAAdapter(prompt.user_template).format(
        program.generate.signature, program.generate.demos, {"concept": CONCEPT}
    )
    assert messages == render_messages(prompt, CONCEPT)


def test_incomplete_demos_are_skipped():
    sig = make_signature("Do it.", "Rules.")
    prompt = prompt_for(sig, [dspy.Example(concept="x"), dspy.Example(concept="", document="y")], "C: {concept}")
    assert prompt.demos == ()


def test_canonical_document_keeps_unparseable_text():
    assert canonical_document("  not a document at all  ") == "not a document at all"


def test_ba_parse_takes_the_whole_completion():
    sig = make_signature("Do it.", "Rules.")
    assert BAAdapter("{concept}").parse(sig, "  title: x\n") == {"document": "title: x"}


def test_lenient_parse_for_single_text_field_without_markers():
    adapter = BAAdapter("{concept}")
    sig = dspy.Signature("topic -> proposed_instruction")
    assert adapter.parse(sig, "Write clearly.") == {"proposed_instruction": "Write clearly."}
    marked = "[[ ## proposed_instruction ## ]]\nWrite clearly.\n\n[[ ## completed ## ]]"
    assert adapter.parse(sig, marked) == {"proposed_instruction": "Write clearly."}


def test_multi_field_output_without_markers_still_fails():
    sig = dspy.Signature("topic -> title, summary")
    with pytest.raises(AdapterParseError):
        BAAdapter("{concept}").parse(sig, "just text")


def test_other_signatures_use_chat_adapter_format():
    sig = dspy.Signature("topic -> proposed_instruction")
    messages = BAAdapter("{concept}").format(sig, [], {"topic": "t"})
    assert "[[ ## proposed_instruction ## ]]" in messages[-1]["content"]
