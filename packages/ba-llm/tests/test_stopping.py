"""The loop rule: a third copy of a content line (or a line that loops inside) ends a generation."""

from __future__ import annotations

from ba_llm import stopping
from ba_llm.backends import _finish
from ba_llm.stopping import cut_loop, find_loop, looping_rows

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
    # the same rule reached through any backend's completion
    c = _finish(text, 10, 99, 0.5, "length")
    assert (c.text, c.finish_reason, c.completion_tokens) == (cut.text, "loop", 99)
    assert _finish(DOC, 10, 50, 0.5, "stop").finish_reason == "stop"


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
