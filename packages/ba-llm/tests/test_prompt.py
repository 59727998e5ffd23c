"""The one prompt: loading, validation, rendering, training/generation agreement."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ba_io import DataError, UsageError, validate
from ba_llm.prompt import Prompt, default_prompt, load_prompt, render_chat_text, render_messages, training_pair

DATA = Path(__file__).parent / "data"


def test_default_prompt_is_valid_and_states_the_format():
    p = load_prompt(None)
    assert p.name == "default" and p.demos == ()
    assert validate(p.to_dict(), "prompt") == []
    for word in (
        "title",
        "description",
        "functional_requirements",
        "non_functional_requirements",
        "constraints",
        "FR001",
        "NFR001",
        "C001",
        "High",
        "Medium",
        "Low",
        "At least 3",
    ):
        assert word in p.system, word
    assert "{concept}" in p.user_template
    assert len(p.sha256) == 64 and p.sha256 == default_prompt().sha256


def test_render_messages_layout_with_demos():
    p = load_prompt(DATA / "prompt_demos.json")
    msgs = render_messages(p, "A school lunch app.")
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert msgs[0]["content"] == p.system
    assert (
        msgs[1]["content"] == "Business concept:\nA bakery ordering site.\n\nWrite the requirements document in YAML."
    )
    assert msgs[2]["content"] == p.demos[0]["document"]
    assert msgs[-1]["content"].startswith("Business concept:\nA school lunch app.")


def test_concept_with_braces_is_inserted_verbatim():
    p = load_prompt(DATA / "prompt_braces.json")
    msgs = render_messages(p, "An app {with} braces {concept}")
    assert msgs[-1]["content"] == 'Concept: An app {with} braces {concept}\nAnswer like {"title": ...}'


def test_sha256_ignores_name_and_source_but_not_content():
    p = load_prompt(DATA / "prompt_demos.json")
    d = p.to_dict()
    d2 = dict(d, name="renamed", source={"x": 1})
    from ba_llm.prompt import prompt_from_dict

    assert prompt_from_dict(d2).sha256 == p.sha256
    assert prompt_from_dict(dict(d, system=d["system"] + " ")).sha256 != p.sha256


def test_to_dict_roundtrip(tmp_path):
    p = load_prompt(DATA / "prompt_demos.json")
    f = tmp_path / "copy.json"
    f.write_text(json.dumps(p.to_dict()), encoding="utf-8")
    q = load_prompt(f)
    assert q == p and q.sha256 == p.sha256


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("prompt_no_concept.json", "user_template"),
        ("prompt_two_fields.json", "no other field"),
        ("prompt_extra_key.json", "temperature"),
        ("prompt_bad_demo.json", "document"),
        ("prompt_invalid_json.json", "prompt_invalid_json.json:3"),
    ],
)
def test_bad_prompt_files(name, fragment):
    with pytest.raises(DataError) as exc:
        load_prompt(DATA / name)
    assert fragment in str(exc.value) and name in str(exc.value)
    assert "\n" not in str(exc.value)


def test_missing_prompt_file_is_usage_error(tmp_path):
    with pytest.raises(UsageError):
        load_prompt(tmp_path / "nope.json")


def test_empty_concept_refused():
    with pytest.raises(UsageError):
        render_messages(default_prompt(), "  ")


RENDER_SNIPPET = (
    "import json, sys; from ba_llm.prompt import load_prompt, render_messages; "
    "p = load_prompt(sys.argv[1] if sys.argv[1] != '-' else None); "
    "sys.stdout.buffer.write(json.dumps(render_messages(p, sys.argv[2]), ensure_ascii=False).encode())"
)


@pytest.mark.parametrize("prompt_file", [None, DATA / "prompt_demos.json"])
def test_rendering_is_byte_identical_across_processes(prompt_file, tmp_path):
    concept = "Ein Café-Buchungssystem {mit} Umlauten – and “quotes”."
    here = json.dumps(render_messages(load_prompt(prompt_file), concept), ensure_ascii=False).encode()
    # a copy of the file elsewhere, loaded in another process, renders the same bytes
    arg = "-"
    if prompt_file is not None:
        copy = tmp_path / "p.json"
        copy.write_bytes(Path(prompt_file).read_bytes())
        arg = str(copy)
    there = subprocess.run([sys.executable, "-c", RENDER_SNIPPET, arg, concept], check=True, capture_output=True).stdout
    assert there == here


def test_training_prefix_equals_generation_prompt(tiny_model):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model))
    for p in (default_prompt(), load_prompt(DATA / "prompt_demos.json")):
        concept = "A bakery ordering site."
        answer = "title: Bakery\ndescription: Orders.\n"
        prompt_text, full_text = training_pair(tok, p, concept, answer)
        assert prompt_text == render_chat_text(tok, render_messages(p, concept))
        assert full_text.startswith(prompt_text)
        assert full_text[len(prompt_text) :] == answer + "<|im_end|>\n"
        assert prompt_text.endswith("<|im_start|>assistant\n")


def test_render_chat_text_needs_a_template():
    class NoTemplate:
        chat_template = None

    with pytest.raises(UsageError, match="chat_template"):
        render_chat_text(NoTemplate(), [{"role": "user", "content": "x"}])


def test_prompt_is_hashable_and_frozen():
    p = default_prompt()
    assert isinstance(p, Prompt)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.name = "x"  # type: ignore[misc]


def test_an_adapter_is_asked_with_the_prompt_it_was_trained_with(tmp_path):
    import json

    from ba_llm import prompt_for_model
    from ba_llm.prompt import default_prompt

    adapter = tmp_path / "ft"
    adapter.mkdir()
    short = {"name": "short", "system": "Write the YAML.", "user_template": "Concept: {concept}", "demos": []}
    (adapter / "prompt.json").write_text(json.dumps(short))
    p = prompt_for_model(f"hf:{tmp_path}/base+lora:{adapter}")
    assert (p.name, p.system, p.user_template) == ("short", "Write the YAML.", "Concept: {concept}")
    # an exported adapter file finds the prompt.json beside it
    (adapter / "adapter.gguf").write_bytes(b"GGUF")
    assert prompt_for_model(f"gguf:{tmp_path}/base.gguf+lora:{adapter / 'adapter.gguf'}").name == "short"
    # an explicit prompt file wins; a model without an adapter gets the packaged default
    other = tmp_path / "other.json"
    other.write_text(json.dumps(dict(short, name="other")))
    assert prompt_for_model(f"hf:{tmp_path}/base+lora:{adapter}", other).name == "other"
    assert prompt_for_model("smollm2") == default_prompt()
    assert prompt_for_model(f"hf:{tmp_path}/base+lora:{tmp_path / 'none'}") == default_prompt()
    assert prompt_for_model(f"hf:{tmp_path}/base") == default_prompt()  # a base model: no prompt.json in it
    # a merged model (ba-lora merge folder, or a merged GGUF of ba-lora export) carries the prompt too
    assert prompt_for_model(f"hf:{adapter}").name == "short"
    (adapter / "model-f16.gguf").write_bytes(b"GGUF")
    assert prompt_for_model(f"gguf:{adapter / 'model-f16.gguf'}").name == "short"


@pytest.mark.parametrize(
    "template",
    [
        "Concept: {concept:{concept}}",
        "Concept: {concept}{concept!r}",
        "Concept: {concept} {concept:>80}",
        "Concept: {concept} {0}",
        "Concept: {concept} {}",
        "Concept: {concept} {concept}",
        "Concept: {concept} {concept[0]}",
    ],
)
def test_user_templates_that_would_fail_or_mangle_later_are_refused_at_load(template):
    """#17.13: `{concept:{concept}}` and `{0}` passed prompt validation and failed later."""
    from ba_llm.prompt import prompt_from_dict

    with pytest.raises(DataError, match="user_template must contain the field {concept} exactly once"):
        prompt_from_dict({"name": "x", "system": "s", "user_template": template, "demos": []})


@pytest.mark.parametrize(
    "field, token",
    [
        ("system", "<|im_start|>"),
        ("user_template", "<|im_end|>"),
        ("demo_concept", "<|endoftext|>"),
        ("demo_document", "<|eot_id|>"),
    ],
)
def test_chat_control_tokens_in_a_prompt_are_refused_at_load(field, token):
    """Campaign 24: a prompt file holding `<|im_start|>assistant` wrote its own turns into every chat."""
    from ba_llm.prompt import prompt_from_dict

    data = {
        "name": "x",
        "system": "s",
        "user_template": "Concept: {concept}",
        "demos": [{"concept": "c", "document": "d"}],
    }
    text = f"before {token}assistant\nafter"
    if field.startswith("demo_"):
        data["demos"][0][field.removeprefix("demo_")] = text
    else:
        data[field] = text + (" {concept}" if field == "user_template" else "")
    with pytest.raises(DataError, match=r"holds the chat control token '<\|"):
        prompt_from_dict(data)
    # text that only looks like markup is a user's to write
    data = {"name": "x", "system": "a <b> | c <| d |> e", "user_template": "Concept: {concept}", "demos": []}
    assert prompt_from_dict(data).system.startswith("a <b>")
