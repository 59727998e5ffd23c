"""Facts about the business a text states: head counts, ages, named languages and laws.

Used by the content score (``unstated_fact``) to find the facts a document states that its
concept never gives ("serve 10,000 users", "children aged 12 and over", "in English and
Spanish", "comply with GDPR"): a reader calls those invented. Text is expected lower-cased and
accent-folded (``grounding.fold``). A fact is a hashable tuple: ``("count", value)``, ``("age",
value)``, ``("language", code)`` or ``("law", name)`` (``lexicon.LAW_NAMES``: GDPR and RGPD are
one law). A count is a number in digits followed by a noun naming people;
a number right after a label ("Android 12 users", "grade 5 students", "in 2025") or a clock
time is not one, nor is an age under a threshold ("children under 13 years old") or an
object's age with a time unit ("invoices aged 90 days").
"""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache

from .grounding import SPANISH_STOPWORDS, STOPWORDS
from .lexicon import (
    COUNT_MODIFIERS,
    LANGUAGE_NAMES,
    LAW_NAMES,
    NOT_A_COUNT_AFTER,
    NOT_A_LANGUAGE_AFTER,
    PEOPLE,
    STANDARD_NAMES,
)
from .quantities import NUMBER_WORDS, parse_amount

__all__ = ["Fact", "concept_side", "facts", "name_rules", "rule_names", "supported"]

Fact = tuple[str, float] | tuple[str, str]

_NUMBER = r"\d{1,3}(?:(?:,|\.|\s)\d{3})+(?![.,]?\d)|\d+(?:[.,]\d+)?"
_SCALE = {
    "k": 1e3, "thousand": 1e3, "mil": 1e3, "m": 1e6, "million": 1e6, "millions": 1e6, "millones": 1e6,
    "millon": 1e6, "bn": 1e9, "billion": 1e9,
}  # fmt: skip
_SCALE_RE = "|".join(sorted(_SCALE, key=len, reverse=True))
_MODIFIERS = "|".join(sorted(COUNT_MODIFIERS, key=len, reverse=True))
_PEOPLE = "|".join(sorted(PEOPLE, key=len, reverse=True))
#: not after a word character, a separator, a currency, a slash, a colon (clock times) or a
#: digit and a space (the thousands of "10 000")
_BEFORE = r"(?<![\w.,$€£/:-])(?<!\d\s)"
_COUNT_RE = re.compile(
    rf"{_BEFORE}(?P<n>{_NUMBER})(?!:\d)(?:\s?(?P<s>{_SCALE_RE})\b)?\+?(?:\s+de)?"
    rf"\s+(?:(?:{_MODIFIERS})\s+){{0,2}}(?:{_PEOPLE})\b"
)
_TIME_UNITS = r"(?!\s?(?:days?|weeks?|months?|hours?|minutes?|seconds?|dias|semanas|meses|horas|minutos)\b)"
_AGE_RE = re.compile(
    rf"\baged\s(?P<a>\d{{1,3}})\b{_TIME_UNITS}|\bages\s(?P<b>\d{{1,3}})\b{_TIME_UNITS}"
    r"|(?<!under\s)(?<!below\s)(?<!up to\s)(?<![\w.,:])(?P<c>\d{1,3})(?:\s|-)years?(?:\s|-)olds?\b"
    r"|\bmayores\sde\s(?P<d>\d{1,3})\sanos\b"
    r"|(?<!menores\sde\s)(?<!menos\sde\s)(?<![\w.,:])(?P<e>\d{1,3})\sanos\sde\sedad\b"
)
_AGE_HINTS = ("aged", "ages", "old", "mayores", "edad")
_LANGUAGE_RE = re.compile(
    r"\b(?P<name>" + "|".join(sorted(LANGUAGE_NAMES, key=len, reverse=True)) + r")\b(?:\s(?P<next>\w+))?"
)
_LAW_GAP = "[\\s\\-\u2010-\u2014]+"  # a space or any dash between a law's words ("sarbanes-oxley")


def _law_pattern(name: str) -> str:
    return _LAW_GAP.join(re.escape(w).replace("'", "['\u2019]?") for w in re.split(r"[\s-]+", name))


def _law_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name)


_LAW_BY_KEY = {_law_key(name): law for name, law in LAW_NAMES.items()}
#: a word every law's name has one of (its acronym, or a word of its full name), so a text
#: naming no law is not searched for one
_LAW_HINTS = frozenset(
    """gdpr rgpd lopd lopdgdd hipaa ccpa cpra coppa ferpa sox sarbanes psd psd2 eidas protection
    proteccion privacy portability""".split()
)
#: a law's name (not the Red Sox)
_LAW_RE = re.compile(
    r"(?<!red )\b(?:" + "|".join(_law_pattern(n) for n in sorted(LAW_NAMES, key=len, reverse=True)) + r")\b"
)
_DIGIT_RE = re.compile(r"\d")
_YEAR_RE = re.compile(r"20[0-9]{2}")
_YEAR_AFTER = frozenset("in by since from until before after during en desde hasta antes durante".split())
_DIGITS_RE = re.compile(rf"(?<![\w.,])(?P<n>{_NUMBER})(?:\s?(?P<s>{_SCALE_RE})\b)?")
_COMPOUND_RE = re.compile(r"\btwenty[- ](one|two|three|four)\b")
_WORD_RE = re.compile(r"[^\W\d_]+")
_ONLY_SPANISH = SPANISH_STOPWORDS - STOPWORDS
_ONLY_ENGLISH = STOPWORDS - SPANISH_STOPWORDS


def _value(number: str, scale: str | None) -> float | None:
    try:
        return parse_amount(number) * _SCALE.get(scale or "", 1.0)
    except ValueError:
        return None


def _counts(folded: str) -> set[Fact]:
    found: set[Fact] = set()
    for m in _COUNT_RE.finditer(folded):
        before = folded[max(0, m.start() - 20) : m.start()].split()
        if before and before[-1] in NOT_A_COUNT_AFTER:
            continue  # a label: "android 12 users", "grade 5 students"
        if _YEAR_RE.fullmatch(m["n"]) and before and before[-1] in _YEAR_AFTER:
            continue  # a year: "in 2025 users will ..."
        value = _value(m["n"], m["s"])
        if value:
            found.add(("count", value))
    return found


def facts(folded: str, tokens: frozenset[str] | None = None) -> set[Fact]:
    """The head counts, ages, named languages and laws in a folded text (``tokens``: its words,
    when the caller has them, so a text naming no language or law is not searched for one)."""
    folded = folded.replace("\u00a0", " ").replace("\u202f", " ")
    found: set[Fact] = set()
    if _DIGIT_RE.search(folded):
        found |= _counts(folded)
        if any(hint in folded for hint in _AGE_HINTS):
            found.update(("age", float(next(g for g in m.groups() if g))) for m in _AGE_RE.finditer(folded))
    words = tokens if tokens is not None else frozenset(_WORD_RE.findall(folded))
    if not words.isdisjoint(LANGUAGE_NAMES):
        for m in _LANGUAGE_RE.finditer(folded):
            if m["next"] not in NOT_A_LANGUAGE_AFTER:  # "spanish law" names a place, not a language
                found.add(("language", LANGUAGE_NAMES[m["name"]]))
    if not words.isdisjoint(_LAW_HINTS):
        found.update(("law", _LAW_BY_KEY[_law_key(m[0])]) for m in _LAW_RE.finditer(folded))
    return found


#: each standard's names (``lexicon.STANDARD_NAMES``), not inside a word
_STANDARD_RES = tuple(
    (name, re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])")) for name, pattern in STANDARD_NAMES.items()
)
#: how a standard's number is written in its canonical name ("SOC II" is "soc 2")
_ROMAN = {"i": "1", "ii": "2"}
#: canonical names that need more than the standard's own name to be read back as it
_CANONICAL = {"ada": "ada compliance", "pcidss": "pci dss", "section508": "section 508", "en301549": "en 301 549"}


def _rule_spans(folded: str) -> list[tuple[int, int, str]]:
    """Where a folded text names a law (``LAW_NAMES``, by ``facts``' reading) or a standard
    (``STANDARD_NAMES``), with each one's canonical name, which reads back as the same law or
    standard: ``"gdpr"``, ``"iso 27001"``, ``"cfr 11"``, ``"soc 2"``, ``"ada compliance"``."""
    spans: list[tuple[int, int, str]] = []
    if any(hint in folded for hint in _LAW_HINTS):
        spans += [(m.start(), m.end(), _LAW_BY_KEY[_law_key(m[0])]) for m in _LAW_RE.finditer(folded)]
    for name, regex in _STANDARD_RES:
        for m in regex.finditer(folded):
            number = next((g for g in m.groups() if g), None)
            canonical = _CANONICAL.get(name, name)
            spans.append((m.start(), m.end(), f"{canonical} {_ROMAN.get(number, number)}" if number else canonical))
    spans.sort()
    kept: list[tuple[int, int, str]] = []
    for span in spans:  # the first of two overlapping names
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def rule_names(folded: str) -> frozenset[str]:
    """The canonical names of the laws and standards a folded text names (``content``'s
    ``dropped_limit:rule``): GDPR and RGPD are ``"gdpr"``, "PCI-DSS" and "payment card industry
    data security standard" ``"pci dss"``, "ISO/IEC 27001" ``"iso 27001"``."""
    return frozenset(name for _, _, name in _rule_spans(folded))


def name_rules(folded: str) -> str:
    """A folded text with each law or standard it names written as its canonical name, so that
    splitting the text at "and" or a comma cannot cut a name in two ("Health Insurance
    Portability and Accountability Act" -> "hipaa", "Food and Drug Administration" -> "fda")."""
    out, at = [], 0
    for start, end, name in _rule_spans(folded):
        out += [folded[at:start], f" {name} "]
        at = end
    return "".join(out) + folded[at:]


def _numbers(folded: str) -> tuple[float, ...]:
    numbers = {v for m in _DIGITS_RE.finditer(folded) if (v := _value(m["n"], m["s"]))}
    numbers.update(21.0 + ("one", "two", "three", "four").index(m[1]) for m in _COMPOUND_RE.finditer(folded))
    numbers.update(NUMBER_WORDS[w] for w in _WORD_RE.findall(folded) if w in NUMBER_WORDS)
    return tuple(sorted(numbers))


@lru_cache(maxsize=4096)
def concept_side(concept_folded: str) -> tuple[frozenset[Fact], tuple[float, ...], str]:
    """A folded concept's facts, its numbers (digits with k / thousand / million forms, or
    words: one to twenty-four, uno to veinticuatro, a dozen; sorted) and the language it is
    written in (``"es"`` when it has more Spanish-only than English-only function words)."""
    words = _WORD_RE.findall(concept_folded)
    spanish = sum(w in _ONLY_SPANISH for w in words)
    english = sum(w in _ONLY_ENGLISH for w in words)
    told = concept_folded.replace("\u00a0", " ").replace("\u202f", " ")
    return frozenset(facts(told)), _numbers(told), "es" if spanish > english else "en"


def supported(fact: Fact, concept_folded: str) -> bool:
    """Whether the concept gives ``fact``: a count within 10 % of one of its numbers, an age
    among its numbers, a language it names or is written in, a law it names."""
    told, numbers, language = concept_side(concept_folded)
    kind, value = fact
    if isinstance(value, str):
        return (kind == "language" and value == language) or fact in told
    if kind == "age":
        i = bisect_left(numbers, value)
        return i < len(numbers) and numbers[i] == value
    # |value - n| <= 0.1 n  <=>  value / 1.1 <= n <= value / 0.9
    i = bisect_left(numbers, value / 1.1)
    return i < len(numbers) and numbers[i] <= value / 0.9
