"""``ba-eval compare`` (phase 8.5): several models' prediction runs against a reference.

Per model and per metric (the rubric ``total`` and the ``content`` score): per-example
means over runs, the mean of those, a seeded percentile-bootstrap 95% CI (and for the
total the SD of per-run means); per candidate against the first (reference) model, for
each metric: a paired Wilcoxon signed-rank test and Cohen's d_z / Hedges' g_z on
per-example means; and the adoption decision (``DECISION_RULE``). See ``stats`` for the
conventions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ba_io import DataError, UsageError

from . import stats
from .datasets import PredictionFile
from .scoring import (
    component_pass_rates,
    defect_rates,
    distinct_output_rate,
    mean_grounding,
    runaway_rate,
    score_row,
    tokens_per_second,
    yaml_valid_rate,
)

__all__ = ["MIN_GAIN", "ALPHA", "METRICS", "Comparison", "parse_run_arg", "compare_runs", "decide"]

MIN_GAIN = 0.05  # 5 points on the [0, 1] scale
ALPHA = 0.05
_TOL = 1e-9  # so a gain of exactly 0.05 computed in floats (0.85 - 0.80) counts as 0.05
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z")

#: the two scores every comparison tests: row key -> report name
METRICS = {"score": "total", "content": "content"}
DECISION_RULE = (
    f"Adopt a candidate over the reference only when neither the total nor the content score is "
    f"significantly worse (a negative mean difference with two-sided paired Wilcoxon p < {ALPHA}) "
    f"and at least one of them is better: a mean gain of at least {MIN_GAIN * 100:.0f} points "
    f"({MIN_GAIN} on the [0, 1] scale) with p < {ALPHA}. Otherwise keep the reference, the simpler model."
)


def parse_run_arg(value: str) -> tuple[str, Path]:
    """``NAME=PATH`` -> ``(name, Path)``.

    Raises:
        UsageError: no ``=``, or a name that is not letters, digits, ``_ . -``.
    """
    name, sep, path = value.partition("=")
    if not sep or not path:
        raise UsageError(f"--run expects NAME=PREDICTIONS.jsonl, got {value!r}")
    if not _NAME_RE.match(name):
        raise UsageError(f"--run name {name!r}: use letters, digits, '_', '.', '-' (starting with a letter or digit)")
    return name, Path(path)


def _verdict(mean_diff: float, p_value: float) -> str:
    """``better``, ``worse`` or ``same`` for one metric under the decision rule."""
    if p_value < ALPHA and mean_diff >= MIN_GAIN - _TOL:
        return "better"
    if p_value < ALPHA and mean_diff < 0:
        return "worse"
    return "same"


def decide(candidate: str, reference: str, tests: dict[str, tuple[float, float, str]], n: int) -> tuple[bool, str]:
    """The decision rule, as a boolean and a sentence.

    Args:
        tests: per metric name (``total``, ``content``): (mean difference, p-value,
            Wilcoxon method).
    """
    verdicts = {m: _verdict(d, p) for m, (d, p, _) in tests.items()}

    def says(m: str) -> str:
        d, p, method = tests[m]
        return f"{m} {d * 100:+.1f} points (p = {p:.3g}, Wilcoxon {method})"

    facts = "; ".join(says(m) for m in tests) + f"; n = {n}"
    worse = [m for m, v in verdicts.items() if v == "worse"]
    better = [m for m, v in verdicts.items() if v == "better"]
    if better and not worse:
        return True, f"Adopt {candidate} over {reference}: {' and '.join(better)} better, nothing worse ({facts})."
    if worse:
        why = f"{' and '.join(worse)} significantly worse"
    else:
        why = f"neither score gained {MIN_GAIN * 100:.0f} points with p < {ALPHA}"
    return False, f"Keep {reference} (the simpler model) over {candidate}: {why} ({facts})."


@dataclass
class Comparison:
    """The result of :func:`compare_runs`.

    Attributes:
        report: the comparison-report JSON object.
        scored: per model name, its scored rows (common examples only).
    """

    report: dict
    scored: dict[str, list[dict]]


def _common_ids(names: Sequence[str], files: Sequence[PredictionFile]) -> tuple[list[str], dict]:
    complete = [set(f.complete_ids()) for f in files]
    common = [i for i in files[0].order if all(i in c for c in complete)]
    keep = set(common)
    by_file = {}
    for name, f, comp in zip(names, files, complete):
        by_file[name] = {
            "examples": len(f.order),
            "runs": f.runs,
            "incomplete_runs": len(f.order) - len(comp),
            "missing_elsewhere": len(comp - keep),
        }
    every = set().union(*(f.order for f in files))
    return common, {"n": len(every - keep), "by_file": by_file}


def _check_same_concepts(names, files, ids) -> None:
    ref = files[0]
    for f in files[1:]:
        for i in ids:
            a = next(iter(ref.examples[i].values()))["concept"]
            b = next(iter(f.examples[i].values()))["concept"]
            if a != b:
                raise DataError(
                    f.path,
                    None,
                    f"id {i!r} has another concept than in {ref.path} (run files must answer the same concepts)",
                )


def _model_summary(
    name: str,
    f: PredictionFile,
    ids: list[str],
    scored: list[dict],
    per_example: np.ndarray,
    per_example_content: np.ndarray,
    *,
    seed: int,
    n_bootstrap: int,
) -> dict:
    by_run: dict[int, list[dict]] = {}
    for r in scored:
        by_run.setdefault(r["run"], []).append(r)
    run_means = [float(np.mean([r["score"] for r in rows])) for _, rows in sorted(by_run.items())]
    low, high = stats.bootstrap_ci(per_example, n_resamples=n_bootstrap, seed=seed)
    c_low, c_high = stats.bootstrap_ci(per_example_content, n_resamples=n_bootstrap, seed=seed)
    modes = sorted({(r.get("decoding") or {}).get("mode", "unknown") for r in scored})
    return {
        "name": name,
        "model": f.models[0],
        "predictions": os.fspath(f.path),
        "runs": len(f.runs),
        "decoding": modes[0] if len(modes) == 1 else modes,
        "n": len(ids),
        "mean": float(np.mean(per_example)),
        "std_across_runs": stats.sample_std(run_means),
        "per_run_means": run_means,
        "ci95": [low, high],
        "content_mean": float(np.mean(per_example_content)),
        "content_ci95": [c_low, c_high],
        "mean_grounding": mean_grounding(scored),
        "runaway_rate": runaway_rate(scored),
        "defect_rates": defect_rates(scored),
        "distinct_output_rate": distinct_output_rate([[r["text"] for r in rows] for rows in by_run.values()]),
        "yaml_valid_rate": yaml_valid_rate(scored),
        "component_pass_rates": component_pass_rates(scored),
        "completion_tokens_per_s": tokens_per_second(scored),
    }


def compare_runs(
    runs: Sequence[tuple[str, str | os.PathLike[str]]], *, seed: int = 0, n_bootstrap: int = 10_000
) -> Comparison:
    """Compare prediction files; the first is the reference.

    Args:
        runs: ``(name, predictions.jsonl)`` pairs, names unique.
        seed: seeds the bootstrap (and the permutation test's generator).
        n_bootstrap: bootstrap resamples.

    Returns:
        A :class:`Comparison`.

    Raises:
        UsageError: no runs, repeated names, bad ``n_bootstrap``, a missing file.
        DataError: a bad prediction row, a file mixing several models, concepts that
            differ between files, or no example common to every file.
    """
    names, files, ids, dropped = _load_runs(runs, n_bootstrap)
    scored = {n: [score_row(r) for r in f.iter_rows(ids)] for n, f in zip(names, files)}
    per_example = _per_example_means(names, scored, ids)
    models = [
        _model_summary(
            n, f, ids, scored[n], per_example["score"][n], per_example["content"][n], seed=seed, n_bootstrap=n_bootstrap
        )
        for n, f in zip(names, files)
    ]
    ref = names[0]
    report = {
        "reference": ref,
        "n_examples": len(ids),
        "dropped": dropped,
        "models": models,
        "comparisons": [_against_reference(n, ref, per_example, len(ids), seed) for n in names[1:]],
        "decision_rule": DECISION_RULE,
        "method": _method(n_bootstrap, seed),
        "per_example": [
            {
                "id": i,
                "scores": {n: float(per_example["score"][n][k]) for n in names},
                "content": {n: float(per_example["content"][n][k]) for n in names},
            }
            for k, i in enumerate(ids)
        ],
    }
    return Comparison(report=report, scored=scored)


def _load_runs(
    runs: Sequence[tuple[str, str | os.PathLike[str]]], n_bootstrap: int
) -> tuple[list[str], list[PredictionFile], list[str], dict]:
    """The run names and files, the example ids every file has with all its runs, and the
    dropped ones; the checks of :func:`compare_runs`' Raises."""
    if not runs:
        raise UsageError("give at least one --run NAME=PREDICTIONS.jsonl")
    names = [n for n, _ in runs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UsageError(f"--run names must be unique; repeated: {', '.join(dup)}")
    if n_bootstrap < 1:
        raise UsageError(f"--bootstrap must be >= 1, got {n_bootstrap}")
    files = [PredictionFile(p) for _, p in runs]
    for f in files:
        if len(f.models) > 1:
            raise DataError(f.path, None, f"predictions of several models in one file ({', '.join(f.models)})")
    ids, dropped = _common_ids(names, files)
    if not ids:
        raise DataError(files[0].path, None, "no example has all its runs in every run file; nothing to compare")
    _check_same_concepts(names, files, ids)
    return names, files, ids, dropped


def _per_example_means(names: list[str], scored: dict[str, list[dict]], ids: list[str]) -> dict[str, dict]:
    """metric key -> model -> the per-example mean over that model's runs, in ``ids`` order."""
    per_example: dict[str, dict[str, np.ndarray]] = {}
    for key in METRICS:
        per_example[key] = {}
        for n in names:
            sums: dict[str, list[float]] = {}
            for r in scored[n]:
                sums.setdefault(r["id"], []).append(r[key])
            per_example[key][n] = np.array([np.mean(sums[i]) for i in ids])
    return per_example


def _against_reference(n: str, ref: str, per_example: dict[str, dict], n_ids: int, seed: int) -> dict[str, Any]:
    """One candidate against the reference: paired Wilcoxon and effect sizes per metric,
    and the adopt decision."""
    tests: dict[str, tuple[float, float, str]] = {}
    entry: dict[str, Any] = {"candidate": n}
    for key, metric in METRICS.items():
        w = stats.wilcoxon_paired(per_example[key][n], per_example[key][ref], seed=seed)
        es = stats.cohens_dz(per_example[key][n], per_example[key][ref])
        tests[metric] = (es.mean_diff, w.p_value, w.method)
        fields = {
            "mean_diff": es.mean_diff,
            "sd_diff": es.sd_diff,
            "wilcoxon": w.to_dict(),
            "cohens_dz": es.cohens_dz,
            "hedges_gz": es.hedges_gz,
            "effect_size_notes": list(es.notes),
        }
        if metric == "total":
            entry.update(fields)  # the total's figures stay at the top level, as before
        else:
            entry[metric] = fields
    adopt, sentence = decide(n, ref, tests, n_ids)
    entry.update(adopt=adopt, decision=sentence)
    return entry


def _method(n_bootstrap: int, seed: int) -> dict[str, str]:
    """How every figure of the report is computed, in words (the report's ``method``)."""
    return {
        "unit": "per-example mean score over a model's runs; only examples with every run in every file",
        "std_across_runs": "sample SD (ddof=1) of per-run mean scores; 0 with one run",
        "ci95": f"percentile bootstrap of the mean of per-example means, {n_bootstrap} resamples, "
        f"numpy default_rng(seed={seed})",
        "wilcoxon": "scipy.stats.wilcoxon on candidate - reference (rounded to 1e-12), two-sided, "
        "zero_method='wilcox', correction=False; exact when n <= 50 without zero/tied "
        "differences, else permutation (all sign flips) when n <= 13, else asymptotic",
        "cohens_dz": "mean(d) / SD(d), SD with ddof=1; 0 when mean(d) = 0; null with a note when SD(d) = 0 "
        "and mean(d) != 0 (infinite) or n < 2",
        "hedges_gz": "J * d_z with J = 1 - 3 / (4(n-1) - 1); null for n < 3",
        "content": "ba_metric content score (what a business analyst sees: duplicates, misplaced or "
        "unmeasurable NFRs, non-constraints, contradicted or invented numbers, unstated head counts, ages or "
        "languages, filler, garbled sentences, "
        "uncovered capabilities); same CI, test and effect sizes as the total, under 'content'",
        "runaway_rate": "share of generations that did not end the document themselves: stopped at "
        "max_new_tokens (finish_reason 'length') or cut as a repeated-line loop ('loop', ba_llm.stopping)",
        "defect_rates": "per defect kind, share of rows with at least one such defect",
        "grounding": "mean over rows of ba_metric grounding (share of document units sharing a content "
        "word with the concept)",
        "distinct_output_rate": "per run, distinct whitespace-stripped texts / examples; mean over runs",
        "completion_tokens_per_s": "sum(completion_tokens) / sum(latency_s) over the compared rows",
    }
