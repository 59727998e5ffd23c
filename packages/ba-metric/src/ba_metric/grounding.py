"""Grounding: how much of a document is about its concept (reported beside the total).

Definition (README "Grounding"):

* words: runs of letters/digits (``[^\\W_]+``), lower-cased;
* concept words: the concept's words minus 1-character words, numbers, ``STOPWORDS`` and
  ``GENERIC_WORDS``, each passed through ``stem``;
* units: the title, the description and every requirement description (string values
  only; requirements are the mappings in the three category lists);
* a unit is grounded when one of its stemmed words is a concept word;
* grounding = grounded units / units (0.0 when the document has no unit), or None when the
  concept has no concept word.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .parse import CATEGORIES, ParseError, parse

__all__ = ["GENERIC_WORDS", "STOPWORDS", "concept_words", "grounding", "grounding_of_document", "stem"]

_TOKEN_RE = re.compile(r"[^\W_]+")

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    etc few for from further had has have having he her here hers him his how i if in into
    is it its itself just me more most my no nor not now of off on once only or other our
    ours out over own same she should so some such than that the their theirs them then
    there these they this those through to too under until up us very via was we were what
    when where which while who whom why will with within without would you your yours
    shall must may might able e g eg ie one two""".split()
)
GENERIC_WORDS = frozenset(
    """app apps application applications system systems platform platforms software tool
    tools solution solutions service services website websites site sites web online
    digital mobile feature features product products company companies business businesses
    organization organisations organizations organisation user users customer customers
    people person allow allows allowing enable enables enabling provide provides providing
    help helps helping use uses using used new based simple easy easily manage manages
    managing management want wants need needs make makes way ways like requirement
    requirements document""".split()
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Light suffix stripping: plurals, -ing/-ed (undoubling a final consonant), final -e."""
    w = word
    if len(w) > 3:
        if w.endswith("sses"):
            w = w[:-2]
        elif w.endswith("ies") and len(w) > 4:
            w = w[:-3] + "y"
        elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
            w = w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz" and not w[-1].isdigit():
                w = w[:-1]
            break
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


def _is_grounded(unit: str, words: frozenset[str]) -> bool:
    return not words.isdisjoint(map(stem, _TOKEN_RE.findall(unit.lower())))


@lru_cache(maxsize=4096)
def concept_words(concept: str) -> frozenset[str]:
    """The stemmed content words of a concept (see module docstring)."""
    return frozenset(
        stem(token)
        for token in _TOKEN_RE.findall(concept.lower())
        if len(token) > 1
        and not token.isdigit()
        and token not in STOPWORDS
        and token not in GENERIC_WORDS
    )


def _units(doc: dict[str, Any]) -> list[str]:
    units = [doc[key] for key in ("title", "description") if isinstance(doc.get(key), str)]
    for category in CATEGORIES:
        value = doc.get(category)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and isinstance(item.get("description"), str):
                    units.append(item["description"])
    return units


def grounding_of_document(doc: dict[str, Any], concept: str | None) -> float | None:
    """Grounding of an already parsed document."""
    if not isinstance(concept, str):
        return None
    words = concept_words(concept)
    if not words:
        return None
    units = _units(doc)
    if not units:
        return 0.0
    grounded = sum(1 for unit in units if _is_grounded(unit, words))
    return round(grounded / len(units), 6)


def grounding(doc_or_text: Any, concept: str | None) -> float | None:
    """Grounding of raw text, bytes or a document mapping against a concept. Never raises."""
    try:
        doc = parse(doc_or_text)
    except ParseError:
        doc = {}
    return grounding_of_document(doc, concept)
