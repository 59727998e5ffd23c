"""Facts about the business a text states: head counts, ages and named languages.

Used by the content score (``unstated_fact``) to find the facts a document states that its
concept never gives ("serve 10,000 users", "children aged 12 and over", "in English and
Spanish"): a reader calls those invented. Text is expected lower-cased and accent-folded
(``grounding.fold``). A fact is a hashable tuple: ``("count", value, noun)``,
``("age", value)`` or ``("language", code)``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .grounding import SPANISH_STOPWORDS, STOPWORDS
from .lexicon import COUNT_MODIFIERS, LANGUAGE_NAMES, PEOPLE
from .quantities import NUMBER_WORDS, parse_amount

__all__ = ["Fact", "concept_numbers", "facts", "supported", "written_language"]

Fact = tuple[str, float, str] | tuple[str, float] | tuple[str, str]

_NUMBER = r"\d{1,3}(?:[,.]\d{3})+(?![.,]?\d)|\d+(?:\.\d+)?"
_SCALE = {"k": 1e3, "thousand": 1e3, "mil": 1e3, "million": 1e6, "millions": 1e6, "millones": 1e6, "millon": 1e6}
_SCALE_RE = "|".join(_SCALE)
_MODIFIERS = "|".join(sorted(COUNT_MODIFIERS, key=len, reverse=True))
_PEOPLE = "|".join(sorted(PEOPLE, key=len, reverse=True))
_COUNT_RE = re.compile(
    rf"(?<![\w.,$€£/-])(?P<n>{_NUMBER})(?:\s?(?P<s>{_SCALE_RE})\b)?\+?"
    rf"\s+(?:(?:{_MODIFIERS})\s+){{0,2}}(?P<noun>{_PEOPLE})\b"
)
_AGE_RE = re.compile(
    r"\baged?\s(?P<a>\d{1,3})\b|\bages\s(?P<b>\d{1,3})\b"
    r"|(?<![\w.,])(?P<c>\d{1,3})(?:\s|-)years?(?:\s|-)olds?\b"
    r"|\bmayores\sde\s(?P<d>\d{1,3})\b|(?<![\w.,])(?P<e>\d{1,3})\sanos\so\smas\b"
    r"|\bde\s(?P<f>\d{1,3})\sanos\sde\sedad\b"
)
_LANGUAGE_RE = re.compile(r"\b(?:" + "|".join(sorted(LANGUAGE_NAMES, key=len, reverse=True)) + r")\b")
_DIGITS_RE = re.compile(rf"(?<![\w.,])(?P<n>{_NUMBER})(?:\s?(?P<s>{_SCALE_RE})\b)?")
_WORD_RE = re.compile(r"[^\W\d_]+")
_ONLY_SPANISH = SPANISH_STOPWORDS - STOPWORDS
_ONLY_ENGLISH = STOPWORDS - SPANISH_STOPWORDS


def _value(number: str, scale: str | None) -> float | None:
    try:
        return parse_amount(number) * _SCALE.get(scale or "", 1.0)
    except ValueError:
        return None


def facts(folded: str) -> set[Fact]:
    """The head counts, ages and named languages in a folded text."""
    found: set[Fact] = set()
    if any(ch.isdigit() for ch in folded):
        for m in _COUNT_RE.finditer(folded):
            value = _value(m["n"], m["s"])
            if value is not None:
                found.add(("count", value, m["noun"]))
        for m in _AGE_RE.finditer(folded):
            found.add(("age", float(next(g for g in m.groups() if g))))
    found.update(("language", LANGUAGE_NAMES[m[0]]) for m in _LANGUAGE_RE.finditer(folded))
    return found


@lru_cache(maxsize=4096)
def concept_numbers(folded: str) -> frozenset[float]:
    """Every number a folded concept gives: in digits (``1,200``, ``1.200``, ``10k``) or as a
    word (one to twenty-four, uno to veinticuatro, a dozen)."""
    numbers = {v for m in _DIGITS_RE.finditer(folded) if (v := _value(m["n"], m["s"])) is not None}
    numbers.update(NUMBER_WORDS[w] for w in _WORD_RE.findall(folded) if w in NUMBER_WORDS)
    return frozenset(numbers)


@lru_cache(maxsize=4096)
def written_language(folded: str) -> str:
    """``"es"`` when a folded text has more Spanish-only than English-only function words,
    else ``"en"``: the language a concept is written in."""
    words = _WORD_RE.findall(folded)
    spanish = sum(w in _ONLY_SPANISH for w in words)
    english = sum(w in _ONLY_ENGLISH for w in words)
    return "es" if spanish > english else "en"


def supported(fact: Fact, concept_folded: str, concept_facts: set[Fact]) -> bool:
    """Whether the concept gives ``fact``: a count within 10 % of one of its numbers, an age
    among its numbers, a language it names or is written in."""
    kind, value = fact[0], fact[1]
    if kind == "language":
        return value == written_language(concept_folded) or fact in concept_facts
    numbers = concept_numbers(concept_folded)
    if not isinstance(value, float):
        return False
    if kind == "age":
        return value in numbers
    return any(abs(value - n) <= 0.1 * n for n in numbers if n > 0)
