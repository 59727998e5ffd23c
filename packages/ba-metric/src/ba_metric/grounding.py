"""Grounding: how much of a document is about its concept (reported beside the total).

Definition (README "Grounding"):

* words: runs of letters/digits (``[^\\W_]+``), lower-cased with Latin accents folded;
* a word's key: ``stem`` cut to its first six letters (``word_key``), so English and Spanish
  inflections meet;
* concept words: the keys of the concept's words minus 1-character words, numbers,
  ``STOPWORDS``, ``SPANISH_STOPWORDS`` and ``GENERIC_WORDS``;
* units: the title, the description and every requirement description (string values
  only; requirements are the mappings in the three category lists);
* a unit is grounded when the key of one of its words is a concept word;
* grounding = grounded units / units (0.0 when the document has no unit), or None when the
  concept has no concept word.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .parse import CATEGORIES, ParseError, parse

__all__ = [
    "GENERIC_WORDS",
    "SPANISH_STOPWORDS",
    "STOPWORDS",
    "concept_words",
    "fold",
    "grounding",
    "grounding_of_document",
    "stem",
    "word_key",
]

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
#: Spanish function words, dropped from concepts like ``STOPWORDS`` (Spanish concepts get
#: Spanish documents, see README "Language"); written without accents, and with them
#: where the accent is usual
SPANISH_STOPWORDS = frozenset(
    """de la el los las lo un una unos unas y o u e que en con por para del al se su sus
    es son ser sera será seran serán esta está estan están este esto estos estas ese esa
    cada como mas más muy sin sobre entre desde hasta cuando donde quien cual tambien
    también ya no si sí le les nos mi mis tu tus nuestro nuestra nuestros nuestras debe
    deben debera deberá deberan deberán podra podrá podran podrán puede pueden poder tener
    tiene tienen hay todo todos toda todas otro otra otros otras queremos quiere quieren
    necesitamos necesita hacer""".split()
)
GENERIC_WORDS = frozenset(
    """app apps application applications system systems platform platforms software tool
    tools solution solutions service services website websites site sites web online
    digital mobile feature features product products company companies business businesses
    organization organisations organizations organisation user users customer customers
    people person allow allows allowing enable enables enabling provide provides providing
    help helps helping use uses using used new based simple easy easily manage manages
    managing management want wants need needs make makes way ways like requirement
    requirements document aplicacion aplicación aplicaciones sistema sistemas plataforma
    plataformas herramienta servicio servicios web online digital movil móvil usuario
    usuarios cliente clientes empresa negocio permitir permite gestionar gestión gestion
    nuevo nueva requisito requisitos documento""".split()
)
_DROPPED = frozenset(
    w.translate(str.maketrans("áéíóúñ", "aeioun")) for w in STOPWORDS | SPANISH_STOPWORDS | GENERIC_WORDS
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


_FOLD = str.maketrans("áàâäãåéèêëíìîïóòôöõúùûüñçœæ", "aaaaaaeeeeiiiiooooouuuuncoa")


def fold(text: str) -> str:
    """Lower case with the Latin accents folded (``Gestión`` -> ``gestion``)."""
    return text.lower().translate(_FOLD)


@lru_cache(maxsize=65536)
def word_key(word: str) -> str:
    """A folded word's comparison key: ``stem``, one final vowel dropped from words of five
    letters or more, then cut to six letters, so ``reserve``, ``reservation``, ``reservas``
    and ``reservar`` meet, and so do ``cobro`` and ``cobre`` (English and Spanish)."""
    w = stem(word)
    if len(w) > 4 and w[-1] in "aeiou":
        w = w[:-1]
    return w[:6]


def _is_grounded(unit: str, words: frozenset[str]) -> bool:
    return not words.isdisjoint(map(word_key, _TOKEN_RE.findall(fold(unit))))


@lru_cache(maxsize=4096)
def concept_words(concept: str) -> frozenset[str]:
    """The keys (``word_key``) of a concept's content words (see module docstring)."""
    return frozenset(
        word_key(token)
        for token in _TOKEN_RE.findall(fold(concept))
        if len(token) > 1 and not token.isdigit() and token not in _DROPPED
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
