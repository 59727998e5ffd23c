"""``ba-eval failures`` (phase 8.7, ``make iterate``): where a model's documents fail.

A model's predictions on generated concepts are scored with ba-metric and grouped by defect
kind (the part of a content defect code before ``:``) and by what the concept row says about
itself: ``domain``, ``structure`` (sentence shape), ``style`` and ``language``. A document
*fails* when ba-metric does not pass it or its content score is below ``content_below``.

The *targets* (:data:`TARGET_RULE`) are the worst groups per dimension: ``ba-datagen concepts
--focus`` draws the next round's training concepts from them.
"""

from __future__ import annotations

import html
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ba_io import DataError, iter_jsonl

from .datasets import PredictionFile, load_concepts, resolve_dataset
from .scoring import score_row

__all__ = ["DIMENSIONS", "TARGET_RULE", "analyse_failures", "failures_markdown", "failures_html"]

#: concept fields failures are grouped by -> the key of ``targets`` they feed
DIMENSIONS = {"domain": "domains", "structure": "structures", "style": None, "language": "languages"}
#: the most groups per dimension a round targets
MAX_TARGETS = {"domain": 4, "structure": 5, "language": 1}
MIN_GROUP = 2
TARGET_RULE = (
    "Per dimension (domain, structure, language), the groups of at least "
    f"{MIN_GROUP} documents whose failure share is above the overall one, worst first (failure share, "
    "then mean content), at most 4 domains, 5 structures and 1 language; a dimension with none "
    "is not restricted."
)


def _defect_kind(code: str) -> str:
    return code.split(":", 1)[0]


def _group_rows(scored: Sequence[dict], concepts: Mapping[str, dict], field: str) -> list[dict[str, Any]]:
    by: dict[str, list[dict]] = {}
    for r in scored:
        value = concepts[r["id"]].get(field)
        by.setdefault(str(value) if value is not None else "(none)", []).append(r)
    groups = []
    for value, rows in by.items():
        failing = sum(1 for r in rows if r["failed"])
        groups.append(
            {
                "value": value,
                "n": len(rows),
                "failing": failing,
                "failure_share": failing / len(rows),
                "mean_total": sum(r["score"] for r in rows) / len(rows),
                "mean_content": sum(r["content"] for r in rows) / len(rows),
            }
        )
    return sorted(groups, key=lambda g: (-g["failure_share"], g["mean_content"], g["value"]))


def _targets(groups: Mapping[str, list[dict]], overall_share: float) -> dict[str, list[str]]:
    targets: dict[str, list[str]] = {}
    for field, key in DIMENSIONS.items():
        if key is None:
            continue
        worst = [g for g in groups[field] if g["n"] >= MIN_GROUP and g["failure_share"] > overall_share]
        chosen = [g["value"] for g in worst[: MAX_TARGETS[field]]]
        if len(chosen) == len({g["value"] for g in groups[field]}):
            chosen = []  # every group is "worst": no restriction says the same
        targets[key] = chosen
    return targets


def analyse_failures(
    predictions: str | os.PathLike[str],
    concepts_path: str | os.PathLike[str],
    *,
    content_below: float = 0.85,
) -> dict[str, Any]:
    """The failure analysis of run 0 of ``predictions`` over the concept rows of
    ``concepts_path`` (failure-analysis schema).

    Raises:
        DataError: a prediction whose id is not a concept row, or no prediction at all.
    """
    pf = PredictionFile(predictions)
    load_concepts(concepts_path)  # ids and texts checked: one line naming a bad row
    concepts = {row["id"]: row for _, row in iter_jsonl(resolve_dataset(concepts_path))}
    ids = [i for i in pf.order if 0 in pf.examples[i]]
    if not ids:
        raise DataError(pf.path, None, "no run-0 prediction to analyse")
    unknown = [i for i in ids if i not in concepts]
    if unknown:
        raise DataError(
            pf.path, None, f"predictions for ids not in {os.fspath(concepts_path)}: {', '.join(unknown[:5])}"
        )
    scored = []
    for i in ids:
        s = score_row(pf.examples[i][0])
        s["failed"] = (not s["passed"]) or s["content"] < content_below
        scored.append(s)
    failing = [s for s in scored if s["failed"]]
    overall = len(failing) / len(scored)
    kinds = Counter(k for s in scored for k in {_defect_kind(c) for c in s.get("defects") or ()})
    groups = {field: _group_rows(scored, concepts, field) for field in DIMENSIONS}
    return {
        "predictions": os.fspath(predictions),
        "concepts": os.fspath(concepts_path),
        "model": pf.models[0] if pf.models else None,
        "n": len(scored),
        "content_below": content_below,
        "failing": len(failing),
        "failure_share": overall,
        "mean_total": sum(s["score"] for s in scored) / len(scored),
        "mean_content": sum(s["content"] for s in scored) / len(scored),
        "runaway": sum(1 for s in scored if s.get("finish_reason") in ("length", "loop")),
        "defects": [
            {"kind": k, "docs": n, "share": n / len(scored)}
            for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "groups": groups,
        "targets": _targets(groups, overall),
        "target_rule": TARGET_RULE,
        "failing_ids": [s["id"] for s in failing],
    }


def _table(rows: Iterable[Sequence[Any]], head: Sequence[str]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def _group_table_rows(groups: Sequence[dict]) -> list[list[Any]]:
    return [
        [
            g["value"],
            g["n"],
            g["failing"],
            f"{g['failure_share']:.0%}",
            f"{g['mean_total']:.3f}",
            f"{g['mean_content']:.3f}",
        ]
        for g in groups
    ]


#: how the .md and .html of an analysis begin: what `ba-eval failures` may replace beside its -o
FAILURES_MD_HEADING = "# Failure analysis"
FAILURES_HTML_MARKER = b"<title>Failure analysis</title>"


def failures_markdown(a: Mapping[str, Any]) -> str:
    """The analysis as Markdown: totals, defect kinds, each dimension's groups, the targets."""
    lines = [
        FAILURES_MD_HEADING,
        "",
        f"{a['n']} documents of `{a['model']}`: {a['failing']} fail ({a['failure_share']:.0%}; not passed "
        f"or content < {a['content_below']}); mean total {a['mean_total']:.3f}, content {a['mean_content']:.3f}, "
        f"{a['runaway']} runaway.",
        "",
        "## Defect kinds (documents with at least one)",
        "",
        *_table(([d["kind"], d["docs"], f"{d['share']:.0%}"] for d in a["defects"]), ("kind", "docs", "share")),
    ]
    head = ("value", "docs", "failing", "failure share", "mean total", "mean content")
    for field, groups in a["groups"].items():
        lines += ["", f"## By {field}", "", *_table(_group_table_rows(groups), head)]
    t = a["targets"]
    lines += ["", "## Targets of the next round", "", a["target_rule"], ""]
    lines += [f"- {key}: {', '.join(v) if v else '(all)'}" for key, v in t.items()]
    return "\n".join(lines) + "\n"


def failures_html(a: Mapping[str, Any]) -> str:
    """A self-contained HTML page of :func:`failures_markdown`'s tables."""
    e = html.escape

    def table(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
        th = "".join(f"<th>{e(h)}</th>" for h in head)
        trs = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><tr>{th}</tr>{trs}</table>"

    head = ("value", "docs", "failing", "failure share", "mean total", "mean content")
    parts = [
        "<!doctype html><meta charset='utf-8'>" + FAILURES_HTML_MARKER.decode(),
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}</style>",
        "<h1>Failure analysis</h1>",
        f"<p>{a['n']} documents of <code>{e(str(a['model']))}</code>: <b>{a['failing']}</b> fail "
        f"({a['failure_share']:.0%}); mean total {a['mean_total']:.3f}, content {a['mean_content']:.3f}, "
        f"{a['runaway']} runaway.</p>",
        "<h2>Defect kinds</h2>",
        table(("kind", "docs", "share"), ([d["kind"], d["docs"], f"{d['share']:.0%}"] for d in a["defects"])),
    ]
    for field, groups in a["groups"].items():
        parts += [f"<h2>By {e(field)}</h2>", table(head, _group_table_rows(groups))]
    parts += [f"<h2>Targets of the next round</h2><p>{e(a['target_rule'])}</p><ul>"]
    parts += [f"<li>{e(k)}: {e(', '.join(v) if v else '(all)')}</li>" for k, v in a["targets"].items()]
    parts += ["</ul>"]
    return "\n".join(parts) + "\n"
