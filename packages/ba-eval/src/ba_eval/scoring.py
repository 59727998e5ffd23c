"""Scoring predictions with ba-metric, and the per-model aggregates built on the scores."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import ba_metric

__all__ = [
    "score_row",
    "runaway_rate",
    "defect_rates",
    "component_pass_rates",
    "yaml_valid_rate",
    "mean_grounding",
    "distinct_output_rate",
    "tokens_per_second",
]


def score_row(row: dict, threshold: float = ba_metric.DEFAULT_THRESHOLD) -> dict:
    """A copy of a prediction row with ``score``, ``breakdown``, ``grounding``, ``content``,
    ``defects``, ``passed`` (a scored-prediction row) and ``parse_error`` (None when
    ba_metric could parse it): ba-metric's one row scorer on the raw ``text``, so fences and
    prose around the YAML are handled exactly as the metric handles them everywhere else.
    """
    return ba_metric.score_row(row, field="text", threshold=threshold, with_error=True)


#: finish reasons of a generation that did not end by itself
RUNAWAY = frozenset({"length", "loop"})


def runaway_rate(scored: Sequence[dict]) -> float:
    """Share of generations that did not end the document themselves: stopped at
    max_new_tokens (``finish_reason == "length"``) or cut as a repeated-line loop
    (``"loop"``, see ba_llm.stopping); rows without a finish reason count as ended."""
    return sum(1 for r in scored if r.get("finish_reason") in RUNAWAY) / len(scored) if scored else 0.0


#: per defect kind and per rubric component, the share of rows: ba-metric owns both rules
defect_rates = ba_metric.defect_rates
component_pass_rates = ba_metric.component_pass_rates


def yaml_valid_rate(scored: Sequence[dict]) -> float:
    """Share of rows whose text ba_metric could parse into a document."""
    return sum(1 for r in scored if r.get("parse_error") is None) / len(scored) if scored else 0.0


def mean_grounding(scored: Iterable[dict]) -> float | None:
    """Mean grounding over rows that have one (None when none has)."""
    values = [r["grounding"] for r in scored if r.get("grounding") is not None]
    return sum(values) / len(values) if values else None


def distinct_output_rate(texts_per_run: Sequence[Sequence[str]]) -> float:
    """Share of distinct texts across examples, averaged over runs.

    Texts are compared after stripping surrounding whitespace. A model that writes the
    same document for every concept scores 1/n; one that never repeats itself scores 1.
    """
    rates = [len({t.strip() for t in texts}) / len(texts) for texts in texts_per_run if texts]
    return sum(rates) / len(rates) if rates else 0.0


def tokens_per_second(rows: Iterable[dict]) -> float | None:
    """Completion tokens per second of generation: sum(completion_tokens) / sum(latency_s).

    ba-llm splits a batch's wall time equally among its rows, so the latencies of a run
    add up to its generation time (model loading excluded). None when no time was spent.
    """
    rows = list(rows)
    seconds = sum(float(r.get("latency_s", 0.0)) for r in rows)
    if seconds <= 0:
        return None
    return sum(int(r.get("completion_tokens", 0)) for r in rows) / seconds
