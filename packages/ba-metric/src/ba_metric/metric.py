"""DSPy-compatible metric (dspy is not imported: predictions are read by duck typing)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .parse import FIELDS
from .score import DEFAULT_THRESHOLD, score

__all__ = ["OBJECTIVES", "ba_requirements_metric", "prediction_document"]

#: what the DSPy metric returns: the rubric total, the content score, or their mean
OBJECTIVES = ("total", "content", "mean")

#: fields that may hold the whole document as one YAML/JSON text (or mapping), in order
WHOLE_DOCUMENT_FIELDS = ("requirements", "document", "text", "yaml", "output", "answer", "completion")


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    try:
        return getattr(obj, name, None)
    except Exception:  # noqa: BLE001 - odd __getattr__ implementations
        return None


def prediction_document(pred: Any, _depth: int = 0) -> Any:
    """What to score from a prediction: text, bytes, or a fields mapping.

    A string/bytes is the document text. A mapping or an object with attributes (such as
    ``dspy.Prediction``) with any of the five document fields gives those fields (strings or
    lists); otherwise the first of ``WHOLE_DOCUMENT_FIELDS`` that is set holds the document.
    """
    if pred is None or isinstance(pred, (str, bytes, bytearray)):
        return pred
    fields = {}
    for name in FIELDS:
        value = _get(pred, name)
        if value is not None:
            fields[name] = value
    if fields:
        return fields
    if _depth < 3:
        for name in WHOLE_DOCUMENT_FIELDS:
            value = _get(pred, name)
            if value is not None:
                return prediction_document(value, _depth + 1)
    return pred


def ba_requirements_metric(
    example: Any,
    pred: Any,
    trace: Any = None,
    pred_name: Any = None,
    pred_trace: Any = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    objective: str = "total",
) -> float | bool:
    """DSPy metric: the ``objective`` (float); with ``trace`` set, ``objective >= threshold``.

    ``objective`` is ``"total"`` (the rubric total, the default), ``"content"`` (the content
    score) or ``"mean"`` ((total + content) / 2: an optimiser cannot then buy format with
    content or the reverse). ``example.concept``, when present, feeds the concept-dependent
    content rules; it never enters the total. ``pred_name`` and ``pred_trace`` are accepted
    for GEPA-style callers and ignored. Never raises (an unknown ``objective`` is a
    ``ValueError`` raised before anything is scored).
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    try:
        document = prediction_document(pred)
    except Exception:  # noqa: BLE001 - a metric must never crash an optimisation run
        document = None
    concept = _get(example, "concept") if objective != "total" else None
    result = score(document, concept if isinstance(concept, str) else None)
    value = {"total": result.total, "content": result.content, "mean": round((result.total + result.content) / 2, 6)}[
        objective
    ]
    if trace is not None:
        return value >= threshold
    return value
