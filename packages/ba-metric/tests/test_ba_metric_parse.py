"""parse / document_from_fields: accepted input forms and the errors for the rest."""

from __future__ import annotations

import json

import pytest
import yaml

from ba_metric import ParseError, document_from_fields, parse, render
from ba_metric.loader import MAX_INPUT_CHARS, load_yaml


def test_yaml_text(data_dir, perfect):
    assert parse((data_dir / "perfect.yaml").read_text()) == perfect


def test_json_text(data_dir, perfect):
    assert parse((data_dir / "document.json").read_text()) == perfect


def test_bytes_are_decoded(data_dir, perfect):
    assert parse((data_dir / "perfect.yaml").read_bytes()) == perfect


def test_invalid_utf8_bytes_are_replaced():
    assert parse(b"title: caf\xc3 au lait\n") == {"title": "caf\ufffd au lait"}


def test_canonical_key_order_and_extra_keys_dropped():
    doc = parse("constraints: []\nnotes: x\ntitle: T\n")
    assert list(doc) == ["title", "constraints"]


@pytest.mark.parametrize("tag", ["yaml", "yml", "json", "", "YAML"])
def test_fenced_block_with_chatter(perfect, tag):
    body = json.dumps(perfect) if tag == "json" else render(perfect)
    text = f"Sure! Here is the document:\n\n```{tag}\n{body}```\n\nLet me know if you need changes."
    assert parse(text) == perfect


def test_tilde_fence_and_unclosed_fence(perfect):
    assert parse("Here:\n~~~yaml\n" + render(perfect) + "~~~\n") == perfect
    assert parse("Here:\n```yaml\n" + render(perfect)) == perfect


def test_second_fence_when_first_is_not_a_document(perfect):
    text = "Example input:\n```\nconcept: garden\n```\nOutput:\n```yaml\n" + render(perfect) + "```\n"
    assert parse(text) == perfect


def test_unfenced_chatter_before_and_after(perfect):
    text = "Here is the document:\n" + render(perfect) + "I hope this helps!\n"
    assert parse(text) == perfect


def test_leading_think_block(perfect):
    assert parse("<think>\ntitle: not this\n</think>\n" + render(perfect)) == perfect


def test_think_text_inside_a_value_is_kept():
    assert parse('title: "a </think> b"\n') == {"title": "a </think> b"}


def test_wrapper_key_is_unwrapped(perfect):
    assert parse(yaml.safe_dump({"requirements_document": perfect})) == perfect
    assert parse({"document": perfect}) == perfect


def test_v2_string_categories_are_decoded(perfect):
    text = yaml.safe_dump(
        {k: (yaml.safe_dump(v, sort_keys=False) if isinstance(v, list) else v) for k, v in perfect.items()},
        sort_keys=False,
    )
    assert parse(text) == perfect


def test_v2_json_string_category_is_decoded(perfect):
    perfect_json = {**perfect, "constraints": json.dumps(perfect["constraints"])}
    assert parse(perfect_json) == perfect


def test_category_string_that_is_not_a_list_is_kept():
    assert parse({"functional_requirements": "See the attached sheet."}) == {
        "functional_requirements": "See the attached sheet."
    }
    assert parse({"constraints": "- id: [C001"}) == {"constraints": "- id: [C001"}


def test_document_from_fields_ignores_other_keys(perfect):
    row = {"concept": "garden", "id": 7, **{k: v for k, v in perfect.items()}}
    row["functional_requirements"] = yaml.safe_dump(perfect["functional_requirements"], sort_keys=False)
    assert document_from_fields(row) == perfect
    assert document_from_fields({"concept": "x"}) == {}
    with pytest.raises(ParseError):
        document_from_fields(["title"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty input"),
        ("   \n", "empty input"),
        ("Sorry, I cannot help with that.", "expected a YAML mapping, found a str"),
        ("[1, 2]", "expected a YAML mapping, found a list"),
        ("# only a comment", "expected a YAML mapping, found nothing"),
        ("concept: garden\nnotes: x", "no document fields (title, description, ...) found"),
        ('title: "unterminated\n', "invalid YAML: "),
        ("a: &a [1]\ntitle: *a\nfunctional_requirements: *a", "YAML aliases of lists or mappings are not allowed"),
        ("title: " + "[" * 70 + "]" * 70, "nesting deeper than 64 levels"),
        ("title: 2024-13-45", "invalid YAML: month must be in 1..12"),
        ("title: !!python/object:os.system x", "invalid YAML: could not determine a constructor"),
        ("title: x\n" + "#" * MAX_INPUT_CHARS, "input too large"),
    ],
)
def test_errors(text, message):
    with pytest.raises(ParseError) as err:
        parse(text)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize("value", [None, 3, ["title"], object()])
def test_non_text_input_is_a_parse_error(value):
    with pytest.raises(ParseError, match="expected text, bytes or a mapping"):
        parse(value)


def test_parse_error_is_a_value_error():
    assert issubclass(ParseError, ValueError)


@pytest.mark.parametrize(
    "text",
    [
        "title: 2024\ndescription: yes\nconstraints: ~",
        "title: 2024-01-02\nn: 1.5e3\nb: !!binary aGVsbG8=\ns: !!set {a, b}\nk: {? [a]: 1}".replace(
            "k: {? [a]: 1}", ""
        ),
        "? complex\n: value\n'quoted': \"q\"\nlit: |\n  a\n  b\nfold: >\n  c\n  d\n",
        "a: !!omap [x: 1, y: 2]\nb: !!pairs [x: 1]\nc: !!str 12\nd: !!int '7'\ne: 0x1F\nf: .inf\ng: null",
        '{"a": [1, 2.5, true, null, "x"], "b": {"c": "d"}}',
    ],
)
def test_fast_loader_matches_pyyaml_safe_load(text):
    assert load_yaml(text) == yaml.load(text, Loader=yaml.CSafeLoader)
