"""Hypothesis strategies and defect injection for the ba-metric tests."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

CATS = ("functional_requirements", "non_functional_requirements", "constraints")
PREFIX = {"functional_requirements": "FR", "non_functional_requirements": "NFR", "constraints": "C"}
VOCAB = (
    "garden plot member season water rota tool shed produce neighbour volunteer map app "
    "reserve book share swap list notify record inspect report pay invoice school bus route "
    "parent driver clinic patient nurse shift ticket event venue seat price stock shelf order"
).split()

word = st.sampled_from(VOCAB)


def phrase(lo: int, hi: int):
    return st.lists(word, min_size=lo, max_size=hi).map(" ".join)


priority = st.sampled_from(["High", "Medium", "Low", "high", "LOW", " medium "])


@st.composite
def category(draw, prefix: str) -> list[dict[str, Any]]:
    descs = draw(st.lists(phrase(3, 10), min_size=2, max_size=5, unique_by=lambda s: s))
    return [
        {"id": f"{prefix}{i:03d}", "description": d.capitalize() + ".", "priority": draw(priority)}
        for i, d in enumerate(descs, start=1)
    ]


@st.composite
def perfect_documents(draw) -> dict[str, Any]:
    """Documents that score 1.0."""
    doc = {
        "title": draw(phrase(3, 8)).title(),
        "description": draw(phrase(15, 30)).capitalize() + ".",
    }
    for cat in CATS:
        doc[cat] = draw(category(PREFIX[cat]))
    return doc


# -- defects ------------------------------------------------------------------------------

TITLE_DEFECTS = ("drop", "blank", "placeholder", "too_long", "one_word", "not_string", "copy_description")
DESCRIPTION_DEFECTS = ("drop", "blank", "short", "placeholder", "copy_title", "not_string")
CATEGORY_DEFECTS = ("drop", "blank", "null", "empty_list", "prose", "invalid_yaml_string", "mapping")
ITEM_DEFECTS = (
    "drop_id", "drop_description", "drop_priority", "bad_priority", "blank_description",
    "short_description", "placeholder_description", "bad_id_format", "wrong_prefix",
    "duplicate_id", "not_mapping", "null_item", "remove", "duplicate",
)  # fmt: skip


@st.composite
def defect_lists(draw, doc: dict[str, Any]) -> list[tuple]:
    """Distinct-target defects for ``doc``, in random order: (target, kind)."""
    options = st.one_of(
        st.tuples(st.just(("title",)), st.sampled_from(TITLE_DEFECTS)),
        st.tuples(st.just(("description",)), st.sampled_from(DESCRIPTION_DEFECTS)),
        st.tuples(st.sampled_from(CATS).map(lambda c: (c,)), st.sampled_from(CATEGORY_DEFECTS)),
        st.sampled_from(CATS).flatmap(
            lambda c: st.tuples(st.integers(0, len(doc[c]) - 1).map(lambda i: (c, i)), st.sampled_from(ITEM_DEFECTS))
        ),
    )
    defects = draw(st.lists(options, max_size=12, unique_by=lambda d: d[0]))
    # Removing the item whose id a "duplicate_id" copied can leave a correct sequence again
    # ([FR002 -> FR001], FR001 removed): a repair by the test's own composition, not a
    # property of the metric. Keep the two apart.
    removed = {d[0][0] for d in defects if d[1] == "remove"}
    return [d for d in defects if not (d[1] == "duplicate_id" and d[0][0] in removed)]


def _item_defect(items: list, i: int, kind: str, prefix: str) -> None:
    item = items[i]
    if kind == "remove":
        del items[i]
    elif kind == "duplicate":
        items.insert(i + 1, copy.deepcopy(item))
    elif kind == "not_mapping":
        items[i] = str(item.get("description"))
    elif kind == "null_item":
        items[i] = None
    elif kind.startswith("drop_"):
        item.pop(kind[5:], None)
    elif kind == "bad_priority":
        item["priority"] = "Urgent"
    elif kind == "blank_description":
        item["description"] = ""
    elif kind == "short_description":
        item["description"] = "Fast."
    elif kind == "placeholder_description":
        item["description"] = "TBD"
    elif kind == "bad_id_format":
        item["id"] = f"{prefix}{i + 1:02d}"
    elif kind == "wrong_prefix":
        item["id"] = f"REQ{i + 1:03d}"
    elif kind == "duplicate_id":
        other = items[i - 1] if i > 0 else (items[1] if len(items) > 1 else None)
        item["id"] = other.get("id", f"{prefix}001") if isinstance(other, dict) else f"{prefix}001"
    else:  # pragma: no cover
        raise AssertionError(kind)


def apply_defects(doc: dict[str, Any], defects: list[tuple]) -> dict[str, Any]:
    """Apply defects in a canonical order (items from the end, then categories, title,
    description), so that a set of defects gives one document whatever its draw order."""
    doc = copy.deepcopy(doc)
    items = sorted((d for d in defects if len(d[0]) == 2), key=lambda d: (d[0][0], -d[0][1]))
    for (cat, i), kind in items:
        _item_defect(doc[cat], i, kind, PREFIX[cat])
    for target, kind in defects:
        if len(target) == 1 and target[0] in CATS:
            cat = target[0]
            if kind == "drop":
                del doc[cat]
            else:
                doc[cat] = {
                    "blank": "", "null": None, "empty_list": [],
                    "prose": "See the attached spreadsheet for all requirements.",
                    "invalid_yaml_string": "- id: [FR001\n  description: x\n",
                    "mapping": {"FR001": "Members reserve plots online."},
                }[kind]  # fmt: skip
    for _target, kind in sorted((d for d in defects if d[0] == ("title",)), key=str):
        _top_defect(doc, "title", kind)
    for _target, kind in sorted((d for d in defects if d[0] == ("description",)), key=str):
        _top_defect(doc, "description", kind)
    return doc


def _top_defect(doc: dict[str, Any], key: str, kind: str) -> None:
    if kind == "drop":
        doc.pop(key, None)
    elif kind == "blank":
        doc[key] = "  "
    elif kind == "placeholder":
        doc[key] = "TBD" if key == "title" else "Lorem ipsum " + " ".join(VOCAB[:20])
    elif kind == "too_long":
        doc[key] = " ".join(VOCAB[:16])
    elif kind == "one_word":
        doc[key] = "Garden"
    elif kind == "short":
        doc[key] = " ".join(str(doc.get(key, "")).split()[:5])
    elif kind == "not_string":
        doc[key] = ["Garden", "plots"] if key == "title" else 42
    elif kind == "copy_description":
        doc[key] = doc.get("description")
    elif kind == "copy_title":
        doc[key] = doc.get("title")
    else:  # pragma: no cover
        raise AssertionError(kind)


# -- arbitrary valid documents for round trips -------------------------------------------------

any_text = st.text(max_size=60)


@st.composite
def valid_documents(draw) -> dict[str, Any]:
    """Structurally valid documents with arbitrary strings (round-trip material)."""
    doc: dict[str, Any] = {}
    for key in ("title", "description"):
        if draw(st.integers(0, 9)):
            doc[key] = draw(any_text)
    for cat in CATS:
        if draw(st.integers(0, 9)) == 0:
            continue
        n = draw(st.integers(0, 4))
        doc[cat] = [
            {
                "id": draw(st.one_of(st.just(f"{PREFIX[cat]}{i:03d}"), any_text)),
                "description": draw(any_text),
                "priority": draw(st.one_of(st.sampled_from(["High", "Medium", "Low"]), any_text)),
            }
            for i in range(1, n + 1)
        ]
    return doc
