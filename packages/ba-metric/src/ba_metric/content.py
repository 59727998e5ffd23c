"""The content score: what a business analyst sees in a document, beside the rubric total.

``content`` starts at 1.0 and every defect a reader would object to takes off its weight
(``DEFECTS``); coverage of the concept's capabilities takes off up to ``COVERAGE_WEIGHT``;
the result is clipped to [0, 1]. Each defect is reported as a short code naming the
requirement IDs involved (``duplicate:FR002,FR004``, ``nfr_is_functional:NFR001``,
``uncovered:share tools``). The rules are defined in the package README ("Content score");
they read English and Spanish documents. Everything here is linear in the document size
(pairwise comparisons are over at most ``MAX_ITEMS`` requirements) and never raises on a
parsed document.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from .facts import Fact, facts, name_rules, rule_names, supported
from .grounding import GENERIC_WORDS, SPANISH_STOPWORDS, STOPWORDS, fold, word_key
from .lexicon import (
    ACTOR_AUXILIARIES,
    CAPABILITY_CUES,
    CONSTRAINT_KINDS,
    DEADLINE_WORDS,
    DELIVERABLES,
    DOCUMENT_ITSELF,
    FILLER,
    MEASURABLE,
    NOT_A_CAPABILITY_VERB,
    NOT_A_RULE_AFTER,
    PASSIVE_BEFORE,
    PEOPLE,
    PRESENT_TENSE,
    RULE_VERBS,
    RULE_WORDS,
    VACUOUS,
)
from .parse import CATEGORIES
from .quantities import Quantities, quantities, same_amount
from .rules import ID_PREFIXES

__all__ = ["COVERAGE_WEIGHT", "DEFECTS", "Content", "content_of_document"]

#: defect kind -> (weight taken off ``content`` per occurrence, what a reader objects to)
DEFECTS: Mapping[str, tuple[float, str]] = MappingProxyType(
    {
        "unparseable": (1.0, "the text does not parse as a requirements document"),
        "missing_category": (0.15, "a requirement category is empty or missing"),
        "duplicate": (0.10, "a requirement repeats an earlier one (same words, any category)"),
        "nfr_is_functional": (0.10, "an actor-capability sentence (a functional requirement) in the NFR list"),
        "nfr_unmeasurable": (0.05, "an NFR with no measurable target (a number, count, named standard or languages)"),
        "not_a_constraint": (0.08, "a constraint that limits nothing (no budget, deadline, rule, platform, ...)"),
        "repeated_constraint": (0.08, "a constraint restating another one (the same amount or nearly the same words)"),
        "contradicts_concept": (0.15, "a budget, duration or date that differs from the concept's"),
        "unsupported_number": (0.08, "a budget, duration or date the concept never gives"),
        "invented_constraint": (
            0.08,
            "a limit the concept never states: a platform that does not fit it, or a constraint sharing no "
            "content word with it but generic ones",
        ),
        "unstated_fact": (0.08, "a head count, an age, a language or a law the concept never gives"),
        "unfit_platform": (
            0.08,
            "a functional or non-functional requirement naming an operating system, browser or device "
            "that does not fit the concept",
        ),
        "filler": (0.08, "generic filler that would fit any product"),
        "garbled": (0.08, "a sentence that repeats its own words (\"for clients and clients\", a phrase three times)"),
        "dropped_limit": (
            0.08,
            "a budget, deadline or rule (a law, regulation or standard) the concept states that the document "
            "never mentions",
        ),
        "wrong_actor": (
            0.08,
            "a functional requirement giving a capability of the concept to another actor than the concept does",
        ),
        "uncovered": (0.0, "a capability the concept asks for that no functional requirement mentions"),
    }
)
#: the most ``content`` that missing coverage can take off (times the uncovered share)
COVERAGE_WEIGHT = 0.3
MAX_ITEMS = 200
_SHORT = ID_PREFIXES

_TOKEN_RE = re.compile(r"[^\W_]+")

_BOILERPLATE = frozenset(
    """shall must should will can could may able allow allows let lets enable enables permit
    system app application platform solution sistema aplicacion plataforma permitir
    permita permitan""".split()
)
_DROP = frozenset(fold(w) for w in STOPWORDS | SPANISH_STOPWORDS | _BOILERPLATE)

_CAPABILITY_RE = re.compile(
    r"\b(?:shall|should|must|will|can|could)\s+(?:be\s+able\s+to|allow|let|enable|permit)\b"
    r"|\bable to\b|\b(?:allows?|lets|enables?|permits?)\s+(?!\d)\w+(?:\s\w+)?\s+to\b"
    r"|\bpodr[a]n?\b|\bpermitir[a]?n?\b|\bpermite[n]?\b"
)
_HARD_KINDS = ("budget", "deadline", "regulation")
#: concept segments matching these kinds state a constraint, not a capability (so does a
#: segment with a duration or a date, or a deadline word: ``lexicon.DEADLINE_WORDS``)
_NOT_CAPABILITY_KINDS = ("budget", "regulation", "technology", "language")
_SEGMENT_RE = re.compile(r"[.;:!?]+(?=\s|$)|[\n\u2022*()]+|,\s|\s-\s|\s\u2013\s|^\s*-\s|\s(?:and|or|y|o|plus|then)\s")
_NONFEATURE_WORDS = frozenset(
    """want wants need needs needed like would looking build built building create make get
    available availability accessible used using able offer offers run runs running
    allow small big large local regional national new our we us they them there something
    thing things idea basically also really maybe please quiero queremos necesitamos
    necesito buscamos hacer crear construir pequeno pequena gran grande local nuevo nueva
    idea cosa cosas algo tipo""".split()
)


def _keys(folded: str, drop: frozenset[str] = _DROP) -> frozenset[str]:
    return frozenset(word_key(t) for t in _TOKEN_RE.findall(folded) if len(t) > 1 and not t.isdigit() and t not in drop)


@dataclass(frozen=True)
class Content:
    """``content`` in [0, 1], the defect codes, and the coverage of the concept (None
    without a concept or when the concept names no capability)."""

    content: float
    defects: tuple[str, ...]
    coverage: float | None


class _Item:
    __slots__ = ("rid", "category", "text", "folded", "padded", "keys", "tokens", "_quantities")

    def __init__(self, rid: str, category: str, text: str) -> None:
        self.rid, self.category, self.text = rid, category, text
        self.folded = fold(text)
        self.padded = " " + " ".join(_TOKEN_RE.findall(self.folded)) + " "
        self.keys = _keys(self.folded)
        self.tokens = frozenset(self.padded.split())
        self._quantities: Quantities | None = None

    @property
    def quantities(self) -> Quantities:
        if self._quantities is None:
            self._quantities = quantities(self.folded)
        return self._quantities

    def uses(self, lexicon: Any) -> bool:
        return lexicon.match(self.tokens, self.padded, self.folded)


def _items(doc: Mapping[str, Any]) -> tuple[list[_Item], list[str]]:
    items: list[_Item] = []
    missing = []
    for category in CATEGORIES:
        value = doc.get(category)
        found = 0
        if isinstance(value, list):
            for i, entry in enumerate(value[:MAX_ITEMS]):
                if isinstance(entry, Mapping) and isinstance(entry.get("description"), str):
                    rid = entry.get("id")
                    if not isinstance(rid, str) or not rid.strip() or len(rid) > 20:
                        rid = f"{_SHORT[category]}#{i + 1}"
                    items.append(_Item(rid.strip().replace(",", " "), category, entry["description"]))
                    found += 1
        if not found:
            missing.append(_SHORT[category])
    return items, missing


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def _similar(a: frozenset[str], b: frozenset[str], at_least: float) -> bool:
    """Jaccard(a, b) >= at_least; the size ratio bounds it, so most pairs need no set op."""
    na, nb = len(a), len(b)
    if na > nb:
        na, nb = nb, na
    return nb > 0 and na >= at_least * nb and _jaccard(a, b) >= at_least


def _near_duplicate(a: _Item, b: _Item) -> bool:
    """Same normalised words, or >= 75 % of content keys shared (at least three keys), or
    >= 80 % of all words shared (which needs at least half of the content keys shared)."""
    if a.padded == b.padded:
        return True
    ka, kb = a.keys, b.keys
    shared = len(ka & kb)
    union = len(ka) + len(kb) - shared
    if not union or shared * 2 < union:
        return False
    if min(len(ka), len(kb)) >= 3 and shared >= 0.75 * union:
        return True
    return _similar(a.tokens, b.tokens, 0.8)


def _refines(earlier: _Item, later: _Item) -> bool:
    """``later`` restates ``earlier`` in another category with a measurable target that
    ``earlier`` lacks ("New members shall be able to reserve a plot within 2 minutes"):
    a usability or performance NFR built on a capability, not a copy of it."""
    return (
        earlier.category != later.category
        and earlier.padded != later.padded
        and later.uses(MEASURABLE)
        and not earlier.uses(MEASURABLE)
    )


def _duplicates(items: list[_Item], defects: list[str]) -> set[int]:
    flagged: set[int] = set()
    for j in range(1, len(items)):
        for i in range(j):
            if i not in flagged and _near_duplicate(items[i], items[j]) and not _refines(items[i], items[j]):
                defects.append(f"duplicate:{items[i].rid},{items[j].rid}")
                flagged.add(j)
                break
    return flagged


def _is_capability(item: _Item) -> bool:
    return not CAPABILITY_CUES.isdisjoint(item.tokens) and _CAPABILITY_RE.search(item.padded) is not None


def _nfr_defects(nfrs: list[tuple[int, _Item]], defects: list[str]) -> None:
    """An NFR without a target (number, count, named standard or languages): a capability
    sentence is a functional requirement in the wrong list, anything else is unmeasurable."""
    for _, item in nfrs:
        if item.uses(MEASURABLE):
            continue
        kind = "nfr_is_functional" if _is_capability(item) else "nfr_unmeasurable"
        defects.append(f"{kind}:{item.rid}")


#: "must be delivered with X", "handed over together with X", "entregado con X": X is what the
#: product comes with
_HAND_OVER_RE = re.compile(
    r"\b(?:delivered|handed over|entregad[oa]s?|entregarse)\s+(?:(?:together|along|junto)\s+)?(?:with|con)\b(.*)"
)


def _hand_over(item: _Item) -> bool | None:
    """None when ``item`` is no hand-over constraint; else whether the thing it hands over is a
    deliverable (``DELIVERABLES``) other than the requirements document itself
    (``DOCUMENT_ITSELF``): "with its source code" True, "with its funding in hand" False."""
    match = _HAND_OVER_RE.search(item.padded)
    if match is None:
        return None
    thing = match.group(1)
    tokens = frozenset(thing.split())
    return DELIVERABLES.match(tokens, thing, thing) and DOCUMENT_ITSELF.isdisjoint(tokens)


def _constraint_kinds(item: _Item) -> set[str]:
    """The kinds of limit a constraint states. A hand-over constraint states one (``hand_over``)
    when it names a deliverable, and none when it does not, whatever its other words, unless it
    gives a money amount, a duration or a date ("delivered" is a deadline word, "funding" a
    budget word, "premises" a technology word)."""
    hand_over = _hand_over(item)
    if hand_over is False and not (item.quantities.money or item.quantities.has_deadline):
        return set()
    kinds = {kind for kind, lexicon in CONSTRAINT_KINDS.items() if item.uses(lexicon)}
    return kinds | {"hand_over"} if hand_over else kinds


def _constraint_defects(cons: list[tuple[int, _Item]], dup: set[int], defects: list[str]) -> None:
    amounts: list[tuple[_Item, Quantities]] = []
    for index, item in cons:
        kinds = _constraint_kinds(item)
        if not kinds or (_is_capability(item) and not kinds & set(_HARD_KINDS)):
            defects.append(f"not_a_constraint:{item.rid}")
        if index in dup:
            continue
        q = item.quantities
        for earlier, eq in amounts:
            same_money = any(same_amount(m, eq.money) for m in q.money)
            same_days = bool(set(q.days) & set(eq.days))
            if same_money or same_days or _jaccard(item.keys, earlier.keys) >= 0.6:
                defects.append(f"repeated_constraint:{earlier.rid},{item.rid}")
                break
        else:
            amounts.append((item, q))


@lru_cache(maxsize=4096)
def _concept_facts(concept: str) -> tuple[Quantities, tuple[tuple[str, frozenset[str], bool], ...]]:
    """The concept's quantities and its capability segments (label, keys, is the opening)."""
    folded = fold(concept)
    segments = []
    parts = _SEGMENT_RE.split(folded)
    first = next((i for i, part in enumerate(parts) if _TOKEN_RE.search(part)), None)
    for index, raw in enumerate(parts):
        tokens = _TOKEN_RE.findall(raw)
        seg = _Item("", "", raw)
        if not tokens or seg.uses(PRESENT_TENSE) or seg.uses(DEADLINE_WORDS) or quantities(raw).has_deadline:
            continue
        if any(seg.uses(CONSTRAINT_KINDS[k]) for k in _NOT_CAPABILITY_KINDS):
            continue
        words = [
            t
            for t in tokens
            if len(t) > 2
            and not t.isdigit()
            and t not in _DROP
            and t not in GENERIC_WORDS
            and t not in _NONFEATURE_WORDS
            and t not in CONSTRAINT_KINDS["platform"].words
        ]
        keys = frozenset(map(word_key, words))
        if keys:
            segments.append((" ".join(words[:3]), keys, index == first))
    return quantities(folded), tuple(segments)


def _coverage(
    frs: list[_Item],
    head_keys: frozenset[str],
    segments: tuple[tuple[str, frozenset[str], bool], ...],
    defects: list[str],
) -> float | None:
    """Share of the concept's capability segments that the FRs mention: one shared key for
    a segment of up to four keys, two for a longer one. The opening segment (who is
    asking) also counts as covered when the title or description names it."""
    if not segments:
        return None
    fr_keys = frozenset().union(*(item.keys for item in frs)) if frs else frozenset()
    covered = 0
    for label, keys, opening in segments:
        need = 1 if len(keys) <= 4 else 2
        if len(keys & fr_keys) >= need or (opening and keys & head_keys):
            covered += 1
        else:
            defects.append(f"uncovered:{label}")
    return covered / len(segments)


def _number_defects(
    doc: Mapping[str, Any], cons: list[tuple[int, _Item]], concept_q: Quantities, defects: list[str]
) -> list[Quantities]:
    """Charge each amount or time of the description and the constraints that the concept
    contradicts or never gives; returns those units' quantities (the places a limit is stated)."""
    units = [("description", quantities(fold(doc["description"])))] if isinstance(doc.get("description"), str) else []
    units += [(item.rid, item.quantities) for _, item in cons]
    for rid, q in units:
        bad = good = False
        if q.money:
            if concept_q.money:
                bad |= not all(same_amount(m, concept_q.money) for m in q.money)
            else:
                good = True
        if q.days:
            if concept_q.days:
                bad |= not all(any(abs(d - c) <= 0.1 * c for c in concept_q.days) for d in q.days)
            elif not concept_q.has_deadline:
                good = True
        if q.years and concept_q.years and not q.years <= concept_q.years:
            bad = True
        if q.quarters and concept_q.quarters and not q.quarters <= concept_q.quarters:
            bad = True
        if bad:
            defects.append(f"contradicts_concept:{rid}")
        elif good:
            defects.append(f"unsupported_number:{rid}")
    return [q for _, q in units]


#: the smallest amount a concept's money must reach to count as a budget (a fee or a price per
#: item, "£5 a month", is not a limit the document has to restate)
BUDGET_AT_LEAST = 1000.0


def _dropped_limits(
    doc: Mapping[str, Any], items: list[_Item], stated: list[Quantities], concept_q: Quantities, defects: list[str]
) -> None:
    """The concept's budget or deadline that no unit of the document states (any category,
    the title or the description: a reader wants it written down, wherever it is): one
    ``dropped_limit:budget`` when none of the concept's amounts of at least
    :data:`BUDGET_AT_LEAST` is there, one ``dropped_limit:deadline`` when none of its
    durations (within 10 %), years or quarters is. A document whose description or
    constraints give another amount or time is charged for that by :func:`_number_defects`
    (``contradicts_concept``), not again here: ``stated`` is what it read, the description's
    and the constraints' quantities."""
    title = [quantities(fold(doc["title"]))] if isinstance(doc.get("title"), str) else []
    units = title + stated + [item.quantities for item in items if item.category != "constraints"]
    budgets = [m for m in concept_q.money if m >= BUDGET_AT_LEAST]
    if (
        budgets
        and not any(same_amount(m, budgets) for q in units for m in q.money)
        and not any(q.money for q in stated)
    ):
        defects.append("dropped_limit:budget")
    if (
        concept_q.has_deadline
        and not any(
            any(abs(d - c) <= 0.1 * c for d in q.days for c in concept_q.days)
            or q.years & concept_q.years
            or q.quarters & concept_q.quarters
            for q in units
        )
        and not any(q.has_deadline for q in stated)
    ):
        defects.append("dropped_limit:deadline")


def _rule_words(words: list[str]) -> list[int]:
    """The positions of the rule words (:data:`lexicon.RULE_WORDS`) in a text's words, but a
    rule word naming people or an organisation ("compliance officers", "a law firm":
    :data:`lexicon.NOT_A_RULE_AFTER`, ``PEOPLE``) or a relative ("mother in law")."""
    return [
        i
        for i, word in enumerate(words)
        if word in RULE_WORDS
        and (i + 1 == len(words) or (words[i + 1] not in NOT_A_RULE_AFTER and words[i + 1] not in PEOPLE))
        and not (word.startswith("law") and i > 0 and words[i - 1] == "in")
    ]


@dataclass(frozen=True)
class _Rule:
    """A rule a concept states: the laws and standards it names (``facts.rule_names``) and its
    own keys."""

    names: frozenset[str]
    keys: frozenset[str]


_NOT_RULE_KEYS = frozenset(map(word_key, RULE_WORDS | RULE_VERBS | GENERIC_WORDS | _NONFEATURE_WORDS))


@lru_cache(maxsize=4096)
def _stated_rules(concept: str) -> frozenset[_Rule]:
    """The concept's segments (split as for coverage, brackets kept with their segment, each
    law's and standard's name read whole first: ``facts.name_rules``) that name a law or a
    standard or use a rule word; each rule's own keys are its keys less rule words, rule verbs,
    generic words and the keys of the concept's other segments (cur-08's "schedules" is the
    product, not the rule)."""
    segments = []
    for raw in _SEGMENT_RE.split(name_rules(fold(concept).replace("(", " ").replace(")", " "))):
        if raw and _TOKEN_RE.search(raw):
            seg = _Item("", "", raw)
            names = rule_names(seg.folded)
            segments.append((seg, names, bool(names) or bool(_rule_words(seg.padded.split()))))
    others = frozenset().union(*(seg.keys for seg, _, is_rule in segments if not is_rule))
    return frozenset(_Rule(names, seg.keys - _NOT_RULE_KEYS - others) for seg, names, is_rule in segments if is_rule)


#: a rule's word this close to a rule word keeps it ("labour laws", not "data at rest ... GDPR")
RULE_WORD_REACH = 3


@dataclass(frozen=True)
class _Unit:
    """What keeps a rule in one unit of a document: its keys, the laws and standards it names,
    whether it uses a rule word or names one, and the keys of its words near a rule word."""

    keys: frozenset[str]
    names: frozenset[str]
    legal: bool
    near: frozenset[str]


def _unit(item: _Item) -> _Unit:
    words = item.padded.split()
    at = _rule_words(words)
    near = frozenset(
        word_key(words[j])
        for i in at
        for j in range(max(0, i - RULE_WORD_REACH), min(len(words), i + RULE_WORD_REACH + 1))
    )
    names = rule_names(item.folded)
    return _Unit(item.keys, names, bool(names or at), near)


def _keeps(unit: _Unit, rule: _Rule) -> bool:
    """Whether one unit of a document keeps a stated rule: one naming laws or standards by
    naming one of them; else by sharing two of its own keys (its one key, when it has one), or
    one within :data:`RULE_WORD_REACH` words of a rule word; a rule with no key of its own by
    any rule word, law or standard."""
    if rule.names:
        return not rule.names.isdisjoint(unit.names)
    if not rule.keys:
        return unit.legal
    return len(rule.keys & unit.keys) >= min(2, len(rule.keys)) or not rule.keys.isdisjoint(unit.near)


def _dropped_rule(doc: Mapping[str, Any], items: list[_Item], concept: str, defects: list[str]) -> None:
    """One ``dropped_limit:rule`` when a rule the concept states (a law, regulation, standard
    or legal duty: :func:`_stated_rules`) is kept by no unit of the document (the title, the
    description or any requirement: :func:`_keeps`), however many rules are dropped. Each unit
    is read once and each distinct rule checked once."""
    rules = _stated_rules(concept)
    if not rules:
        return
    heads = [_Item(key, key, doc[key]) for key in ("title", "description") if isinstance(doc.get(key), str)]
    units = [_unit(item) for item in heads + items]
    if any(not any(_keeps(unit, rule) for unit in units) for rule in rules):
        defects.append("dropped_limit:rule")


_PLATFORM = CONSTRAINT_KINDS["platform"]
_MOBILE = frozenset(
    """ios android ipad iphone mobile tablet tablets smartphone smartphones phone phones movil moviles
    telefono tableta pwa""".split()
) | {"app store", "google play"}
_WEB = frozenset("web browser browsers chrome safari firefox navegador navegadores pwa".split())
_DESKTOP = frozenset(
    """desktop desktops windows macos mac linux laptop laptops computer computers pc pcs ordenador
    ordenadores portatil escritorio""".split()
)
#: the devices a website is used on (not their operating systems: a website runs on none)
_DEVICES = frozenset(
    """mobile phone phones smartphone smartphones tablet tablets movil moviles telefono tableta desktop
    desktops laptop laptops computer computers pc pcs ordenador ordenadores portatil escritorio iphone
    ipad""".split()
)
#: what a text message goes to
_TEXTING = frozenset("sms mobile phone phones smartphone smartphones movil moviles telefono".split())
#: words that name a kind of platform without naming one ("an app", "a website", "una web", "get
#: a text") -> the platform entries a constraint may name for it ("an app" -> "must run on iOS
#: and Android"; "a text" -> "sent by SMS to the patient's mobile number")
_KIND_FITS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        **dict.fromkeys("app apps aplicacion aplicaciones".split(), _MOBILE | _WEB),
        **dict.fromkeys("web website websites webapp online portal".split(), _WEB | _DEVICES),
        **dict.fromkeys("sms text texts texted texting".split(), _TEXTING),
        "whatsapp": _TEXTING | {"whatsapp"},
    }
)
#: phrases that name a kind of platform, like :data:`_KIND_FITS`'s words
_KIND_PHRASES: Mapping[str, frozenset[str]] = MappingProxyType(
    {" mensaje de texto ": _TEXTING, " mensajes de texto ": _TEXTING, " en linea ": _WEB | _DEVICES}
)
#: screens fit any concept that names a platform or a kind of one
_SCREENS = frozenset("screen screens pantalla".split())
#: shared words that name no limit: a constraint sharing only these with the concept is not its
#: (whole words: "organic" is not "organisation", though their keys are the same)
_NOT_EXCUSING = frozenset(fold(w) for w in GENERIC_WORDS | _NONFEATURE_WORDS)
#: platform words in another sense: a time window, screening someone, a phone number or an email
#: address (data a form asks for), not a platform
_NOT_A_PLATFORM_RE = re.compile(
    r" (?:minute|hour|day|time|delivery|pickup|collection|maintenance|booking|service|slot|"
    r"arrival|access|opening|visiting)s? windows? "
    r"| (?:must|shall|should|will|to|and|or) screens? "
    r"| (?:phone|mobile|movil|telefono) numbers? | (?:numero|numeros) de (?:telefono|movil) "
    r"| email (?:address|addresses) "
)


def _platforms(tokens: frozenset[str], padded: str) -> frozenset[str]:
    """The platform lexicon's entries a text names (its words and its phrases), not counting a
    platform word used in another sense (:data:`_NOT_A_PLATFORM_RE`)."""
    if _NOT_A_PLATFORM_RE.search(padded):
        padded = _NOT_A_PLATFORM_RE.sub("  ", padded)
        tokens = frozenset(padded.split())
    found = set(_PLATFORM.words & tokens)
    for first in tokens.intersection(_PLATFORM.phrases):
        found.update(p.strip() for p in _PLATFORM.phrases[first] if p in padded)
    return frozenset(found)


def _platform_fits(told: _Item) -> frozenset[str]:
    """The platform entries a constraint may name for this concept: the ones it names, their
    families (mobile, web, desktop), the ones a kind it names allows, and screens."""
    named = _platforms(told.tokens, told.padded)
    fits = set(named)
    for family in (_MOBILE, _WEB, _DESKTOP):
        if named & family:
            fits |= family
    for kind in told.tokens.intersection(_KIND_FITS):
        fits |= _KIND_FITS[kind]
    for phrase, allowed in _KIND_PHRASES.items():
        if phrase in told.padded:
            fits |= allowed
    return frozenset(fits | _SCREENS) if fits else frozenset()


@lru_cache(maxsize=4096)
def _concept_words(concept: str) -> tuple[frozenset[str], frozenset[str]]:
    """The concept's content keys that can excuse a constraint (not the generic ones), and the
    platform entries a constraint may name (cached like :func:`_concept_facts`: a set of
    documents answers few concepts)."""
    told = _Item("", "", concept)
    said = _keys(" ".join(told.tokens - _NOT_EXCUSING))
    return said, _platform_fits(told)


def _charged(defects: list[str], kinds: tuple[str, ...]) -> set[str]:
    """The units (requirement IDs, ``description``) already charged with one of ``kinds``."""
    prefixes = tuple(f"{kind}:" for kind in kinds)
    return {code.split(":", 1)[1] for code in defects if code.startswith(prefixes)}


def _invented_constraints(cons: list[tuple[int, _Item]], dup: set[int], concept: str, defects: list[str]) -> None:
    """A constraint states a limit the concept never gives ("The project must be funded by a
    government agency.", "must run on UK taxpayers' funds") when:

    * it names a platform that does not fit the concept (:func:`_platform_fits`: "a mobile
      app" -> "must run on Android 10 or later" fits, "must run on a Windows 10 system" does
      not), whatever words it shares with the concept; or
    * it names no platform and shares no content key with the concept but generic ones
      ("run", "users", "system": :data:`_NOT_EXCUSING`), unless it states the concept's budget
      or time in other words ("about $15k" -> "The total budget is about 15,000 USD.").

    Not charged again on a constraint already charged as a duplicate, as no limit at all or
    for its number."""
    said, fits = _concept_words(concept[:20000])
    charged = _charged(defects, ("not_a_constraint", "unsupported_number", "contradicts_concept"))
    for index, item in cons:
        if index in dup or item.rid in charged or not item.keys:
            continue
        named = _platforms(item.tokens, item.padded)
        if named:
            if named <= fits:
                continue
        elif item.keys & said or item.quantities.money or item.quantities.days:
            continue  # the concept's words, or its amount or time reworded (one it lacks is
            # charged by _number_defects)
        defects.append(f"invented_constraint:{item.rid}")


#: the platform entries that, in a functional or non-functional requirement, name a platform
#: (an operating system, a browser, a kind of device); not the ones that there more often name a
#: channel or data ("web page", "mobile number", "by email", "on screen", "sent by SMS")
_REQUIREMENT_PLATFORMS = frozenset(
    """ios android ipad iphone windows macos mac linux chrome safari firefox desktop desktops laptop
    laptops pc pcs computer computers tablet tablets smartphone smartphones kiosk kiosks escritorio
    ordenador ordenadores portatil tableta""".split()
) | {"app store", "google play"}


#: words that, at most :data:`_CONTEXT_WINDOW` words before a platform word, make the requirement
#: say where something runs ("support the two latest major versions of Windows", "on their
#: smartphone", "funcionará en Android"); without one the word names a thing of the business
#: ("book their windows cleaned", "how many tablets each resident took", "computer vision")
_PLATFORM_CONTEXT = frozenset(
    """on run runs running support supports supported version versions install installed installing
    available work works compatible native en funcionar funcionara funcione funcionen funcionando
    versiones disponible desde instalar""".split()
)
_CONTEXT_WINDOW = 5


def _in_context(padded: str, entry: str) -> bool:
    """Whether ``entry`` (a platform word or phrase) occurs in ``padded`` after a context word."""
    words = _NOT_A_PLATFORM_RE.sub("  ", padded).split()
    parts = entry.split()
    return any(
        words[i : i + len(parts)] == parts and _PLATFORM_CONTEXT.intersection(words[max(0, i - _CONTEXT_WINDOW) : i])
        for i in range(len(words))
    )


def _unfit_platforms(items: list[_Item], dup: set[int], concept: str, defects: list[str]) -> None:
    """A functional or non-functional requirement saying it runs on a platform of
    :data:`_REQUIREMENT_PLATFORMS` that does not fit the concept (the fit of
    :func:`_invented_constraints`): "support the two latest major versions of Windows" for a
    salon booking app. A platform word counts only after a word of :data:`_PLATFORM_CONTEXT`.
    One invention, one charge: each unfit platform once per document, on the first requirement
    naming it, and never one a constraint charged as ``invented_constraint`` names; not on a
    requirement already charged as a duplicate."""
    _, fits = _concept_words(concept[:20000])
    charged = _charged(defects, ("invented_constraint",))
    seen = {
        p
        for it in items
        if it.category == "constraints" and it.rid in charged
        for p in _platforms(it.tokens, it.padded)
    }
    for index, item in enumerate(items):
        if index in dup or item.category == "constraints":
            continue
        named = {
            p for p in _platforms(item.tokens, item.padded) & _REQUIREMENT_PLATFORMS if _in_context(item.padded, p)
        }
        unfit = named - fits - seen
        if unfit:
            defects.append(f"unfit_platform:{item.rid}")
            seen |= unfit


def _unstated_facts(doc: Mapping[str, Any], items: list[_Item], concept: str, defects: list[str]) -> None:
    """A head count, an age, a language or a law (``facts``) the concept never gives, in the
    description or a requirement ("The app shall serve 10,000 users.", "children aged 12 and
    over", "in English and Spanish", "comply with GDPR"): each distinct fact once per document,
    on the first unit stating it, a unit at most once, and never a fact that a unit already
    charged for an invented constraint or an unsupported or contradicting number states,
    before or after it (one invention, one charge)."""
    told = fold(concept)
    charged = _charged(defects, ("invented_constraint", "unsupported_number", "contradicts_concept"))
    units: list[tuple[str, str, frozenset[str] | None]] = []
    if isinstance(doc.get("description"), str):
        units.append(("description", fold(doc["description"]), None))
    units += [(item.rid, item.folded, item.tokens) for item in items]
    seen: set[Fact] = set().union(*(facts(folded, tokens) for rid, folded, tokens in units if rid in charged))
    for rid, folded, tokens in units:
        stated = facts(folded, tokens) - seen
        seen |= stated
        if rid not in charged and any(not supported(f, told) for f in stated):
            defects.append(f"unstated_fact:{rid}")


_SEGMENT_SPLIT_RE = re.compile(f"({_SEGMENT_RE.pattern})")
#: a separator that joins a segment to the one before within a sentence ("... and see whether ...")
_JOIN_RE = re.compile(r"^(?:,\s|\s(?:and|or|plus|then)\s)$")
_LEAD_WORDS = frozenset("and or plus then the a an our their its his her".split())
#: an English functional requirement's actor and what it lets them do: "allow(s) / enable(s) /
#: permit(s) [the] X to ...", "X shall / must / should / will / can be able to ..."
_FR_ACTOR_RE = re.compile(
    r"\b(?:allow|allows|enable|enables|permit|permits)\s+(?:the\s+|a\s+|an\s+|their\s+|its\s+|each\s+)?"
    r"(?P<a>[^\W\d_]+(?:\s[^\W\d_]+){0,2}?)\s+to\s+(?P<rest>.+)"
    r"|^(?:the\s+|a\s+|an\s+|each\s+)?(?P<b>[^\W\d_]+(?:\s[^\W\d_]+){0,2}?)\s+(?:shall|must|should|will|can)\s+be\s+able"
    r"\s+to\s+(?P<rest2>.+)"
)
#: actors that name nobody in particular ("users", "customers", "people"): never charged
_GENERIC_ACTORS = frozenset(
    word_key(w) for w in "user users customer customers people person anyone everyone public they them".split()
)
_NOT_VERB_KEYS = frozenset(map(word_key, NOT_A_CAPABILITY_VERB))
#: before an actor, these make it an object or a part of another noun phrase ("parents of
#: pupils can ...", "patients at the clinic can ...")
_ACTOR_OBJECT_AFTER = frozenset("of at for with from to by in on about".split())
#: plurals without an -s: a subject that is one of these or ends in -s can do a verb with no
#: auxiliary between ("therapists share", "staff swap"); a singular noun right before a verb is
#: more often a modifier ("patient text messages")
_DETERMINERS = frozenset("the a an their our its his her each every all any some".split())
_PLURALS = frozenset("staff children people personnel police crew".split())
_IRREGULAR_KEYS = {"children": "child", "people": "person"}


def _actor_key(word: str) -> str:
    return _IRREGULAR_KEYS.get(word) or word_key(word)


_PEOPLE_KEYS = frozenset(map(_actor_key, PEOPLE)) - _GENERIC_ACTORS


def _fr_actor(item: _Item) -> tuple[str, frozenset[str], list[str]] | None:
    """An FR's actor head key, the keys of its actor words and the keys of what it lets them
    do, in order ("allow front desk staff to check patients in" -> ``staff``, {front, desk,
    staff}, [check, patien]); None for none, or a passive ("allow plans to be shared")."""
    m = _FR_ACTOR_RE.search(item.padded.strip())
    if not m:
        return None
    actor, rest = (m["a"] or m["b"]).split(), (m["rest"] or m["rest2"]).split()
    if rest[0] in PASSIVE_BEFORE:
        return None  # "allow exercise plans to be shared": a thing, not an actor
    keys = [word_key(w) for w in rest if len(w) > 2 and not w.isdigit() and w not in _DROP]
    return _actor_key(actor[-1]), frozenset(map(_actor_key, actor)), keys


@lru_cache(maxsize=4096)
def _sentence_segments(concept: str) -> tuple[tuple[tuple[str, ...], bool], ...]:
    """The concept's segments (split as for coverage) as words, each with whether a separator
    joins it to the segment before within a sentence ("and", "or", a comma)."""
    parts = _SEGMENT_SPLIT_RE.split(fold(concept))
    out = []
    for i in range(0, len(parts), 2):
        words = _TOKEN_RE.findall(parts[i] or "")
        while words and words[0] in _LEAD_WORDS:
            words = words[1:]
        out.append((tuple(words), i > 0 and _JOIN_RE.match(parts[i - 1] or "") is not None))
    return tuple(out)


@lru_cache(maxsize=4096)
def _verb_index(concept: str) -> dict[str, list[tuple[int, int]]]:
    """Each word key of the concept -> where it occurs (segment, position)."""
    index: dict[str, list[tuple[int, int]]] = {}
    for i, (words, _) in enumerate(_sentence_segments(concept)):
        for p, word in enumerate(words):
            index.setdefault(word_key(word), []).append((i, p))
    return index


def _subject_at(words: tuple[str, ...], p: int, actors: frozenset[str], q: int) -> frozenset[str] | None:
    """The keys of the actor at ``p`` and of the two words before it ("front desk staff",
    "staff members") if it is the subject of the verb at ``q`` (between them only
    auxiliaries): not after a preposition ("parents of pupils", "patients at the clinic", its
    determiners skipped), and
    plural unless an auxiliary comes between ("patient text messages" is a noun phrase)."""
    word = words[p]
    before = p - 1
    while before >= 0 and words[before] in _DETERMINERS:
        before -= 1
    if _actor_key(word) not in actors or (before >= 0 and words[before] in _ACTOR_OBJECT_AFTER):
        return None
    if q == p + 1 and not (word in _PLURALS or (word.endswith("s") and not word.endswith("ss"))):
        return None
    return frozenset(_actor_key(w) for w in words[max(0, p - 2) : p + 1])


def _doer(words: tuple[str, ...], pos: int, actors: frozenset[str]) -> frozenset[str] | None:
    """The actor right before the verb at ``pos`` (auxiliaries skipped; none for a passive)."""
    if pos > 0 and words[pos - 1] in PASSIVE_BEFORE:
        return None
    j = pos - 1
    while j >= 0 and words[j] in ACTOR_AUXILIARIES:
        j -= 1
    return _subject_at(words, j, actors, pos) if j >= 0 else None


#: the word before a clause's subject inside a segment ("... that lets tenants pay", "a booking
#: app where clients send ...", "so that farmers can see")
_CLAUSE_OPENERS = frozenset("let lets allow allows where that which who whom whereby when".split())


def _segment_subject(words: tuple[str, ...], actors: frozenset[str]) -> frozenset[str] | None:
    """A segment's subject: the actor that opens it (within its first three words: "quality
    staff must ...", "therapists share ..."), else one that opens a clause (after "lets",
    "where", "that": "... that lets tenants pay", "a booking app where clients send ..."), else
    its first actor followed by an auxiliary ("travellers should be able to see"); None when
    none of these has its verb after it."""

    def verb_after(p: int) -> int | None:
        q = p + 1
        while q < len(words) and words[q] in ACTOR_AUXILIARIES:
            q += 1
        ok = q < len(words) and words[q] not in STOPWORDS and words[q] not in PASSIVE_BEFORE
        return q if ok and _actor_key(words[q]) not in actors else None

    candidates = list(range(min(3, len(words))))
    candidates += [p + 1 for p, w in enumerate(words[:-1]) if w in _CLAUSE_OPENERS]
    candidates += [p for p in range(len(words)) if p + 1 < len(words) and words[p + 1] in ACTOR_AUXILIARIES]
    for p in candidates:
        q = verb_after(p)
        subject = _subject_at(words, p, actors, q) if q is not None else None
        if subject:
            return subject
    return None


def _concept_actor(
    segments: tuple[tuple[tuple[str, ...], bool], ...], index: int, pos: int, actors: frozenset[str]
) -> frozenset[str] | None:
    """Who the concept says does the verb at ``pos`` of segment ``index``: the actor right
    before it, with the actors joined before it ("[a clinic where] patients and therapists can
    message": the last word of each segment joined before, while they are actors); or, when the
    verb opens a segment joined to the one before, that segment's subject; else None."""
    words, joined = segments[index]
    doer = _doer(words, pos, actors)
    if doer:
        found = set(doer)
        k = index - 1
        while k >= 0 and segments[k + 1][1] and segments[k][0] and _actor_key(segments[k][0][-1]) in actors:
            found.add(_actor_key(segments[k][0][-1]))
            if not all(_actor_key(w) in actors for w in segments[k][0]):
                break
            k -= 1
        return frozenset(found)
    if pos == 0 and joined and index > 0:
        return _segment_subject(segments[index - 1][0], actors)
    return None


def _keys_after(segments: tuple[tuple[tuple[str, ...], bool], ...], index: int, pos: int) -> set[str]:
    """The keys after the verb in its segment and in the segments joined after it ("release |
    or quarantine a delivery")."""
    keys = {word_key(w) for w in segments[index][0][pos + 1 :]}
    k = index + 1
    while k < len(segments) and segments[k][1]:
        keys.update(word_key(w) for w in segments[k][0])
        k += 1
    return keys


def _wrong_actors(items: list[_Item], concept: str, defects: list[str]) -> None:
    """An English FR whose actor the concept names as a participant but gives this capability
    to someone else: the FR's verb (the first key of what it lets the actor do, not a common
    verb) occurs once in the concept, followed there by one more of the FR's keys; the concept's
    actor for it is known (:func:`_concept_actor`; actor words: ``PEOPLE`` and the FR actor heads
    the concept names); and none of the FR's actor words is that actor. Generic actors, and
    actors the concept never names (a synonym, a narrower role), are never charged."""
    frs = [(item, _fr_actor(item)) for item in items if item.category == "functional_requirements"]
    index = _verb_index(concept)
    named = frozenset(p[0] for _, p in frs if p and p[0] in index)
    actors = _PEOPLE_KEYS | (named - _GENERIC_ACTORS)
    segments = _sentence_segments(concept)
    for item, parsed in frs:
        if not parsed or parsed[0] in _GENERIC_ACTORS or parsed[0] not in index:
            continue
        head, actor_words, keys = parsed
        hits = index.get(keys[0], []) if keys and keys[0] not in _NOT_VERB_KEYS else []
        if len(hits) != 1 or not set(keys[1:]) & _keys_after(segments, *hits[0]):
            continue  # not located once, or only the verb shared: another capability
        subject = _concept_actor(segments, *hits[0], actors)
        if subject and not actor_words & subject:
            defects.append(f"wrong_actor:{item.rid}")


_VACUOUS_KEYS = frozenset(map(word_key, VACUOUS | GENERIC_WORDS))


def _filler(items: list[_Item], defects: list[str]) -> None:
    """A filler phrase, or nothing but generic and vacuous words ("The system shall do what
    the product does")."""
    for item in items:
        if item.uses(FILLER) or item.keys <= _VACUOUS_KEYS:
            defects.append(f"filler:{item.rid}")


#: "clients and clients", "loan-and-loan system": a content word joined to itself
_SELF_JOINED_RE = re.compile(r" ([^\W\d_]{3,}) (?:and|or|y|o) \1 ")
#: a two-word phrase of content words written this many times in one sentence is garbled
GARBLED_REPEATS = 3


def _garbled_phrases(item: _Item) -> set[str]:
    """The words that make ``item`` garbled: a content word joined to itself ("for clients
    and clients"), or a phrase of two content words written :data:`GARBLED_REPEATS` times
    ("the patient text in the patient text section of the patient text tool")."""
    found = {m[0].strip() for m in _SELF_JOINED_RE.finditer(item.padded) if m[1] not in _DROP}
    words = item.padded.split()
    pairs = Counter(
        (a, b) for a, b in zip(words, words[1:]) if len(a) > 2 and len(b) > 2 and a not in _DROP and b not in _DROP
    )
    return found | {" ".join(pair) for pair, n in pairs.items() if n >= GARBLED_REPEATS}


def _garbled(items: list[_Item], doc: Mapping[str, Any], defects: list[str]) -> None:
    """Garbled sentences, the title and description included; each garbling is charged once
    per document (a product named "loan-and-loan system" in every NFR is one mistake)."""
    heads = [_Item(key, key, doc[key]) for key in ("title", "description") if isinstance(doc.get(key), str)]
    seen: set[str] = set()
    for item in heads + items:
        phrases = _garbled_phrases(item)
        if phrases - seen:
            defects.append(f"garbled:{item.rid}")
        seen |= phrases


def content_of_document(doc: Mapping[str, Any], concept: str | None = None) -> Content:
    """The content score of a parsed document (see the module docstring and README)."""
    items, missing = _items(doc)
    defects = [f"missing_category:{name}" for name in missing]
    if not items:
        return Content(0.0, tuple(defects), None)
    dup = _duplicates(items, defects)
    nfrs = [(i, it) for i, it in enumerate(items) if it.category == "non_functional_requirements"]
    cons = [(i, it) for i, it in enumerate(items) if it.category == "constraints"]
    _nfr_defects(nfrs, defects)
    _constraint_defects(cons, dup, defects)
    _filler(items, defects)
    _garbled(items, doc, defects)
    coverage = None
    if isinstance(concept, str) and concept.strip():
        concept_q, segments = _concept_facts(concept[:20000])
        stated = _number_defects(doc, cons, concept_q, defects)
        _dropped_limits(doc, items, stated, concept_q, defects)
        _dropped_rule(doc, items, concept[:20000], defects)
        _invented_constraints(cons, dup, concept, defects)
        _unfit_platforms(items, dup, concept, defects)
        _unstated_facts(doc, items, concept[:20000], defects)
        _wrong_actors(items, concept[:20000], defects)
        frs = [it for it in items if it.category == "functional_requirements"]
        head = " ".join(doc[k] for k in ("title", "description") if isinstance(doc.get(k), str))
        coverage = _coverage(frs, _keys(fold(head)), segments, defects)
    penalty = sum(DEFECTS[code.split(":", 1)[0]][0] for code in defects)
    if coverage is not None:
        penalty += COVERAGE_WEIGHT * (1.0 - coverage)
    return Content(round(min(1.0, max(0.0, 1.0 - penalty)), 6), tuple(defects), coverage)
