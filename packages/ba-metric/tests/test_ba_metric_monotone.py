"""Partial credit is monotone: more defects never score higher."""

from __future__ import annotations

from ba_metric_strategies import (
    CATEGORY_DEFECTS,
    CATS,
    DESCRIPTION_DEFECTS,
    ITEM_DEFECTS,
    TITLE_DEFECTS,
    apply_defects,
    defect_lists,
    perfect_documents,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from ba_metric import render, render_category, score


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_more_defects_never_score_higher(data):
    doc = data.draw(perfect_documents())
    defects = data.draw(defect_lists(doc))
    assert score(doc).total == 1.0
    previous = 1.0
    for k in range(1, len(defects) + 1):
        total = score(apply_defects(doc, defects[:k])).total
        assert total <= previous, (defects[:k], total, previous)
        previous = total


DESTRUCTIVE = st.one_of(
    st.tuples(st.sampled_from(["title", "description"]), st.sampled_from(["drop", "blank", "null"])),
    st.tuples(st.sampled_from(CATS), st.sampled_from(["drop", "blank", "null", "empty_list"])),
    st.tuples(
        st.tuples(st.sampled_from(CATS), st.integers(0, 5)),
        st.sampled_from(["drop_id", "drop_description", "drop_priority", "null_item", "blank_description"]),
    ),
)


def _destroy(doc, target, kind):
    """Blank out / remove one part of an already defective document."""
    if isinstance(target, str):
        if kind == "drop":
            doc.pop(target, None)
        else:
            doc[target] = {"blank": "", "null": None, "empty_list": []}[kind]
        return
    cat, i = target
    items = doc.get(cat)
    if not isinstance(items, list) or not items:
        return
    i %= len(items)
    if kind == "null_item":
        items[i] = None
    elif isinstance(items[i], dict):
        if kind == "blank_description":
            items[i]["description"] = ""
        else:
            items[i].pop(kind[5:], None)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_blanking_any_part_of_any_document_never_raises_its_score(data):
    doc = data.draw(perfect_documents())
    doc = apply_defects(doc, data.draw(defect_lists(doc)))
    before = score(doc).total
    for target, kind in data.draw(st.lists(DESTRUCTIVE, min_size=1, max_size=4)):
        _destroy(doc, target, kind)
        after = score(doc).total
        assert after <= before, (target, kind)
        before = after


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_every_defect_alone_lowers_a_perfect_score(data):
    doc = data.draw(perfect_documents())
    target = data.draw(
        st.one_of(
            st.sampled_from(TITLE_DEFECTS).map(lambda k: (("title",), k)),
            st.sampled_from(DESCRIPTION_DEFECTS).map(lambda k: (("description",), k)),
            st.tuples(st.sampled_from(CATS).map(lambda c: (c,)), st.sampled_from(CATEGORY_DEFECTS)),
            st.tuples(st.sampled_from(CATS).map(lambda c: (c, 0)), st.sampled_from(ITEM_DEFECTS)),
        )
    )
    assert score(apply_defects(doc, [target])).total < 1.0, target


@settings(max_examples=50, deadline=None)
@given(perfect_documents())
def test_text_dict_and_v2_forms_score_alike(doc):
    v2 = {k: (render_category(v) if isinstance(v, list) else v) for k, v in doc.items()}
    assert score(render(doc)) == score(doc) == score(v2)
