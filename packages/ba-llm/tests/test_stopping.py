"""The loop rule: a third copy of a content line (or a line that loops inside) ends a generation;
a requirement another one of its list says in full (or that copies one word for word) is
dropped from the answer; and a
title or description holding ": " is quoted (ba_llm.quoting)."""

from __future__ import annotations

import json

import pytest
import yaml

from ba_llm import stopping
from ba_llm.backends import _finish
from ba_llm.quoting import quote_colon_values
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


def test_a_block_of_lines_written_four_times_in_a_row_is_a_loop_eight_with_a_counter():
    # what the base model writes until the token limit: a bare "#", two headings, a counter
    assert cut_loop("Here is the YAML:\n" + "# \n" * 40) == ("Here is the YAML:\n# \n#", True)
    headings = "# Requirements\n\n# Description\n\n"
    assert cut_loop("```yaml\n" + headings * 9) == ("```yaml\n" + (headings * 2).rstrip(), True)
    counter = "".join(f"# {n}. Forecast daily demand per product\n" for n in range(36, 54))
    cut = cut_loop("```yaml\n# Requirements\n" + counter + "# 54. Forecast daily")
    kept = "```yaml\n# Requirements\n# 36. Forecast daily demand per product\n# 37. Forecast daily demand per product"
    assert cut == (kept, True)
    # the counted copies are seen once the eighth one is complete
    assert find_loop(counter[: counter.index("# 43.")], partial_last_line=True) is None
    assert find_loop(counter[: counter.index("# 44.")], partial_last_line=True) is not None
    # and every backend's completion says so
    assert _finish("```yaml\n" + headings * 9, 10, 640, 1.0, "length").finish_reason == "loop"


def test_short_lists_three_copies_blank_lines_and_a_document_are_not_a_block_loop():
    assert find_loop("".join(f"# {n}. Forecast daily demand\n" for n in range(1, 8))) is None
    assert find_loop("#\n#\n#\n") is None
    for listed in ("- Q{n} 2025", "- Phase {n}", "  - id: FR00{n}", "- Android 1{n}"):
        assert find_loop("".join(listed.format(n=n) + "\n" for n in range(1, 5))) is None, listed
    assert find_loop(DOC + "\n" * 40) is None  # blank lines alone are not a block
    # the fourth copy is counted once its line is complete
    hashes = "#\n#\n#\n#"
    assert find_loop(hashes, partial_last_line=True) is None
    assert find_loop(hashes) == 4


def test_requirements_that_differ_by_a_number_only_eight_times_in_a_row_are_a_loop():
    def numbered(ns, first="Medium"):
        head = _item("NFR", 1, "The app shall meet WCAG 2.1 AA.", first)
        return DOC + head + "".join(_item("NFR", n, f"The app shall respond within {n} seconds.") for n in ns)

    assert find_loop(numbered(range(2, 9))) is None  # seven of them
    for first in ("Medium", "High"):  # whether the block seems to start on NFR001's priority line or not
        cut = cut_loop(numbered(range(2, 12), first))
        assert cut == (numbered((2, 3), first).rstrip(), True), first


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
    # ids never move below 1 (a model that numbers every item FR001 keeps its ids)
    same_ids = (
        "functional_requirements:\n"
        + _item("FR", 1, "The system shall allow members to reserve plots.")
        + _item("FR", 1, "The system shall allow members to reserve plots.")
        + _item("FR", 1, "The system shall allow members to log hours.")
    )
    assert drop_repeated_requirements(same_ids)[0] == (
        "functional_requirements:\n"
        + _item("FR", 1, "The system shall allow members to reserve plots.")
        + _item("FR", 1, "The system shall allow members to log hours.")
    )
    # a model's own numbering is kept when nothing is dropped
    gaps = (
        "functional_requirements:\n"
        + _item("FR", 1, "One thing the system does.")
        + _item("FR", 7, "Another thing it does.")
    )
    assert drop_repeated_requirements(gaps) == (gaps, [])


def test_a_requirement_another_one_of_its_list_says_in_full_is_dropped_the_fuller_one_stays():
    book_and_pay = "The system shall allow patients to book and pay for a session in one flow."
    text = (
        "functional_requirements:\n"
        + _item("FR", 1, "The system shall allow patients to pay for a session in one flow.")
        + _item("FR", 2, book_and_pay)
        + _item("FR", 3, "The system shall allow teachers to mark attendance and write a note after each lesson.")
        + _item("FR", 4, "The system shall allow teachers to write a note after each lesson.")
        + "constraints:\n"
        + _item("C", 1, "The project must comply with HIPAA.")
        + _item("C", 2, "The project shall comply with HIPAA.")
        + _item("C", 3, "The project must not store raw card numbers.")
    )
    tidy, dropped = drop_repeated_requirements(text)
    # the shorter one goes wherever it stands; "shall" and "must" say the same thing; each
    # dropped item (its id as the model wrote it) names the item that says it as it now stands
    assert [(d.id, d.repeats) for d in dropped] == [("FR001", "FR001"), ("FR004", "FR002"), ("C002", "C001")]
    assert tidy == (
        "functional_requirements:\n"
        + _item("FR", 1, book_and_pay)
        + _item("FR", 2, "The system shall allow teachers to mark attendance and write a note after each lesson.")
        + "constraints:\n"
        + _item("C", 1, "The project must comply with HIPAA.")
        + _item("C", 2, "The project must not store raw card numbers.")
    )


def test_a_requirement_that_adds_changes_or_reorders_a_word_or_sits_in_another_list_is_kept():
    kept = (
        "functional_requirements:\n"
        + _item("FR", 1, "The system shall allow staff to message clients about bookings.")
        + _item("FR", 2, "The system shall allow clients to message staff about bookings.")  # reordered
        + _item("FR", 3, "The system shall allow people to add a donation when they check out.")
        + _item("FR", 4, "The system shall allow people to check out without a donation.")  # reordered
        + _item("FR", 5, "The system shall allow members to reserve plots.")
        + "non_functional_requirements:\n"
        + _item("NFR", 1, "The app shall respond to 95% of requests within 2.5 seconds.")
        + _item("NFR", 2, "The app shall respond to 95% of requests within 2 seconds.")  # not in "2.5"
        # the capability with a target in another list: the FR keeps the capability
        + _item("NFR", 3, "The system shall allow members to reserve plots within 2 minutes.")
    )
    assert drop_repeated_requirements(kept) == (kept, [])
    # in another list only the same words are a copy (the later one goes)
    copied = kept + "constraints:\n" + _item("C", 1, "The app must respond to 95% of requests within 2 seconds.")
    copied += _item("C", 2, "The project must not store raw card numbers.")
    assert [(d.id, d.repeats) for d in drop_repeated_requirements(copied)[1]] == [("C001", "NFR002")]


def test_many_items_inside_one_another_are_each_given_by_one_kept_item():
    """A chain (each item the next one with a word left out) and copies of it: every item but
    the fullest goes, and each dropped one names an item that stays."""
    words = "The system shall allow members to reserve plots for a whole season with friends".split()
    chain = [" ".join(words[:n]) + "." for n in range(6, len(words) + 1)]
    text = "functional_requirements:\n" + "".join(_item("FR", n, d) for n, d in enumerate(chain + chain[::-1], start=1))
    tidy, dropped = drop_repeated_requirements(text)
    assert yaml.safe_load(tidy)["functional_requirements"] == [
        {"id": "FR001", "description": chain[-1], "priority": "High"}
    ]
    assert len(dropped) == 2 * len(chain) - 1
    assert {d.repeats for d in dropped} == {"FR001"}


@pytest.mark.parametrize(
    ("shorter", "longer"),
    [
        # words added in two places: another requirement that happens to share words
        (
            "The system shall allow users to log in.",
            "The system shall allow users to view a log of all changes in the admin panel.",
        ),
        (
            "The system shall send email reminders.",
            "The system shall send a confirmation email and show reminders in the app.",
        ),
        # an added negation turns it into its opposite
        ("The system shall store card numbers.", "The system shall not store card numbers."),
        ("El sistema debe permitir pagos en efectivo.", "El sistema no debe permitir pagos en efectivo."),
        ("The app shall work with a login.", "The app shall work without a login."),
        ("The system shall allow staff to edit rotas.", "The system shall allow staff who don't manage to edit rotas."),
        # "should" is weaker than "must"; a number's digits are not a word left out
        ("The system must encrypt personal data.", "The system should encrypt personal data at rest."),
        ("The system shall support 10 concurrent users.", "The system shall support 10 000 concurrent users."),
        ("The system shall support 10 concurrent users.", "The system shall support 10 thousand concurrent users."),
        ("El sistema debe soportar 10 usuarios a la vez.", "El sistema debe soportar 10 mil usuarios a la vez."),
        ("The system must encrypt personal data.", "The system should encrypt personal data."),
        ("Users must change their password.", "Users can change their password."),
        ("El sistema debe enviar avisos por SMS.", "El sistema puede enviar avisos por SMS."),
        # a run that narrows, loosens or reverses what the shorter one says, or sits in the middle
        ("The page shall load in 2 seconds.", "The page shall load in 2 to 5 seconds."),
        ("The system shall encrypt backups every night.", "The system shall optionally encrypt backups every night."),
        ("All users shall access the monthly reports.", "All users except guests shall access the monthly reports."),
        (
            "The system shall share user data with partners.",
            "The system shall refuse to share user data with partners.",
        ),
        ("The system shall show ads to users.", "The system shall show none of the ads to users."),
        (
            "The system shall allow staff to edit rotas.",
            "The system shall allow staff who don\u2019t manage to edit rotas.",
        ),
        (
            "The project shall comply with accessibility guidelines AHA.",
            "The project shall comply with the accessibility guidelines AHA.",
        ),
        ("The system never stores card numbers.", "The system never stores card numbers and never logs them."),
    ],
)
def test_a_longer_item_that_is_not_the_shorter_one_with_one_run_of_words_added_keeps_it(shorter, longer):
    for first, second in ((shorter, longer), (longer, shorter)):
        text = "functional_requirements:\n" + _item("FR", 1, first) + _item("FR", 2, second) + _item("FR", 3, B)
        assert drop_repeated_requirements(text) == (text, [])


def test_symbols_and_signs_are_words_and_wordless_items_are_never_copies():
    for a, b in [
        ("The SDK shall support C# clients.", "The SDK shall support C++ clients."),
        ("The sensor shall operate at -20 °C.", "The sensor shall operate at 20 °C."),
        ("The API shall answer in < 200 ms.", "The API shall answer in > 200 ms."),
        ("... ... ... ...", "- - - -"),
        ("TBD: — — —", "TBD, ... ... ..."),
        ("- - - - -", "- - - - -"),
    ]:
        text = "non_functional_requirements:\n" + _item("NFR", 1, a) + _item("NFR", 2, b) + _item("NFR", 3, B)
        assert drop_repeated_requirements(text) == (text, []), (a, b)
    # a decomposed accent is the same modal verb
    nfd = "El sistema debera\u0301 enviar avisos por SMS."
    text = (
        "constraints:\n"
        + _item("C", 1, "El sistema deberá enviar avisos por SMS.")
        + _item("C", 2, nfd)
        + _item("C", 3, B)
    )
    assert [(d.id, d.repeats) for d in drop_repeated_requirements(text)[1]] == [("C002", "C001")]


def test_an_item_goes_only_for_one_that_stays_in_its_own_list():
    """The FR list keeps a capability whose fuller FR went as a copy of an NFR."""
    with_target = "The system shall allow members to reserve plots within 2 minutes."
    text = (
        "non_functional_requirements:\n"
        + _item("NFR", 1, with_target)
        + _item("NFR", 2, "The app shall respond to 95% of requests within 2 seconds.")
        + "functional_requirements:\n"
        + _item("FR", 1, "The system shall allow members to reserve plots.")
        + _item("FR", 2, with_target)
        + _item("FR", 3, "The system shall allow staff to post news.")
    )
    tidy, dropped = drop_repeated_requirements(text)
    assert [(d.id, d.repeats) for d in dropped] == [("FR002", "NFR001")]
    assert "reserve plots.\n" in tidy


def test_a_copy_whose_first_copy_went_for_a_fuller_item_of_its_own_list_stays_in_its_list():
    plain = "The system shall encrypt all stored data."
    fuller = "The system shall encrypt all stored data with AES-256."
    fr = "functional_requirements:\n" + _item("FR", 1, plain) + _item("FR", 2, fuller) + _item("FR", 3, B)
    nfr = "non_functional_requirements:\n" + _item("NFR", 1, plain) + _item("NFR", 2, A)
    for text, expected in ((fr + nfr, [("FR001", "FR001")]), (nfr + fr, [("FR001", "NFR001")])):
        tidy, dropped = drop_repeated_requirements(text)
        assert [(d.id, d.repeats) for d in dropped] == expected
        assert yaml.safe_load(tidy)["non_functional_requirements"][0]["description"] == plain
    # two copies in that other list: it keeps one of them
    twice = fr + "non_functional_requirements:\n" + _item("NFR", 1, plain) + _item("NFR", 2, plain) + _item("NFR", 3, A)
    tidy, dropped = drop_repeated_requirements(twice)
    assert [(d.id, d.repeats) for d in dropped] == [("FR001", "FR001"), ("NFR002", "NFR001")]
    assert [it["description"] for it in yaml.safe_load(tidy)["non_functional_requirements"]] == [plain, A]


def test_renumbering_keeps_the_width_of_zero_padded_ids_past_99():
    text = "functional_requirements:\n" + "".join(
        _item("FR", n, A if n < 3 else f"The system shall send report number {n} to the owners.") for n in range(1, 101)
    )
    ids = [it["id"] for it in yaml.safe_load(drop_repeated_requirements(text)[0])["functional_requirements"]]
    assert ids == [f"FR{n:03d}" for n in range(1, 100)]


def test_containment_is_looked_for_in_the_first_items_copies_in_all_and_short_items_never_go():
    filler = [f"The system shall send report number {n} to the owners." for n in range(stopping.MAX_COMPARED - 1)]
    base = "functional_requirements:\n" + "".join(_item("FR", n, d) for n, d in enumerate(filler, start=1))
    n = stopping.MAX_COMPARED
    beyond = base + _item("FR", n, "The system shall allow members to book and pay for plots.")
    contained = beyond + _item("FR", n + 1, "The system shall allow members to pay for plots.")
    assert drop_repeated_requirements(contained)[1] == []  # item 201 is not compared for containment
    copied = beyond + _item("FR", n + 1, "The system shall allow members to book and pay for plots.")
    assert [(d.id, d.repeats) for d in drop_repeated_requirements(copied)[1]] == [(f"FR{n + 1}", f"FR{n}")]
    inside = base.replace(filler[0], "The system shall allow members to book and pay for plots.")
    inside += _item("FR", n, "The system shall allow members to pay for plots.")
    assert [(d.id, d.repeats) for d in drop_repeated_requirements(inside)[1]] == [(f"FR{n}", "FR001")]
    short = "functional_requirements:\n" + _item("FR", 1, "Members reserve plots.") * 2 + _item("FR", 3, B)
    assert drop_repeated_requirements(short)[1] == []


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


A = "The system shall allow members to reserve plots."
B = "The system shall send a reminder email."


def _fr(n: int | str, description: str, extra: str = "") -> str:
    num = f"{n:03d}" if isinstance(n, int) else n
    return f"  - id: FR{num}\n    description: {description}\n{extra}"


def test_only_the_items_own_whole_description_is_compared():
    # a description that wraps onto a second line is compared whole
    wrapped = (
        "functional_requirements:\n"
        + _fr(1, "The system shall allow members\n      to reserve plots.")
        + _fr(2, "The system shall allow members\n      to cancel reservations.")
        + _fr(3, B)
    )
    assert drop_repeated_requirements(wrapped) == (wrapped, [])
    # the same words on one line are the same description
    one_line = wrapped + _fr(4, "The system shall allow  members to reserve plots.")
    assert [(d.id, d.repeats) for d in drop_repeated_requirements(one_line)[1]] == [("FR004", "FR001")]
    copy = wrapped + _fr(4, "The system shall allow members\n      to cancel reservations.")
    assert [(d.id, d.repeats) for d in drop_repeated_requirements(copy)[1]] == [("FR004", "FR002")]
    # a description nested under another key of the item is not the item's own
    nested = (
        "functional_requirements:\n"
        + "  - id: FR001\n    acceptance:\n      - description: Given a booking then a plot is held.\n"
        + f"    description: {A}\n"
        + "  - id: FR002\n    acceptance:\n      - description: Given a booking then a plot is held.\n"
        + f"    description: {B}\n"
    )
    assert drop_repeated_requirements(nested) == (nested, [])


def test_id_lines_in_a_block_of_text_are_not_items():
    text = (
        "description: |\n  Format:\n  - id: FR001\n    description: "
        + A
        + "\nfunctional_requirements:\n"
        + _fr(1, A)
        + _fr(2, B)
    )
    assert drop_repeated_requirements(text) == (text, [])


def test_a_blank_line_inside_an_item_stays_with_it():
    text = (
        "functional_requirements:\n"
        + _fr(1, A, "    priority: High\n")
        + _fr(2, A, "\n    priority: Low\n")
        + _fr(3, B, "    priority: High\n")
    )
    tidy, dropped = drop_repeated_requirements(text)
    assert dropped[0].text == _fr(2, A, "\n    priority: Low").rstrip("\n")
    assert tidy == "functional_requirements:\n" + _fr(1, A, "    priority: High\n") + _fr(2, B, "    priority: High\n")


def test_ids_move_up_only_when_that_cannot_make_two_requirements_share_one():
    third = "The system shall log every change."
    # out of order, or named elsewhere in the answer: the ids stay as written (a gap)
    shuffled = "functional_requirements:\n" + _fr(1, A) + _fr(3, B) + _fr(2, A) + _fr(4, third)
    assert drop_repeated_requirements(shuffled)[0] == "functional_requirements:\n" + _fr(1, A) + _fr(3, B) + _fr(
        4, third
    )
    named = "functional_requirements:\n" + _fr(1, A) + _fr(2, A) + _fr(3, B) + _fr(4, third, "    depends_on: FR003\n")
    assert drop_repeated_requirements(named)[0] == "functional_requirements:\n" + _fr(1, A) + _fr(3, B) + _fr(
        4, third, "    depends_on: FR003\n"
    )
    # ids without leading zeros keep their style
    plain = "functional_requirements:\n" + "".join(
        _fr(str(i), A if i < 3 else f"The system shall do thing {i} well.") for i in range(1, 11)
    )
    tidy = drop_repeated_requirements(plain)[0]
    assert (
        "  - id: FR9\n    description: The system shall do thing 10 well." in tidy
        and "FR09" not in tidy
        and "FR10" not in tidy
    )
    # an id too long to be one is not an item, and nothing raises
    huge = "functional_requirements:\n" + _fr("1", A) + _fr("2", A) + _fr("9" * 4400, B)
    assert [d.id for d in drop_repeated_requirements(huge)[1]] == ["FR2"]


# ---------------------------------------------------------------- ba_llm.quoting


def test_a_title_or_description_holding_colon_space_is_quoted_so_the_document_loads():
    text = (
        "title: Parish bookings: the parish's system\n"
        'description: A web con: "quoted" words \\ and a backslash\n'
        "functional_requirements:\n"
        "  - id: FR001\n"
        "    description: The system shall support two platforms: iOS and Android.\r\n"
        "    priority: High\n"
        "non_functional_requirements:\n"
        "  - id: NFR001\n"
        "    description: Titulo de la web con:\n"
        "    priority: High\n"
        "constraints:\n"
        "  - description: The project must stay within a budget of $40k.\n"
        "    id: C001\n"
    )
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(text)
    out, quoted = quote_colon_values(text)
    assert quoted == [1, 2, 5, 9]
    doc = yaml.safe_load(out)
    assert doc["title"] == "Parish bookings: the parish's system"
    assert doc["description"] == 'A web con: "quoted" words \\ and a backslash'
    assert (
        doc["functional_requirements"][0]["description"] == "The system shall support two platforms: iOS and Android."
    )
    assert doc["non_functional_requirements"][0]["description"] == "Titulo de la web con:"
    lines = out.split("\n")
    assert lines[4].endswith("\r") and json.loads(lines[4].split(": ", 1)[1].rstrip("\r")).startswith("The system")
    for n in {*range(1, len(lines) + 1)} - set(quoted):  # every other line byte for byte
        assert lines[n - 1] == text.split("\n")[n - 1]


def test_quoting_leaves_alone_what_loads_what_is_quoted_and_values_that_continue():
    fine = "title: Salon booking app\ndescription: A salon app, available on iOS\nfunctional_requirements: []\n"
    assert quote_colon_values(fine) == (fine, [])
    already = "title: \"Bookings: the app\"\ndescription: 'It: works'\nnotes: a: b\n- id: x\n  priority: High: now\n"
    assert quote_colon_values(already) == (already, [])  # quoted values; other keys are not ours
    block = "description: |\n  Line: one\ntitle: >\n  Folded: two\n"
    assert quote_colon_values(block) == (block, [])
    continued = "  - description: The system shall: do\n      more on this line\n    priority: High\n"
    assert quote_colon_values(continued) == (continued, [])  # quoting one line would split the value
    url = "description: See http://example.org/a:b for the ratio 3:1\n"
    assert quote_colon_values(url) == (url, [])


def test_an_answer_that_loads_is_never_touched_and_a_repair_that_does_not_load_is_not_kept():
    """Cases from a bad-input campaign: a comment, a block scalar, a quoted value over two
    lines, a flow mapping and other line breaks load as they are (quoting would change what
    they mean); a trailing tab is dropped with the repair; a document broken elsewhere too is
    returned as it was, with nothing said to be quoted."""
    loads = [
        "functional_requirements:\n  - id: FR001\n    description: Fix bug #42: users cannot log in\n",
        "title: App #1: bookings\n",
        "description: |\n  title: Step 1: install\n",
        'description: "The page lists\n  title: Foo: bar"\n',
        "req: {\n  title: Foo, description: Bar\n}\n",
        "title: Foo\rdescription: Bar\r",
        "title: Foo\u2028description: Bar\n",
    ]
    for text in loads:
        assert yaml.safe_load(text) is not None
        assert quote_colon_values(text) == (text, []), text
    out, quoted = quote_colon_values("title: A: B\t\ndescription: C: D \t\r\n")
    assert quoted == [1, 2] and yaml.safe_load(out) == {"title": "A: B", "description": "C: D"}
    assert out == 'title: "A: B"\ndescription: "C: D"\r\n'
    broken = "title: A: B\nfunctional_requirements:\n  - id: FR001\n        description: x\n    priority: High\n"
    assert quote_colon_values(broken) == (broken, [])
    skipped = "title: A: B # note\ndescription: x: \u0085y\n"
    assert quote_colon_values(skipped) == (skipped, [])


def test_every_backend_returns_the_quoted_answer_and_says_where():
    done = _finish("title: A: B\ndescription: plain words\n", 3, 4, 0.1, "stop")
    assert done.text == 'title: "A: B"\ndescription: plain words\n' and done.quoted == [1]
    assert done.to_dict()["quoted"] == [1]
    assert _finish("title: A B\n", 3, 4, 0.1, "stop").quoted == []
