"""Rendering reports: Markdown for comparison / benchmark reports, the compact text table."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

from ba_io import one_line

__all__ = [
    "BENCHMARK_MD_HEADING",
    "COMPARISON_MD_HEADING",
    "comparison_markdown",
    "names_output",
    "tag_output",
    "benchmark_markdown",
    "summary_table",
    "summary_tables",
    "report_kind",
]


#: the comment a page written beside a JSON report carries on its second line, naming that
#: report (campaign 32: `ba-eval failures -o F.json` and `-o F` share F.md and F.html, and
#: the second run replaced the first one's, exit 0)
_OUTPUT_TAG = re.compile(r'<!-- ba-eval output: ("(?:[^"\\]|\\.)*") -->')


def tag_output(text: str, out: str | os.PathLike[str]) -> str:
    """``text`` (a Markdown or HTML page) with a comment naming the report ``out`` after its
    first line, where :func:`names_output` looks for it."""
    name = json.dumps(os.path.basename(os.fspath(out))).replace(">", "\\u003e")  # never ends the comment
    comment = f"<!-- ba-eval output: {name} -->"
    first, _, rest = text.partition("\n")
    return f"{first}\n{comment}\n{rest}"


def names_output(ours: Callable[[str], bool], out: str | os.PathLike[str]) -> Callable[[str], bool]:
    """A recogniser for ``ba_io.check_side_output``: ``ours`` says the page is this command's,
    and its comment (:func:`tag_output`) names ``out``, or no report (a page written before
    the comment)."""
    name = os.path.basename(os.fspath(out))

    def check(path: str) -> bool:
        if not ours(path):
            return False
        with open(path, encoding="utf-8", errors="replace") as f:
            f.readline()
            m = _OUTPUT_TAG.fullmatch(f.readline().rstrip("\n"))
        return m is None or json.loads(m.group(1)) == name

    return check


def _num(x: Any, fmt: str = "{:.3f}") -> str:
    if x is None:
        return "n/a"
    return fmt.format(x) if abs(x) < 1e9 else f"{x:.3g}"  # a table cell, never 300 digits


def _ci(ci: Sequence[float] | None) -> str:
    return "n/a" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.0f}%"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return out


def _components_table(models: Sequence[dict], key: str) -> list[str]:
    comps = list(models[0]["component_pass_rates"]) if models else []
    rows = [[c] + [_pct(m["component_pass_rates"].get(c)) for m in models] for c in comps]
    return _table(["component"] + [m[key] for m in models], rows)


def _defects_table(models: Sequence[dict], key: str) -> list[str]:
    kinds = sorted({k for m in models for k in (m.get("defect_rates") or {})})
    if not kinds:
        return []
    rows = [[k] + [_pct((m.get("defect_rates") or {}).get(k, 0.0)) for m in models] for k in kinds]
    return ["", "## Content defects (share of documents with at least one)", ""] + _table(
        ["defect"] + [m[key] for m in models], rows
    )


#: the first line of every comparison.md (how ba-eval compare knows an earlier one of its own)
COMPARISON_MD_HEADING = "# Model comparison"


def comparison_markdown(report: dict, png_name: str | None = "comparison.png") -> str:
    """Markdown for a comparison report (``comparison.md``)."""
    lines = [COMPARISON_MD_HEADING, ""]
    dropped = report.get("dropped", {}).get("n", 0)
    lines.append(
        f"Reference: **{report['reference']}**. Examples compared: **{report['n_examples']}** "
        f"({dropped} dropped: not present with all runs in every run file)."
    )
    lines.append("")
    lines += _models_table(report["models"])
    if report["comparisons"]:
        lines += _against_table(report)
    lines += ["", "## Component pass rates (share of answers with full points)", ""]
    lines += _components_table(report["models"], "name")
    lines += _defects_table(report["models"], "name")
    if png_name:
        lines += ["", f"![Per-example scores and component pass rates]({png_name})"]
    if report.get("method"):
        lines += ["", "## Method", ""]
        lines += [f"- **{k}**: {v}" for k, v in report["method"].items()]
    return "\n".join(lines) + "\n"


_MODEL_COLUMNS = [
    "model", "spec", "runs", "total", "std across runs", "95% CI", "content", "content 95% CI", "grounding",
    "runaway", "distinct outputs", "YAML valid", "tokens/s",
]  # fmt: skip


def _models_table(models: list[dict]) -> list[str]:
    """One row per model: total and content with CIs, grounding, runaway, speed."""
    rows = [
        [
            m["name"],
            f"`{m.get('model', '')}`",
            m["runs"],
            _num(m["mean"]),
            _num(m["std_across_runs"]),
            _ci(m["ci95"]),
            _num(m.get("content_mean")),
            _ci(m.get("content_ci95")),
            _num(m.get("mean_grounding")),
            _pct(m.get("runaway_rate")),
            _num(m.get("distinct_output_rate"), "{:.2f}"),
            _pct(m.get("yaml_valid_rate")),
            _num(m.get("completion_tokens_per_s"), "{:.1f}"),
        ]
        for m in models
    ]
    return _table(_MODEL_COLUMNS, rows)


def _against_table(report: dict) -> list[str]:
    """Each candidate against the reference (paired tests per metric), the decisions and the rule."""
    lines = ["", f"## Against {report['reference']}", ""]
    rows = []
    for c in report["comparisons"]:
        for metric, figures in (("total", c), ("content", c.get("content"))):
            if not figures:
                continue
            w = figures["wilcoxon"]
            rows.append(
                [
                    c["candidate"],
                    metric,
                    f"{figures['mean_diff'] * 100:+.1f}",
                    _num(w["statistic"], "{:g}"),
                    _num(w["p_value"], "{:.3g}"),
                    w["method"],
                    _num(figures["cohens_dz"], "{:.2f}"),
                    _num(figures.get("hedges_gz"), "{:.2f}"),
                    ("yes" if c.get("adopt") else "no") if metric == "total" else "",
                ]
            )
    lines += _table(
        ["candidate", "metric", "mean diff (points)", "Wilcoxon W", "p", "method", "d_z", "g_z", "adopt"], rows
    )
    lines += ["", "### Decisions", ""]
    for c in report["comparisons"]:
        lines.append(f"- {c['decision']}")
        notes = list(c.get("effect_size_notes") or [])
        if c["wilcoxon"].get("note"):
            notes.insert(0, "Wilcoxon: " + c["wilcoxon"]["note"])
        lines += [f"  - {n}" for n in notes]
    lines += ["", f"Rule: {report.get('decision_rule', '')}"]
    return lines


#: the first line of a benchmark report's Markdown (how a later run knows the file is one)
BENCHMARK_MD_HEADING = "# Model selection benchmark"


def benchmark_markdown(report: dict) -> str:
    """Markdown for a benchmark report (``select.md``)."""
    lines = [
        BENCHMARK_MD_HEADING,
        "",
        f"Dataset: `{report['dataset']}`. Threshold: {report['threshold']}.",
        "",
    ]
    rows = []
    for m in report["models"]:
        rows.append(
            [
                f"`{m['model']}`",
                m["n"],
                _num(m["mean_score"]),
                _num(m["std_score"]),
                _ci(m.get("ci95")),
                _num(m.get("content_mean")),
                _ci(m.get("content_ci95")),
                _pct(m.get("runaway_rate")),
                _pct(m["yaml_valid_rate"]),
                _num(m.get("mean_grounding")),
                f"{m['elapsed_s']:.1f}",
                _num(m["completion_tokens_per_s"], "{:.1f}"),
                _num(m.get("peak_rss_mb"), "{:.0f}"),
                "yes" if m.get("passes_threshold") else "no",
            ]
        )
    lines += _table(
        [
            "model",
            "n",
            "mean score",
            "std",
            "95% CI",
            "content",
            "content 95% CI",
            "runaway",
            "YAML valid",
            "grounding",
            "elapsed s",
            "tokens/s",
            "peak RSS MB",
            "passes",
        ],
        rows,
    )
    lines += [
        "",
        f"**Decision:** {report.get('decision', '')}",
        "",
        "## Component pass rates (share of answers with full points)",
        "",
    ]
    lines += _components_table(report["models"], "model")
    lines += _defects_table(report["models"], "model")
    if report.get("method"):
        lines += ["", "## Method", ""]
        lines += [f"- **{k}**: {v}" for k, v in report["method"].items()]
    return "\n".join(lines) + "\n"


def report_kind(report: dict) -> str:
    """``"comparison"`` or ``"benchmark"``; ValueError for anything else."""
    if isinstance(report, dict) and "comparisons" in report and "reference" in report:
        return "comparison"
    if isinstance(report, dict) and "selected" in report and "threshold" in report:
        return "benchmark"
    raise ValueError("not a comparison or benchmark report")


def summary_table(report: dict, label: str | None = None) -> str:
    """A compact fixed-width table: model, total and content with 95% CIs, grounding,
    runaway rate, completion tokens/s (then the decisions)."""
    return summary_tables([(label, report)])


def summary_tables(reports: Sequence[tuple[str | None, dict]]) -> str:
    """One table over several reports, e.g. the validation split and the curated set; a
    labelled report gets a ``set`` column."""
    rows, notes = [], []
    labelled = any(label for label, _ in reports)
    for label, report in reports:
        kind = report_kind(report)
        for m in report["models"]:
            name = m["name"] if kind == "comparison" else m["model"]
            mean = m["mean"] if kind == "comparison" else m["mean_score"]
            row = [one_line(label or "")] if labelled else []
            rows.append(
                row
                + [
                    one_line(name),
                    one_line(str(m.get("n", report.get("n_examples", "")))),
                    _num(mean),
                    _ci(m.get("ci95")),
                    _num(m.get("content_mean")),
                    _ci(m.get("content_ci95")),
                    _num(m.get("mean_grounding")),
                    _pct(m.get("runaway_rate")),
                    _num(m.get("completion_tokens_per_s"), "{:.1f}"),
                ]
            )
        prefix = f"[{one_line(label)}] " if label else ""
        if kind == "comparison":
            notes += [prefix + one_line(str(c["decision"])) for c in report["comparisons"]]
        elif report.get("decision"):
            notes.append(prefix + one_line(str(report["decision"])))
    header = (["set"] if labelled else []) + [
        "model",
        "n",
        "total",
        "95% CI",
        "content",
        "95% CI",
        "grounding",
        "runaway",
        "tokens/s",
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    first = 1 if labelled else 0
    fmt = "  ".join(("{:<%d}" if i <= first else "{:>%d}") % w for i, w in enumerate(widths))
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*r) for r in rows]
    return "\n".join(out + notes)
