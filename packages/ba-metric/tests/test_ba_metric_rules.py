"""Every scoring sub-rule (README "Scoring rules"), one small test each."""

from __future__ import annotations

import json

import pytest

from ba_metric import COMPONENTS, DEFAULT_THRESHOLD, Score, score
from ba_metric.rules import is_placeholder, word_count

CATS = ("functional_requirements", "non_functional_requirements", "constraints")
SHORT = {"functional_requirements": "fr", "non_functional_requirements": "nfr", "constraints": "constraints"}
TWENTY = " ".join(["plot"] * 20)


def points(doc, component):
    return score(doc).breakdown[component]


def test_perfect_document_scores_one(perfect):
    result = score(perfect)
    assert result.total == 1.0 and result.points == 6.5 and result.error is None
    assert dict(result.breakdown) == dict(COMPONENTS)


def test_components_and_max_points():
    assert list(COMPONENTS) == [
        "completeness", "title", "description",
        "fr_list", "fr_count", "fr_ids", "nfr_list", "nfr_count", "nfr_ids",
        "constraints_list", "constraints_count", "constraints_ids",
    ]  # fmt: skip
    assert sum(COMPONENTS.values()) == 6.5


def test_total_is_points_over_six_and_a_half(perfect):
    perfect["title"] = "TBD"
    result = score(perfect)
    assert result.points == 6.0 and result.total == round(6.0 / 6.5, 6)


def test_score_is_frozen_and_json_serialisable(perfect):
    result = score(perfect, "garden plots")
    assert isinstance(result, Score)
    with pytest.raises(AttributeError):
        result.total = 0.5  # type: ignore[misc]
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data) == {"total", "points", "breakdown", "grounding", "content", "defects", "error"}
    assert result.passed() and not score("x").passed(DEFAULT_THRESHOLD)


# -- completeness: 0.2 per field present and non-empty ------------------------------------------


@pytest.mark.parametrize("field", ["title", "description", *CATS])
@pytest.mark.parametrize("empty", ["missing", None, "", "   ", [], {}])
def test_completeness_counts_present_non_empty_fields(perfect, field, empty):
    if empty == "missing":
        del perfect[field]
    else:
        perfect[field] = empty
    assert points(perfect, "completeness") == 0.8


def test_completeness_counts_fields_even_when_malformed(perfect):
    perfect["functional_requirements"] = "See the spreadsheet."
    perfect["title"] = 2024
    assert points(perfect, "completeness") == 1.0


# -- title: string of 3-15 words, not a placeholder -----------------------------------------------


@pytest.mark.parametrize(
    ("title", "ok"),
    [
        ("Garden plots", False),
        ("Garden plot booking", True),
        (" ".join(["plot"] * 15), True),
        (" ".join(["plot"] * 16), False),
        ("E-commerce gift registry", True),  # e-commerce is one word
        ("--- *** ---", False),
        (["Garden", "plot", "booking"], False),
        (42, False),
        ("Project title", False),
        ("Business Requirements Document", False),
        ("<Project name> booking app", False),
        ("{{title}} for gardens", False),
        ("[Insert title here] app", False),
        ("Garden booking TBD", False),
        ("Garden plot booking...", False),
        ("Garden plot booking …", False),
        ("Lorem ipsum dolor sit", False),
    ],
)
def test_title_rule(perfect, title, ok):
    perfect["title"] = title
    assert points(perfect, "title") == (0.5 if ok else 0.0)


def test_title_does_not_depend_on_description(perfect):
    perfect["description"] = perfect["title"]
    assert points(perfect, "title") == 0.5


# -- description: >= 15 words, not a placeholder, not a copy of a passing title -----------------


@pytest.mark.parametrize(
    ("description", "ok"),
    [
        (" ".join(["plot"] * 14), False),
        (" ".join(["plot"] * 15), True),
        ("Lorem ipsum " + TWENTY, False),
        ("<describe the product> " + TWENTY, False),
        (TWENTY + " ...", False),
        (None, False),
        (12, False),
    ],
)
def test_description_rule(perfect, description, ok):
    perfect["description"] = description
    assert points(perfect, "description") == (0.5 if ok else 0.0)


def test_description_equal_to_a_passing_title_fails(perfect):
    fifteen = " ".join(["Plot"] * 15)
    perfect["title"], perfect["description"] = fifteen, fifteen.lower() + "."
    result = score(perfect)
    assert result.breakdown["title"] == 0.5 and result.breakdown["description"] == 0.0


def test_description_equal_to_a_failing_title_is_charged_once(perfect):
    perfect["title"] = perfect["description"]  # > 15 words: the title fails ...
    result = score(perfect)
    assert result.breakdown["title"] == 0.0 and result.breakdown["description"] == 0.5  # ... once


def test_blanking_a_duplicated_title_never_raises_the_score(perfect):
    perfect["title"] = perfect["description"]
    before = score(perfect).total
    perfect["title"] = ""
    assert score(perfect).total < before


# -- <cat>_list: a non-empty list of valid requirement mappings ------------------------------------

BAD_ITEMS = [
    ("missing id", lambda r: r.pop("id")),
    ("blank id", lambda r: r.update(id="  ")),
    ("int id", lambda r: r.update(id=1)),
    ("missing description", lambda r: r.pop("description")),
    ("two-word description", lambda r: r.update(description="Reserve plots.")),
    ("placeholder description", lambda r: r.update(description="TBD: plot rules here")),
    ("ellipsis description", lambda r: r.update(description="...")),
    ("non-string description", lambda r: r.update(description=["a", "b", "c"])),
    ("missing priority", lambda r: r.pop("priority")),
    ("unknown priority", lambda r: r.update(priority="Critical")),
    ("numeric priority", lambda r: r.update(priority=1)),
]


@pytest.mark.parametrize("cat", CATS)
@pytest.mark.parametrize(("name", "damage"), BAD_ITEMS, ids=[n for n, _ in BAD_ITEMS])
def test_list_rule_rejects_invalid_items(perfect, cat, name, damage):
    damage(perfect[cat][1])
    assert points(perfect, f"{SHORT[cat]}_list") == 0.0


@pytest.mark.parametrize(
    "value",
    ["- a\n- b", "See attached.", {"FR001": "x"}, [], ["Members reserve plots.", "Members pay fees."], None],
)
def test_list_rule_needs_a_list_of_mappings(perfect, value):
    perfect["functional_requirements"] = value
    assert points(perfect, "fr_list") == 0.0


@pytest.mark.parametrize("priority", ["high", "LOW", " Medium "])
def test_priority_is_case_insensitive(perfect, priority):
    perfect["constraints"][0]["priority"] = priority
    assert points(perfect, "constraints_list") == 0.5


def test_extra_requirement_keys_are_allowed(perfect):
    perfect["functional_requirements"][0]["rationale"] = "Members asked for it."
    assert score(perfect).total == 1.0


def test_v2_yaml_string_category_is_a_valid_list(perfect):
    perfect["functional_requirements"] = (
        "- id: FR001\n  description: Members reserve a plot.\n  priority: High\n"
        "- id: FR002\n  description: Members pay a season fee.\n  priority: Low\n"
    )
    assert score(perfect).total == 1.0


# -- <cat>_count: at least two valid requirements with different descriptions --------------------


def test_count_rule_needs_two(perfect):
    perfect["functional_requirements"] = perfect["functional_requirements"][:1]
    result = score(perfect)
    assert result.breakdown["fr_count"] == 0.0 and result.breakdown["fr_list"] == 0.5


def test_count_rule_counts_only_valid_items(perfect):
    perfect["functional_requirements"][1]["priority"] = "Urgent"
    assert points(perfect, "fr_count") == 0.0


def test_count_rule_ignores_repeated_descriptions(perfect):
    first = perfect["functional_requirements"][0]
    perfect["functional_requirements"][1]["description"] = "  " + first["description"].upper()
    assert points(perfect, "fr_count") == 0.0


# -- <cat>_ids: PREFIX001, PREFIX002, ... in order ---------------------------------------------------


@pytest.mark.parametrize(
    "ids",
    [
        ["FR01", "FR02"],
        ["FR1", "FR2"],
        ["fr001", "fr002"],
        ["FR-001", "FR-002"],
        ["FR0001", "FR0002"],
        ["NFR001", "NFR002"],
        ["FR001", "FR001"],
        ["FR002", "FR003"],
        ["FR001", "FR003"],
        ["FR002", "FR001"],
        [1, 2],
    ],
)
def test_ids_rule_rejects(perfect, ids):
    for item, rid in zip(perfect["functional_requirements"], ids):
        item["id"] = rid
    assert points(perfect, "fr_ids") == 0.0


@pytest.mark.parametrize(("cat", "prefix"), [("non_functional_requirements", "NFR"), ("constraints", "C")])
def test_ids_rule_prefixes(perfect, cat, prefix):
    perfect[cat].append({"id": f"{prefix}003", "description": "A third requirement here.", "priority": "Low"})
    assert points(perfect, f"{SHORT[cat]}_ids") == 0.5
    perfect[cat][2]["id"] = f"{prefix}004"
    assert points(perfect, f"{SHORT[cat]}_ids") == 0.0


def test_ids_rule_needs_mappings(perfect):
    perfect["functional_requirements"][1] = "FR002"
    assert points(perfect, "fr_ids") == 0.0


def test_ids_rule_is_independent_of_other_item_defects(perfect):
    perfect["functional_requirements"][1]["priority"] = "Urgent"
    assert points(perfect, "fr_ids") == 0.5


# -- helpers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "n"),
    [("", 0), ("one", 1), ("e-commerce app", 2), ("don't stop", 2), ("v2.0 -- ok", 3), ("— … !!", 0)],
)
def test_word_count(text, n):
    assert word_count(text) == n


def test_placeholder_is_not_triggered_by_ordinary_brackets():
    assert not is_placeholder("Reports [weekly] for members")
    assert not is_placeholder("Costs < 5 euros and > 2 euros")
