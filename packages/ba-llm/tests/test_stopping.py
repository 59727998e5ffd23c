"""The loop rule: a third copy of a content line (or a line that loops inside) ends a generation;
and a requirement that copies an earlier one word for word is dropped from the answer."""

from __future__ import annotations

from ba_llm import stopping
from ba_llm.backends import _finish
from ba_llm.stopping import Dropped, cut_loop, drop_repeated_requirements, find_loop, looping_rows

DOC = """title: Plot booking for the garden club
description: A booking app for a community garden where members reserve plots and log hours.
functional_requirements:
  - id: FR001
    description: The system shall allow members to reserve plots for a season.
    priority: High
  - id: FR002
    description: The system shall allow members to log volunteer hours.
    priority: High
non_functional_requirements:
  - id: NFR001
    description: The app shall respond to 95% of requests within 2 seconds.
    priority: Medium
"""

LOOP_ITEM = """  - id: NFR{n:03d}
    description: The app shall be easy to use for all members.
    priority: Medium
"""


def _looping(copies: int) -> str:
    return DOC + "".join(LOOP_ITEM.format(n=n) for n in range(2, 2 + copies))


def test_a_complete_document_is_untouched():
    assert cut_loop(DOC) == (DOC, False)
    assert find_loop(DOC) is None
    # id and priority lines repeat in every document; they are too short to count
    assert find_loop(DOC + DOC.split("non_functional")[0]) is None


def test_two_copies_are_a_duplicate_not_a_loop():
    assert cut_loop(_looping(2)).looped is False


def test_the_third_copy_is_cut_back_to_the_last_complete_requirement():
    text = _looping(5) + "constraints:\n  - id: C001\n"
    cut = cut_loop(text)
    assert cut.looped
    assert cut.text == _looping(2).rstrip()
    assert cut.text.endswith("priority: Medium")
    # the same rule reached through any backend's completion, which then drops the copy left
    c = _finish(text, 10, 99, 0.5, "length")
    assert (c.finish_reason, c.completion_tokens) == ("loop", 99)
    assert (c.text, c.dropped) == drop_repeated_requirements(cut.text)
    assert c.text == _looping(1).rstrip() and [d.id for d in c.dropped] == ["NFR003"]
    done = _finish(DOC, 10, 50, 0.5, "stop")
    assert (done.text, done.finish_reason, done.dropped) == (DOC, "stop", [])


def test_case_markers_and_keys_do_not_hide_a_copy():
    lines = [
        "- The app shall be easy to use.",
        "description: the APP shall be  easy to use.",
        "The app shall be easy to use.",
    ]
    assert find_loop("\n".join(lines)) == len(lines[0]) + len(lines[1]) + 2


def test_a_line_that_loops_inside_is_cut():
    runaway = "    description: The app shall serve " + "1200 users and " * 30
    text = DOC + "  - id: NFR002\n" + runaway
    assert find_loop(text, partial_last_line=True) is not None
    cut = cut_loop(text)
    assert cut.looped and cut.text == DOC.rstrip()
    # a long line without a repeated trigram is not a loop
    words = " ".join(f"w{i}" for i in range(stopping.LONG_LINE_WORDS + 10))
    assert find_loop(words) is None


def test_an_unfinished_last_line_is_not_counted_yet():
    text = _looping(2) + "  - id: NFR004\n    description: The app shall be easy to use for all members."
    assert find_loop(text, partial_last_line=True) is None
    assert find_loop(text + "\n") is not None


def test_the_transformers_loop_check_marks_the_row_that_loops_and_only_that_row(tiny_model):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    loop_ids = tok(_looping(4), add_special_tokens=False).input_ids
    fine_ids = tok(DOC * 1, add_special_tokens=False).input_ids
    # a third copy still being written (no newline yet) is not counted until it ends
    third = _looping(2) + "  - id: NFR004\n    description: The app shall be easy to use for all members."
    unfinished = tok(third, add_special_tokens=False).input_ids
    assert looping_rows(tok)([loop_ids, fine_ids, unfinished]) == [True, False, False]


def _item(kind: str, n: int, description: str, priority: str = "High") -> str:
    return f"  - id: {kind}{n:03d}\n    description: {description}\n    priority: {priority}\n"


def test_a_word_for_word_copy_of_a_requirement_is_dropped_and_the_later_ids_move_up():
    reserve = "The system shall allow members to reserve plots for a season."
    text = (
        "title: Plots\nfunctional_requirements:\n"
        + _item("FR", 1, reserve)
        + _item("FR", 2, "The system shall allow members to log volunteer hours.")
        + _item("FR", 3, "the system shall allow  MEMBERS to reserve plots for a season.", "Medium")
        + _item("FR", 4, "The system shall allow coordinators to approve plot swaps.")
        + "non_functional_requirements:\n"
        + _item("NFR", 1, "The app shall respond to 95% of requests within 2 seconds.")
        + _item("NFR", 2, reserve)
    )
    tidy, dropped = drop_repeated_requirements(text)
    assert dropped == [
        Dropped(
            "FR003",
            "FR001",
            _item("FR", 3, "the system shall allow  MEMBERS to reserve plots for a season.", "Medium").rstrip(),
        ),
        Dropped("NFR002", "FR001", _item("NFR", 2, reserve).rstrip()),
    ]
    assert tidy == (
        "title: Plots\nfunctional_requirements:\n"
        + _item("FR", 1, reserve)
        + _item("FR", 2, "The system shall allow members to log volunteer hours.")
        + _item("FR", 3, "The system shall allow coordinators to approve plot swaps.")
        + "non_functional_requirements:\n"
        + _item("NFR", 1, "The app shall respond to 95% of requests within 2 seconds.")
    )


def test_a_near_copy_the_only_item_of_a_list_and_other_text_are_kept():
    near = (
        "functional_requirements:\n"
        + _item("FR", 1, "The system shall allow parents to see the daily log.")
        + _item("FR", 2, "The system shall allow staff to see the daily log.")
    )
    assert drop_repeated_requirements(near) == (near, [])
    only = (
        "non_functional_requirements:\n"
        + _item("NFR", 1, "All data shall be encrypted in transit with TLS 1.2 or later.")
        + "constraints:\n"
        + _item("C", 1, "All data shall be encrypted in transit with TLS 1.2 or later.")
    )
    assert drop_repeated_requirements(only) == (only, [])  # a list is never emptied
    # lines that are not requirement items (a title repeating a sentence, prose) are not touched
    prose = "The app shall be easy to use for all members.\n" * 2
    assert drop_repeated_requirements(prose) == (prose, [])
    # a model's own numbering is kept when nothing is dropped
    gaps = (
        "functional_requirements:\n"
        + _item("FR", 1, "One thing the system does.")
        + _item("FR", 7, "Another thing it does.")
    )
    assert drop_repeated_requirements(gaps) == (gaps, [])


def test_the_dropped_items_rebuild_the_models_answer():
    """Nothing the model wrote is lost: putting the dropped items back (and the old ids)
    gives its answer again."""
    text = (
        "functional_requirements:\n"
        + _item("FR", 1, "The system shall allow staff to swap shifts.")
        + _item("FR", 2, "The system shall allow staff to swap shifts.", "Medium")
        + _item("FR", 3, "The system shall allow managers to approve swaps.")
        + "constraints:\n"
        + _item("C", 1, "The project must respect labour law on rest periods.")
    )
    tidy, dropped = drop_repeated_requirements(text)
    assert [(d.id, d.repeats) for d in dropped] == [("FR002", "FR001")]
    lines = tidy.split("\n")
    at = lines.index("  - id: FR002")
    lines[at] = "  - id: FR003"
    lines[at:at] = dropped[0].text.split("\n")
    assert "\n".join(lines) == text
