"""When a generation ends (the end-of-turn token, the token limit, or a repeated-line loop),
and which requirement of a finished answer is a word-for-word copy that it does not keep.

The one rule every backend applies (transformers stops decoding as soon as it sees the
loop; llama.cpp and Ollama cut the same text when the answer comes back), so a loop gives
the same document and the same ``finish_reason`` whichever runtime produced it:

* A *content line* is a line of at least :data:`MIN_WORDS` words once its list marker and
  a leading ``key:`` are removed (``- description: The system shall ...`` -> ``the system
  shall ...``), compared in lower case with runs of blanks collapsed. ``id:`` and
  ``priority:`` lines are too short to count.
* When a content line appears for the ``MAX_REPEATS + 1``-th time, the model is looping:
  the text is cut before that line, back to the end of the last complete requirement (the
  last ``priority:`` line), and the finish reason is ``"loop"``.
* A single line of more than :data:`LONG_LINE_WORDS` words in which one word trigram
  occurs :data:`MAX_TRIGRAM` times or more (``1200 users and 1200 users and ...``) is a loop
  inside a line; the text is cut before it in the same way.

A third copy stops a generation, even when the model would have ended its turn later by
itself. An evaluation counts a ``"loop"`` finish as a runaway generation, like ``"length"``.

The answer, once ended (and cut, if it looped), is tidied by one more rule
(:func:`drop_repeated_requirements`): a requirement item (``- id: FR004`` and the lines indented
under it) whose ``description`` is the same content line as an earlier item's, in any list, is
dropped, unless it is the only item of its list, and the ids of its kind after it move up by
one (FR005 becomes FR004), so the reader gets each requirement once. Only word-for-word copies
(case, blanks and the leading key aside) are dropped: a near copy can carry a real difference
("staff" for "parents"), and the metric still marks it as a duplicate. Every dropped item is
returned verbatim (:class:`Dropped`), and a prediction row lists them (``dropped``), so the
model's own answer can be rebuilt. An answer that has no such items is returned unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = [
    "MAX_REPEATS",
    "MIN_WORDS",
    "LONG_LINE_WORDS",
    "MAX_TRIGRAM",
    "STOP_STRINGS",
    "Cut",
    "find_loop",
    "cut_loop",
    "runtime_parameters",
    "looping_rows",
    "CHECK_EVERY",
    "Dropped",
    "drop_repeated_requirements",
]

MAX_REPEATS = 2
MIN_WORDS = 4
LONG_LINE_WORDS = 60
MAX_TRIGRAM = 4
#: how often (in new tokens) the transformers backend looks for a loop in each row
CHECK_EVERY = 8
#: strings that end a ChatML turn (every runtime stops on them)
STOP_STRINGS = ("<|im_end|>", "<|im_start|>", "<|endoftext|>")

_KEY = re.compile(r"^\s*(?:-\s+)?(?:[A-Za-z_]+\s*:\s+)?")
_PRIORITY = re.compile(r"^\s*(?:-\s+)?priority\s*:", re.IGNORECASE)
_ITEM = re.compile(r"^(?P<indent>\s*)-\s+id\s*:\s*(?P<q>[\"']?)(?P<kind>NFR|FR|C)(?P<num>\d+)(?P=q)\s*$")
_DESCRIPTION = re.compile(r"^\s*(?:-\s+)?description\s*:", re.IGNORECASE)


class Cut(NamedTuple):
    """``text`` up to where the loop began; ``looped`` says whether anything was cut."""

    text: str
    looped: bool


def _content_key(line: str) -> str | None:
    words = _KEY.sub("", line, count=1).lower().split()
    return " ".join(words) if len(words) >= MIN_WORDS else None


def _loops_inside(line: str) -> bool:
    words = line.lower().split()
    if len(words) <= LONG_LINE_WORDS:
        return False
    counts: dict[tuple[str, ...], int] = {}
    for i in range(len(words) - 2):
        gram = (words[i], words[i + 1], words[i + 2])
        counts[gram] = counts.get(gram, 0) + 1
        if counts[gram] >= MAX_TRIGRAM:
            return True
    return False


def find_loop(text: str, *, partial_last_line: bool = False) -> int | None:
    """The character offset of the line where a loop is detected, or ``None``.

    ``partial_last_line``: the text is still being generated, so its last line (after the
    last newline) may be unfinished; it is checked only for a loop inside the line.
    """
    seen: dict[str, int] = {}
    offset = 0
    lines = text.split("\n")
    for n, line in enumerate(lines):
        last = n == len(lines) - 1
        if _loops_inside(line):
            return offset
        if not (last and partial_last_line):
            key = _content_key(line)
            if key is not None:
                seen[key] = seen.get(key, 0) + 1
                if seen[key] > MAX_REPEATS:
                    return offset
        offset += len(line) + 1
    return None


def cut_loop(text: str) -> Cut:
    """``text`` cut where a loop begins (see the module rule), or unchanged."""
    at = find_loop(text)
    if at is None:
        return Cut(text, False)
    head = text[:at].split("\n")
    ends = [i for i, line in enumerate(head) if _PRIORITY.match(line)]
    if ends:
        head = head[: ends[-1] + 1]
    return Cut("\n".join(head).rstrip(), True)


def looping_rows(tokenizer: Any) -> Callable[[list[list[int]]], list[bool]]:
    """For the transformers backend's decoding loop (:mod:`ba_llm.decoding`), which asks every
    :data:`CHECK_EVERY` new tokens: of the rows' generated token ids, which loop (the text
    they decode to, its last line possibly unfinished)."""

    def looping(rows: list[list[int]]) -> list[bool]:
        return [
            find_loop(tokenizer.decode(ids, skip_special_tokens=True), partial_last_line=True) is not None
            for ids in rows
        ]

    return looping


def runtime_parameters(max_new_tokens: int) -> list[tuple[str, str]]:
    """The stopping rule as far as a runtime's own settings can hold it (an Ollama
    Modelfile's ``PARAMETER`` lines): the turn-ending strings, the token limit, greedy
    decoding. The line-loop cut is not expressible there; ba-llm's ollama backend applies
    it to the answer (:func:`cut_loop`)."""
    out = [("stop", f'"{s}"') for s in STOP_STRINGS]
    return out + [("num_predict", str(max_new_tokens)), ("temperature", "0"), ("top_k", "1")]


class Dropped(NamedTuple):
    """A requirement item dropped as a copy: its id as written, the id of the item it copies
    (as written, before renumbering) and its lines verbatim."""

    id: str
    repeats: str
    text: str


class _Item(NamedTuple):
    kind: str
    id: str
    start: int  # first line (the ``- id:`` line)
    end: int  # one past the last line
    key: str | None  # the description's content line
    list_start: int  # the first line of the list (to know the items of one list)


def _items(lines: list[str]) -> list[_Item]:
    items: list[_Item] = []
    list_start = 0
    n = 0
    while n < len(lines):
        m = _ITEM.match(lines[n])
        if m is None:
            if lines[n].strip():
                list_start = n + 1  # a key or any other line starts a new list
            n += 1
            continue
        depth = len(m["indent"])
        end = n + 1
        while end < len(lines) and lines[end].strip() and len(lines[end]) - len(lines[end].lstrip()) > depth:
            end += 1
        desc = next((lines[i] for i in range(n + 1, end) if _DESCRIPTION.match(lines[i])), None)
        key = _content_key(desc) if desc is not None else None
        items.append(_Item(m["kind"], m["kind"] + m["num"], n, end, key, list_start))
        n = end
    return items


def drop_repeated_requirements(text: str) -> tuple[str, list[Dropped]]:
    """``text`` without the requirement items that copy an earlier item word for word, with
    the later ids of their kind renumbered, and the dropped items (see the module rule)."""
    lines = text.split("\n")
    items = _items(lines)
    per_list: dict[int, int] = {}
    for it in items:
        per_list[it.list_start] = per_list.get(it.list_start, 0) + 1
    seen: dict[str, str] = {}
    drop: set[int] = set()
    dropped: list[Dropped] = []
    for i, it in enumerate(items):
        if it.key is None:
            continue
        if it.key in seen and per_list[it.list_start] > 1:
            per_list[it.list_start] -= 1
            drop.add(i)
            dropped.append(Dropped(it.id, seen[it.key], "\n".join(lines[it.start : it.end])))
        else:
            seen.setdefault(it.key, it.id)
    if not dropped:
        return text, []
    shift: dict[str, int] = {}
    out: list[str] = []
    at = 0
    for i, it in enumerate(items):
        out.extend(lines[at : it.start])
        at = it.end
        if i in drop:
            shift[it.kind] = shift.get(it.kind, 0) + 1
            continue
        head = lines[it.start]
        if shift.get(it.kind):
            m = _ITEM.match(head)
            assert m is not None
            num = int(m["num"]) - shift[it.kind]
            head = head[: m.start("num")] + f"{num:0{len(m['num'])}d}" + head[m.end("num") :]
        out.append(head)
        out.extend(lines[it.start + 1 : it.end])
    out.extend(lines[at:])
    return "\n".join(out), dropped
