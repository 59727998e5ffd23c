"""The per-domain vocabularies (package data ``data/domains.json``) and small text helpers.

A domain holds: ``orgs`` (who wants the product, with an article), ``products`` (product
kinds), ``actors`` (plural nouns), ``features`` (``[actor index, base-form verb phrase]``),
``regulations``, ``integrations`` (constraint verb phrases), ``legacy`` (what they use
today), ``records`` and ``retention_years`` (for retention requirements) and ``nfr``
(domain-specific non-functional requirements with a ``{product}`` field).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = [
    "PLATFORM_SETS",
    "actor_groups",
    "article",
    "cap",
    "domain_nfr",
    "domains",
    "join",
    "numbered",
    "platform_phrase",
]

#: share of concepts (English and Spanish) whose facts name a law or rule to comply with. People
#: rarely write one into a concept (3 of the 42 hand-written curated concepts do); at 0.55 the
#: teacher wrote a regulation NFR for about 40 % of the training concepts and the student wrote
#: GDPR lines into concepts that name no law (12 of 42 curated documents at seed 42, stop 56)
LAW_SHARE = 0.15
#: platform combinations a concept can target, with rough frequency by repetition
PLATFORM_SETS: tuple[tuple[str, ...], ...] = (
    ("iOS", "Android"),
    ("iOS", "Android"),
    ("web",),
    ("web",),
    ("web", "iOS", "Android"),
    ("web", "Android"),
    ("Android",),
    ("iOS",),
    ("Windows",),
    ("web", "Windows"),
)

_PLATFORM_WORDS = {"web": "the web", "Windows": "Windows desktops", "iOS": "iOS", "Android": "Android"}


@lru_cache(maxsize=1)
def domains() -> dict[str, dict[str, Any]]:
    """The domain vocabularies, keyed by domain name (sorted)."""
    text = resources.files("ba_datagen").joinpath("data/domains.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return dict(sorted(data.items()))


def join(items: Sequence[str], conj: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {conj} {items[-1]}"


def article(noun: str) -> str:
    """``noun`` with ``a`` or ``an`` in front."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def cap(text: str) -> str:
    """First character upper-cased, the rest untouched."""
    return text[:1].upper() + text[1:]


def platform_phrase(platforms: Sequence[str]) -> str:
    """``on iOS and Android``, ``on the web``, ``on the web and Windows desktops``."""
    return "on " + join([_PLATFORM_WORDS.get(p, p) for p in platforms])


def actor_groups(facts: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """``(actor, [features])`` in order of first appearance (``feature_actors`` pairs each
    feature with its actor)."""
    groups: dict[str, list[str]] = {}
    for actor, feature in zip(facts["feature_actors"], facts["features"]):
        groups.setdefault(actor, []).append(feature)
    return list(groups.items())


def domain_nfr(features: Sequence[str], dom: Mapping[str, Any]) -> str | None:
    """The domain NFR template for a concept's ``features`` (a vocabulary's ``nfr`` entries):
    the first one a chosen feature ``needs``, else None. A vocabulary has no general lines
    (until 2026-12-07 a domain's first line without ``needs`` was written when no feature
    needed one: "usable with gloves on a shop-floor tablet", "5,000 requests per minute";
    the concept gave no ground for them, and the student copied them into every domain)."""
    index = {text: i for i, (_, text) in enumerate(dom["features"])}
    chosen = {index[x] for x in features if x in index}
    return next((e["text"] for e in dom["nfr"] if chosen & set(e.get("needs") or ())), None)


def numbered(items: Sequence[Mapping[str, str]], prefix: str) -> list[dict[str, str]]:
    """``items`` with ids ``PREFIX001``, ``PREFIX002``, ... in front."""
    return [{"id": f"{prefix}{i:03d}", **item} for i, item in enumerate(items, start=1)]
