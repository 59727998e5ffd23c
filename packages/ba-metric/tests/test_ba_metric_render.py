"""render / render_category: canonical layout and round trips."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from ba_metric_strategies import valid_documents
from hypothesis import given, settings
from hypothesis import strategies as st

from ba_metric import parse, render, render_category
from ba_metric.loader import load_yaml


def test_canonical_text(data_dir, perfect):
    assert render(perfect) == (data_dir / "perfect.yaml").read_text()


def test_fixed_key_order_whatever_the_input_order(perfect):
    shuffled = {k: perfect[k] for k in reversed(list(perfect))}
    shuffled["functional_requirements"] = [
        {"priority": r["priority"], "extra": 1, "description": r["description"], "id": r["id"]}
        for r in perfect["functional_requirements"]
    ]
    lines = render(shuffled).splitlines()
    assert [line.split(":")[0] for line in lines if not line.startswith(" ")] == list(perfect)
    assert lines[3:7] == [
        "  - id: FR001",
        "    description: Members shall be able to reserve a plot for a season.",
        "    priority: High",
        "    extra: 1",
    ]


def test_unicode_and_long_lines_are_kept():
    title = "Café réservations — 日本語 " + "long " * 60
    text = render({"title": title})
    assert text == f"title: {title.rstrip()}\n" or "\n" not in text.rstrip("\n")
    assert "Café" in text and "\\u" not in text and len(text.splitlines()) == 1


def test_multiline_strings_use_literal_blocks():
    text = render({"description": "line one\nline two\n"})
    assert text == "description: |\n  line one\n  line two\n"


def test_yaml_special_values_are_quoted():
    doc = {
        "title": "yes",
        "description": "null",
        "constraints": [{"id": "C001", "description": "- x: y", "priority": "001"}],
    }
    assert parse(render(doc)) == doc


def test_v2_strings_are_rendered_as_lists(perfect):
    v2 = dict(perfect, constraints=render_category(perfect["constraints"]))
    assert render(v2) == render(perfect)


def test_render_category_matches_the_document_block(perfect):
    block = render_category(perfect["constraints"])
    assert block.startswith("- id: C001\n  description: ")
    assert "constraints:\n" + textwrap.indent(block, "  ") in render(perfect)


def test_render_rejects_non_mappings():
    with pytest.raises(TypeError):
        render(["title"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        render_category("- a")  # type: ignore[arg-type]


def test_empty_and_odd_categories_round_trip():
    doc = {"title": "T", "functional_requirements": [], "constraints": None}
    assert render(doc) == "title: T\nfunctional_requirements: []\nconstraints: null\n"
    assert parse(render(doc)) == doc


@settings(max_examples=200, deadline=None)
@given(valid_documents())
def test_parse_render_round_trip(doc):
    text = render(doc)
    if not doc:
        return
    assert parse(text) == doc
    assert render(parse(text)) == text  # canonical: rendering is idempotent


@settings(max_examples=200, deadline=None)
@given(valid_documents())
def test_render_category_round_trip_and_consistency(doc):
    for cat in ("functional_requirements", "non_functional_requirements", "constraints"):
        items = doc.get(cat)
        if items:
            block = render_category(items)
            assert load_yaml(block) == items
            assert f"{cat}:\n" + textwrap.indent(block, "  ", lambda line: line.strip("\n") != "") in render(doc)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_any_string_round_trips_as_a_title(title):
    assert yaml.safe_load(render({"title": title})) == {"title": title}
