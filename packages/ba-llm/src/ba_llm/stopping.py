"""When a generation ends (the end-of-turn token, the token limit, or a repeated-line loop),
and which requirement of a finished answer repeats another one, so that it does not keep it.

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
* A block of 1 to :data:`MAX_PERIOD` lines, one of them not blank, written
  :data:`BLOCK_COPIES` times in a row (lines compared in lower case, blanks collapsed) is a
  loop too: ``#`` on line after line, ``# Requirements`` / ``# Description`` over and over,
  which the content-line rule misses (the lines are short). So is a block written
  :data:`COUNTED_COPIES` times in a row when every run of digits is read as one digit:
  ``# 36. Forecast daily demand``, ``# 37. Forecast daily demand`` ... (a list of four
  quarters or phases is not a loop). The text is cut before the block's ``MAX_REPEATS +
  1``-th copy, in the same way; when that copy's first line is a ``priority:`` line (the block
  then began on the last line of a requirement), just after that line.

A third copy stops a generation, even when the model would have ended its turn later by
itself. An evaluation counts a ``"loop"`` finish as a runaway generation, like ``"length"``.

The answer, once ended (and cut, if it looped), is tidied by one more rule
(:func:`drop_repeated_requirements`), so the reader gets each requirement once:

* A *requirement item* is a ``- id: FR004`` line (``FR``, ``NFR`` or ``C`` and a number, the id
  possibly quoted) and the lines indented under it (blank and comment lines inside it
  included); ``- id:`` lines in a block scalar's text (``description: |``) are not items. Its
  description is its own ``description:`` key (at the item's key column), with the lines that
  continue it, as one content line.
* An item that another item already says is dropped, unless it is the only item left in its
  list. Descriptions are compared as words (split at blanks, in lower case; punctuation at a
  word's ends set aside, so ``C#`` and ``C++``, ``-20`` and ``20``, ``2`` and ``2.5`` differ;
  the modal verbs of :data:`MODALS` read as one word, so "shall" and "must" are the same while
  "should", "may" or "can" differ). Another item says it when:

  - it has the same words and comes earlier, in any of the three lists ("The system shall
    allow members to reserve plots." twice: the later one goes); or
  - it is a longer item *of the same list* that is this one with one run of words added, a
    run that holds a word with a letter and none of :data:`NEGATIONS` (negations and words
    such as "except", "optionally"), and that either ends the item (a detail: "... log naps,
    meals and nappy changes" + "through the day") or ends with a word of :data:`JOINING` (a
    capability joined in front: "... to [book and] pay for a session in one flow"). The
    shorter item goes, wherever the two stand, and the fuller one stays.

  Kept, and still marked as a duplicate by the metric when near: an item with a word changed
  ("staff" for "parents"), reordered, added in two places or in the middle ("load in 2 [to
  5] seconds", "10 [thousand] users"), an added negation, and a capability restated with a
  target in another list. Containment is looked for among the items left after the copies,
  the longest first, so the item one goes for always stays; a copy whose first copy then went
  for a fuller item of another list stays in its own list (one such copy per list). Beyond the first
  :data:`MAX_COMPARED` items only copies are looked for. An item without a description of
  :data:`MIN_WORDS` words, or of fewer than ``MIN_WORDS - 1`` words with a letter, is never
  dropped.
* The later ids of a kind that lost an item move up (FR005 becomes FR004) only when that
  kind's ids ran 1, 2, 3 ... in order and the answer names none of them elsewhere; otherwise
  every id stays as the model wrote it (a gap is better than two requirements with one id).
* Every dropped item is returned verbatim (:class:`Dropped`), and a prediction row lists them
  (``dropped``), so the model's own answer can be rebuilt. An answer without such an item is
  returned unchanged, byte for byte.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = [
    "MAX_REPEATS",
    "MIN_WORDS",
    "LONG_LINE_WORDS",
    "MAX_TRIGRAM",
    "MAX_PERIOD",
    "BLOCK_COPIES",
    "COUNTED_COPIES",
    "STOP_STRINGS",
    "Cut",
    "find_loop",
    "cut_loop",
    "runtime_parameters",
    "looping_rows",
    "CHECK_EVERY",
    "Dropped",
    "MODALS",
    "NEGATIONS",
    "JOINING",
    "MAX_COMPARED",
    "drop_repeated_requirements",
]

MAX_REPEATS = 2
MIN_WORDS = 4
LONG_LINE_WORDS = 60
MAX_TRIGRAM = 4
#: the longest block of lines the block rule looks for, and how many copies of it in a row
#: make a loop: the same lines, or the same lines with their numbers aside
MAX_PERIOD = 4
BLOCK_COPIES = 4
COUNTED_COPIES = 8
#: how often (in new tokens) the transformers backend looks for a loop in each row
CHECK_EVERY = 8
#: only the first this many items of an answer are compared for one inside another (copies: all)
MAX_COMPARED = 200
#: modal verbs set aside when one description is compared with another ("shall" / "must";
#: "should" is weaker, so it is a word like any other)
MODALS = frozenset({"shall", "must", "will", "deberá", "deberán", "debe", "deben"})
#: words that turn a requirement into its opposite or make it optional: a run holding one is never "added"
NEGATIONS = frozenset(
    {
        *("not", "no", "never", "without", "cannot", "nor", "none", "nothing", "nobody", "neither"),
        *("except", "unless", "refuse", "prevent", "optionally", "optional"),
        *(
            "sin",
            "nunca",
            "ni",
            "jamás",
            "tampoco",
            "nadie",
            "nada",
            "ningún",
            "ninguna",
            "ninguno",
            "salvo",
            "excepto",
        ),
    }
)
#: a run of words ending with one of these joins another capability in front of the item's own
JOINING = frozenset({"and", "or", "y", "e", "o", "u"})
_MODAL = "<modal>"
#: strings that end a ChatML turn (every runtime stops on them)
STOP_STRINGS = ("<|im_end|>", "<|im_start|>", "<|endoftext|>")

_DIGITS = re.compile(r"\d+")
_EDGE = "\"'()[]{}.,;:!?¿¡*`\u201c\u201d\u2018\u2026"  # punctuation set aside at a word's ends
_KEY = re.compile(r"^\s*(?:-\s+)?(?:[A-Za-z_]+\s*:\s+)?")
_PRIORITY = re.compile(r"^\s*(?:-\s+)?priority\s*:", re.IGNORECASE)
#: a requirement item's first line: ``- id: FR004`` (the id may be quoted)
_ITEM = re.compile(
    r"^(?P<indent>[ \t]*)-[ \t]+(?P<key>id)[ \t]*:[ \t]*(?P<q>[\"']?)(?P<kind>NFR|FR|C)(?P<num>\d{1,9})(?P=q)\s*$"
)
_DESCRIPTION = re.compile(r"^(?P<indent>[ \t]*)description[ \t]*:", re.IGNORECASE)
#: a key whose value is a block scalar (``key: |`` / ``key: >-``): the lines under it are text
_BLOCK = re.compile(r"^(?P<indent>[ \t]*)(?:-[ \t]+)?[^\s#:][^:#]*:[ \t]*[|>][-+0-9]*[ \t]*(?:#.*)?\s*$")


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


def _block_copies(shapes: list[str], copies: int) -> int | None:
    """The period ``p`` when the last ``copies * p`` lines of ``shapes`` are ``copies``
    copies of one block of ``p`` lines (not all blank), else ``None``."""
    for p in range(1, MAX_PERIOD + 1):
        if len(shapes) < copies * p:
            break
        if any(shapes[-p:]) and all(shapes[-1 - i] == shapes[-1 - i - p] for i in range((copies - 1) * p)):
            return p
    return None


def _block_cut(lines: list[str], plain: list[str], counted: list[str]) -> int | None:
    """Index of the line the block rule cuts before, for the complete ``lines`` so far
    (``plain``: lower case, blanks collapsed; ``counted``: digits aside too), or ``None``."""
    for shapes, copies in ((plain, BLOCK_COPIES), (counted, COUNTED_COPIES)):
        period = _block_copies(shapes, copies)
        if period is not None:
            at = len(shapes) - (copies - MAX_REPEATS) * period  # the (MAX_REPEATS + 1)-th copy
            return at + 1 if _PRIORITY.match(lines[at]) else at
    return None


def find_loop(text: str, *, partial_last_line: bool = False) -> int | None:
    """The character offset of the line where a loop is detected, or ``None``.

    ``partial_last_line``: the text is still being generated, so its last line (after the
    last newline) may be unfinished; it is checked only for a loop inside the line.
    """
    seen: dict[str, int] = {}
    starts: list[int] = []  # where each complete line begins
    plain: list[str] = []
    counted: list[str] = []
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
            starts.append(offset)
            plain.append(" ".join(line.lower().split()))
            counted.append(_DIGITS.sub("0", plain[-1]))
            at = _block_cut(lines, plain, counted)
            if at is not None:
                return starts[at]
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
    Modelfile's ``PARAMETER`` lines): the turn-ending strings, the token limit, and greedy
    decoding as every backend is given it (:meth:`ba_llm.Decoding.sampler_options`: no
    repetition penalty, which Ollama applied by default before August 2026). The line-loop cut is not
    expressible there; ba-llm's ollama backend applies it to the answer (:func:`cut_loop`)."""
    from .backends import Decoding  # here, not at the top: backends imports this module

    greedy = Decoding(max_new_tokens=max_new_tokens).sampler_options()
    out = [("stop", f'"{s}"') for s in STOP_STRINGS] + [("num_predict", str(max_new_tokens))]
    return out + [(k, f"{v:g}") for k, v in greedy.items()]


class Dropped(NamedTuple):
    """A requirement item dropped as a copy: its id as written, the id of the item that says
    it (as that item stands in the answer returned, after any renumbering) and its lines
    verbatim."""

    id: str
    repeats: str
    text: str


class _Item(NamedTuple):
    kind: str
    id: str
    num: str  # the id's digits as written
    start: int  # its ``- id:`` line
    end: int  # one past its last line
    key: str | None  # its description as a content line
    list_no: int  # which list it is in (items of one list share it)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _neutral(line: str) -> bool:
    """Blank and comment lines belong to whatever indented line follows them."""
    text = line.strip()
    return not text or text.startswith("#")


def _block_end(lines: list[str], n: int, depth: int) -> int:
    """One past the last line of the block that starts after line ``n``: the following lines
    indented deeper than ``depth`` (blank and comment lines between them included)."""
    end = n + 1
    while end < len(lines):
        if _neutral(lines[end]):
            nxt = end
            while nxt < len(lines) and _neutral(lines[nxt]):
                nxt += 1
            if nxt < len(lines) and _indent(lines[nxt]) > depth:
                end = nxt
                continue
            break
        if _indent(lines[end]) <= depth:
            break
        end += 1
    return end


def _description(lines: list[str], start: int, end: int, column: int) -> str | None:
    """The item's own description (the ``description:`` key at ``column``, with the lines
    that continue it) as a content line."""
    for i in range(start + 1, end):
        m = _DESCRIPTION.match(lines[i])
        if m is not None and len(m["indent"]) == column:
            more = lines[i + 1 : _block_end(lines, i, column)]
            return _content_key(" ".join([lines[i].strip(), *(x.strip() for x in more if not _neutral(x))]))
    return None


def _items(lines: list[str]) -> list[_Item]:
    items: list[_Item] = []
    list_no = 0
    n = 0
    while n < len(lines):
        m = _ITEM.match(lines[n])
        if m is None:
            if not _neutral(lines[n]):
                list_no += 1  # a key or any other line ends the list
            block = _BLOCK.match(lines[n])
            n = _block_end(lines, n, len(block["indent"])) if block else n + 1
            continue
        end = _block_end(lines, n, len(m["indent"]))
        key = _description(lines, n, end, m.start("key"))
        items.append(_Item(m["kind"], m["kind"] + m["num"], m["num"], n, end, key, list_no))
        n = end
    return items


def _renumbered(kind: str, items: list[_Item], lines: list[str]) -> bool:
    """Whether the ids of ``kind`` may move up: they ran 1, 2, 3 ... and nothing else in the
    answer names one of them."""
    own = [it for it in items if it.kind == kind]
    if [int(it.num) for it in own] != list(range(1, len(own) + 1)):
        return False
    heads = {it.start for it in own}
    named = re.compile(rf"\b{kind}\d+\b")
    return not any(named.search(line) for i, line in enumerate(lines) if i not in heads)


def _words(key: str | None) -> tuple[str, ...] | None:
    """A description's words as compared: split at blanks, punctuation at a word's ends set
    aside (``c#``, ``c++``, ``-20``, ``2.5`` and ``<`` stay as written), every modal verb of
    :data:`MODALS` read as one and the same word; ``None`` (never dropped) when fewer than
    ``MIN_WORDS - 1`` of them hold a letter."""
    if key is None:
        return None
    text = unicodedata.normalize("NFC", key).replace("\u2019", "'")
    words = tuple(_MODAL if w in MODALS else w for w in (t.strip(_EDGE) for t in text.split()) if w)
    return words if sum(_has_letter(w) for w in words if w != _MODAL) >= MIN_WORDS - 1 else None


def _has_letter(word: str) -> bool:
    return any(c.isalpha() for c in word)


def _negation(word: str) -> bool:
    return word in NEGATIONS or word.endswith("n't") or word.startswith("non-")


def _added(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    """Whether ``long`` is ``short`` with one run of words added that holds a letter and no
    negation, and either ends it (a detail: "... after each lesson" + "through the day") or
    ends with "and" / "or" (a capability joined in front: "... to [book and] pay for a
    session")."""
    added = len(long) - len(short)
    if added <= 0:
        return False
    head = 0
    while head < len(short) and short[head] == long[head]:
        head += 1
    same_end = 0
    while same_end < len(short) and short[-1 - same_end] == long[-1 - same_end]:
        same_end += 1
    splits = range(len(short) - same_end, head + 1)  # where the run can go; every one leaves the same words
    if not splits:
        return False
    run = long[head : head + added]
    at_end = head == len(short)
    joined = any(long[k + added - 1] in JOINING for k in splits)
    return (at_end or joined) and any(_has_letter(w) for w in run) and not any(_negation(w) for w in run)


def _hosts(items: list[_Item], left: dict[int, int]) -> dict[int, int]:
    """Item index -> the item that says it and stays (see the module rule); ``left`` (items
    left per list) is updated, so no list loses its last item."""
    words = [_words(it.key) for it in items]
    host: dict[int, int] = {}
    first: dict[tuple[str, ...], int] = {}
    for i, w in enumerate(words):  # copies, in any list: the later one goes
        if w is None:
            continue
        if w in first and left[items[i].list_no] > 1:
            left[items[i].list_no] -= 1
            host[i] = first[w]
        else:
            first.setdefault(w, i)
    # one inside a longer one of its list: the longest first, so the one an item goes for stays
    order = sorted(
        (i for i, w in enumerate(words[:MAX_COMPARED]) if w is not None and i not in host),
        key=lambda i: -len(words[i] or ()),
    )
    kept: list[int] = []
    for j in order:
        short = words[j] or ()
        fuller = (i for i in kept if items[i].list_no == items[j].list_no and _added(short, words[i] or ()))
        h = next(fuller, None)
        if h is not None and left[items[j].list_no] > 1:
            left[items[j].list_no] -= 1
            host[j] = h
        else:
            kept.append(j)
    back: dict[tuple[int, tuple[str, ...] | None], int] = {}  # copies kept back, per list
    for i, h in sorted(host.items()):
        if h in host:  # a copy of an item that went for a fuller one of its own list
            own = (items[i].list_no, words[i])
            if items[h].list_no == items[i].list_no:
                host[i] = host[h]
            elif own in back:  # that list already keeps one copy back
                host[i] = back[own]
            else:  # the fuller item is in another list: the first copy stays, for its own list
                del host[i]
                left[items[i].list_no] += 1
                back[own] = i
    return host


def drop_repeated_requirements(text: str) -> tuple[str, list[Dropped]]:
    """``text`` without the requirement items another item already says (ids renumbered
    where that is safe) and the dropped items, in order (see the module rule)."""
    lines = text.split("\n")
    items = _items(lines)
    left: dict[int, int] = {}
    for it in items:
        left[it.list_no] = left.get(it.list_no, 0) + 1
    host = _hosts(items, left)
    if not host:
        return text, []
    moving = {k for k in {items[i].kind for i in host} if _renumbered(k, items, lines)}
    width: dict[str, int] = {}  # a kind's zero-padded width (FR001 ... FR100: 3), 0 when unpadded
    for it in items:
        if it.num.startswith("0"):
            width[it.kind] = max(width.get(it.kind, 0), len(it.num))
    count: dict[str, int] = {}
    now: dict[int, str] = {}  # the id each item that stays has in the answer returned
    out: list[str] = []
    at = 0
    for i, it in enumerate(items):
        out.extend(lines[at : it.start])
        at = it.end
        if i in host:
            continue
        count[it.kind] = count.get(it.kind, 0) + 1
        head = lines[it.start]
        now[i] = it.id
        if it.kind in moving:
            m = _ITEM.match(head)
            assert m is not None
            num = f"{count[it.kind]:0{width.get(it.kind, 0)}d}"
            head = head[: m.start("num")] + num + head[m.end("num") :]
            now[i] = it.kind + num
        out.append(head)
        out.extend(lines[it.start + 1 : it.end])
    out.extend(lines[at:])
    dropped = [
        Dropped(items[i].id, now[host[i]], "\n".join(lines[items[i].start : items[i].end])) for i in sorted(host)
    ]
    return "\n".join(out), dropped
