"""Score a requirements document on the 6.5-point rubric (normalised to [0, 1])."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from . import rules
from .content import content_of_document
from .grounding import grounding_of_document
from .parse import CATEGORIES, FIELDS, ParseError, parse

__all__ = ["COMPONENTS", "DEFAULT_THRESHOLD", "MAX_POINTS", "Score", "score"]

DEFAULT_THRESHOLD = 0.72

_SHORT = {"functional_requirements": "fr", "non_functional_requirements": "nfr", "constraints": "constraints"}
COMPLETENESS_PER_FIELD = 0.2

#: component name -> maximum points, in breakdown order
COMPONENTS: Mapping[str, float] = MappingProxyType(
    {
        "completeness": 1.0,
        "title": 0.5,
        "description": 0.5,
        **{f"{_SHORT[c]}_{part}": 0.5 for c in CATEGORIES for part in ("list", "count", "ids")},
    }
)
MAX_POINTS = 6.5
_ZERO = MappingProxyType(dict.fromkeys(COMPONENTS, 0.0))


@dataclass(frozen=True)
class Score:
    """Result of ``score``: ``total`` in [0, 1] = ``points`` / 6.5.

    ``breakdown`` maps each component (see ``COMPONENTS``) to the points it got;
    ``grounding`` (None without a concept) is reported beside, not inside, the total;
    ``content`` in [0, 1] is the second number beside it (what a business analyst sees:
    duplicates, misplaced requirements, contradicted numbers, uncovered capabilities), with
    ``defects`` naming each one and the requirement IDs involved (see ``DEFECTS``);
    ``error`` says why the input could not be parsed (None when it could).
    """

    total: float
    points: float
    breakdown: Mapping[str, float] = field(default_factory=lambda: _ZERO)
    grounding: float | None = None
    error: str | None = None
    content: float = 0.0
    defects: tuple[str, ...] = ()

    def passed(self, threshold: float = DEFAULT_THRESHOLD) -> bool:
        return self.total >= threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "points": self.points,
            "breakdown": dict(self.breakdown),
            "grounding": self.grounding,
            "content": self.content,
            "defects": list(self.defects),
            "error": self.error,
        }


def _rate(doc: dict[str, Any]) -> dict[str, float]:
    get = doc.get
    title, description = get("title"), get("description")
    completeness = sum(COMPLETENESS_PER_FIELD for key in FIELDS if rules.non_empty(get(key)))
    breakdown = {
        "completeness": round(completeness, 1),
        "title": 0.5 if rules.title_ok(title) else 0.0,
        "description": 0.5 if rules.description_ok(description, title) else 0.0,
    }
    for category in CATEGORIES:
        value = get(category)
        name = _SHORT[category]
        valid = [rules.requirement_ok(item) for item in value] if isinstance(value, list) else []
        breakdown[f"{name}_list"] = 0.5 if rules.category_list_ok(value, valid) else 0.0
        breakdown[f"{name}_count"] = 0.5 if rules.category_count_ok(value, valid) else 0.0
        ok = rules.category_ids_ok(value, rules.ID_PREFIXES[category])
        breakdown[f"{name}_ids"] = 0.5 if ok else 0.0
    return breakdown


def _zero(error: str, concept: str | None) -> Score:
    ground = grounding_of_document({}, concept) if concept is not None else None
    return Score(
        total=0.0, points=0.0, breakdown=_ZERO, grounding=ground, error=error, content=0.0, defects=("unparseable",)
    )


def score(doc_or_text: Any, concept: str | None = None) -> Score:
    """Score raw model output (str/bytes), a document dict or a dataset-v2 fields mapping.

    Never raises: unparseable input scores 0 (total and content) with ``error`` set.
    ``concept`` feeds ``grounding`` and the concept-dependent content rules (contradicted
    numbers, coverage); it never enters ``total``.
    """
    try:
        doc = parse(doc_or_text)
    except ParseError as exc:
        return _zero(str(exc), concept)
    try:
        breakdown = _rate(doc)
        ground = grounding_of_document(doc, concept) if concept is not None else None
        found = content_of_document(doc, concept)
    except Exception as exc:  # noqa: BLE001 - a metric must never crash a training run
        return _zero(f"internal error: {type(exc).__name__}: {exc}"[:300], None)
    points = round(sum(breakdown.values()), 1)
    return Score(
        total=round(points / MAX_POINTS, 6),
        points=points,
        breakdown=MappingProxyType(breakdown),
        grounding=ground,
        error=None,
        content=found.content,
        defects=found.defects,
    )
