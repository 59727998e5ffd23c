"""``comparison.html``: the self-contained comparison report a person reads.

One file, no network access: the CSS and the small filter script are inline (a Content
Security Policy forbids anything else), the figure is a base64 data URI. Every piece of
model output is escaped with ``html.escape``; defects are highlighted on the requirement
they name.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ba_metric

__all__ = ["HTML_MARKER", "comparison_html", "write_comparison_html"]

#: the start of comparison.html's title (how ba-eval compare knows an earlier page of its own)
HTML_MARKER = b"<title>Model comparison: "

CATEGORIES = (
    ("functional_requirements", "Functional requirements", "FR"),
    ("non_functional_requirements", "Non-functional requirements", "NFR"),
    ("constraints", "Constraints", "C"),
)
#: defect kinds that name no requirement: listed under the document only
_DOCUMENT_LEVEL = frozenset({"uncovered", "missing_category", "unparseable"})

CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:16px 24px;color:#1d2330;
background:#f6f7f9}
h1{font-size:22px;margin:0 0 8px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d5d9e0;padding-bottom:4px}
h3{font-size:16px;margin:0 0 6px}
h4{font-size:13px;margin:10px 0 4px;text-transform:uppercase;letter-spacing:.04em;color:#4a5263}
table{border-collapse:collapse;background:#fff;margin:6px 0}
th,td{border:1px solid #d5d9e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eceff4;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto;max-width:100%}
.decision{background:#fff;border-left:4px solid #3b6fd8;padding:6px 10px;margin:6px 0}
.decision.adopt{border-color:#2e9d55}
.rule{color:#4a5263;font-size:13px}.muted{color:#6b7385}
img.plot{max-width:100%;height:auto;background:#fff;border:1px solid #d5d9e0}
.example{background:#fff;border:1px solid #d5d9e0;border-radius:6px;padding:12px 14px;margin:18px 0}
.concept{white-space:pre-wrap;background:#f1f4f8;border-radius:4px;padding:8px 10px;margin:0 0 10px}
.docs{display:grid;gap:12px;overflow-x:auto;padding-bottom:6px}
.doc{border:1px solid #d5d9e0;border-radius:6px;padding:8px 10px;min-width:0;overflow-wrap:anywhere;
background:#fcfcfd}
.doc-head{display:flex;flex-wrap:wrap;gap:6px;align-items:baseline;border-bottom:1px solid #e3e6eb;padding-bottom:4px;
margin-bottom:6px}
.doc-head .model{font-weight:700}.scores{font-variant-numeric:tabular-nums}
.badge{display:inline-block;font-size:11px;font-weight:700;border-radius:3px;padding:1px 6px;color:#fff;
background:#6b7385}
.badge.runaway{background:#b35c00}.badge.unparsed{background:#7a1f1f}.badge.dropped{background:#5a5a5a}
.doc-title{font-weight:700;font-size:15px}.doc-desc{margin:4px 0;padding:2px 4px}
ul.reqs{list-style:none;margin:0;padding:0}
.req{border:1px solid #e3e6eb;border-left:4px solid #c4cad4;border-radius:4px;padding:4px 6px;margin:4px 0}
.rid{font-family:ui-monospace,Menlo,Consolas,monospace;font-weight:700;margin-right:4px}
.prio{font-size:11px;border-radius:3px;padding:0 5px;background:#e3e6eb;margin-right:4px}
.prio-high{background:#f6d3cf}.prio-medium{background:#f8e9c2}.prio-low{background:#d9ecd9}
.has-defect{background:#ffd1e3;border-color:#d1105a;border-left-color:#d1105a}
.dlabel{display:inline-block;font-size:11px;font-weight:700;color:#fff;background:#d1105a;border-radius:3px;
padding:0 5px;margin:0 4px 2px 0;cursor:help;text-transform:none;letter-spacing:0;white-space:nowrap}
.dwith{font-size:11px;color:#a00d48;margin-right:6px;white-space:nowrap;text-transform:none}
h4.has-defect{border-left:4px solid #d1105a;padding:2px 6px}
.malformed{border-style:dashed;color:#7a1f1f;font-family:ui-monospace,monospace;white-space:pre-wrap}
ul.defects{margin:8px 0 0;padding-left:18px;font-size:13px}ul.defects code{color:#a00d48}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f1f4f8;border-radius:4px;padding:6px 8px;max-height:480px;
overflow:auto;font-size:12px}
.perr{color:#7a1f1f;font-weight:600}.empty{color:#6b7385;font-style:italic}
.toc td a{font-family:ui-monospace,monospace}
body.only-defects [data-defects="0"]{display:none}
"""
#: the only script on the page (its hash goes into the Content Security Policy)
SCRIPT = (
    "document.getElementById('only-defects').addEventListener('change',function(e){"
    "document.body.classList.toggle('only-defects',e.target.checked);});"
)


def _e(value: Any) -> str:
    """Any value as escaped text (attribute-safe)."""
    return html.escape("" if value is None else str(value), quote=True)


def _num(x: Any, fmt: str = "{:.3f}") -> str:
    return "n/a" if x is None else fmt.format(x)


def _pct(x: Any) -> str:
    return "n/a" if x is None else f"{x * 100:.0f}%"


def _ci(ci: Sequence[float] | None) -> str:
    return "n/a" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    """A table from already-escaped header and cell HTML."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _td(text: str, num: bool = False) -> str:
    return f'<td class="num">{text}</td>' if num else f"<td>{text}</td>"


def _kind_title(kind: str) -> str:
    entry = ba_metric.DEFECTS.get(kind)
    return entry[1] if entry else kind


def _split_defects(codes: Sequence[str]) -> tuple[dict[str, list[tuple[str, list[str]]]], list[str]]:
    """Defect codes -> (target id -> [(kind, the other ids named)], all codes).

    Targets are requirement ids as ba_metric names them, ``title``, ``description``, or ``category:NFR``
    (a missing category, whose heading carries it).
    """
    targets: dict[str, list[tuple[str, list[str]]]] = {}
    for code in codes:
        kind, _, arg = str(code).partition(":")
        if kind == "missing_category":
            targets.setdefault(f"category:{arg}", []).append((kind, []))
        if kind in _DOCUMENT_LEVEL or not arg:
            continue
        ids = [i for i in arg.split(",") if i]
        for rid in ids:
            targets.setdefault(rid, []).append((kind, [o for o in ids if o != rid]))
    return targets, [str(c) for c in codes]


def _metric_rid(entry: dict, short: str, index: int) -> str:
    """The id ba_metric's content rules use for a requirement (see ``content._items``)."""
    rid = entry.get("id")
    if not isinstance(rid, str) or not rid.strip() or len(rid) > 20:
        return f"{short}#{index + 1}"
    return rid.strip().replace(",", " ")


def _labels(found: list[tuple[str, list[str]]]) -> str:
    out = []
    for kind, others in found:
        with_ = f'<span class="dwith">with {_e(", ".join(others))}</span>' if others else ""
        out.append(f'<span class="dlabel" title="{_e(_kind_title(kind))}">{_e(kind)}</span>{with_}')
    return "".join(out)


def _defect_attrs(found: list[tuple[str, list[str]]], base: str) -> str:
    if not found:
        return f'class="{base}"'
    kinds = sorted({k for k, _ in found})
    classes = " ".join([base, "has-defect"] + [f"d-{_e(k)}" for k in kinds])
    return f'class="{classes}" data-defect-kinds="{_e(" ".join(kinds))}"'


def _requirement(entry: Any, short: str, index: int, targets: dict) -> str:
    if not isinstance(entry, dict):
        return f'<li class="req malformed" title="not a requirement mapping">{_e(entry)}</li>'
    rid = _metric_rid(entry, short, index)
    found = targets.get(rid, [])
    prio = entry.get("priority")
    prio_html = (
        f'<span class="prio prio-{_e(str(prio).strip().lower())}">{_e(prio)}</span>'
        if prio is not None
        else '<span class="prio empty">no priority</span>'
    )
    shown_id = _e(entry["id"]) if entry.get("id") is not None else '<span class="empty">(no id)</span>'
    desc = entry.get("description")
    desc_html = _e(desc) if desc is not None else '<span class="empty">(no description)</span>'
    extra = {k: v for k, v in entry.items() if k not in ("id", "priority", "description")}
    extra_html = f' <span class="muted">{_e(extra)}</span>' if extra else ""
    return (
        f'<li {_defect_attrs(found, "req")} data-rid="{_e(rid)}">{_labels(found)}<span class="rid">{shown_id}'
        f"</span>{prio_html}{desc_html}{extra_html}</li>"
    )


def _category(doc: dict, key: str, heading: str, short: str, targets: dict) -> str:
    value = doc.get(key)
    if value is None:
        body = '<p class="empty">(missing)</p>'
    elif isinstance(value, list):
        items = "".join(_requirement(v, short, i, targets) for i, v in enumerate(value))
        body = f'<ul class="reqs">{items}</ul>' if value else '<p class="empty">(empty)</p>'
    else:
        body = f'<pre class="malformed">{_e(value)}</pre>'
    found = targets.get(f"category:{short}", [])
    return f'<h4 {_defect_attrs(found, "cat")} data-rid="category:{short}">{_labels(found)}{heading}</h4>{body}'


def _defect_list(codes: list[str]) -> str:
    if not codes:
        return '<p class="muted">No content defects.</p>'
    items = []
    for code in codes:
        kind = code.partition(":")[0]
        items.append(
            f'<li><code title="{_e(_kind_title(kind))}">{_e(code)}</code> '
            f'<span class="muted">{_e(_kind_title(kind))}</span></li>'
        )
    return f'<ul class="defects">{"".join(items)}</ul>'


def _document_body(row: dict, targets: dict) -> str:
    text = row.get("text", "")
    try:
        doc = ba_metric.parse(text)
    except ba_metric.ParseError as exc:
        err = row.get("parse_error") or str(exc)
        return f'<p class="perr">Does not parse: {_e(err)}</p><pre>{_e(text)}</pre>'
    desc_found, title_found = targets.get("description", []), targets.get("title", [])
    parts = [
        f'<div {_defect_attrs(title_found, "doc-title")} data-rid="title">{_labels(title_found)}'
        f'{_e(doc.get("title", "(no title)"))}</div>',
        f'<div {_defect_attrs(desc_found, "doc-desc")} data-rid="description">{_labels(desc_found)}'
        f'{_e(doc.get("description", "(no description)"))}</div>',
    ]
    parts += [_category(doc, key, heading, short, targets) for key, heading, short in CATEGORIES]
    return "".join(parts)


def _document(name: str, row: dict | None) -> str:
    if row is None:
        return (
            f'<div class="doc"><div class="doc-head"><span class="model">{_e(name)}</span></div>'
            f'<p class="empty">(no row)</p></div>'
        )
    targets, codes = _split_defects(row.get("defects") or [])
    badges = ""
    if row.get("finish_reason") == "length":
        badges += '<span class="badge runaway" title="finish_reason = length">hit the token limit</span>'
    elif row.get("finish_reason") == "loop":
        badges += '<span class="badge runaway" title="finish_reason = loop">looped: cut at the third copy</span>'
    if row.get("parse_error"):
        badges += '<span class="badge unparsed">does not parse</span>'
    dropped = [d for d in row.get("dropped") or [] if isinstance(d, dict)]
    if dropped:
        pairs = ", ".join(f"{d.get('id')} (said by {d.get('repeats')})" for d in dropped)
        badges += (
            f'<span class="badge dropped" title="ba-llm dropped requirements another one already says '
            f'(the dropped ids as the model wrote them): {_e(pairs)}">'
            f"{len(dropped)} repeated requirement{'s' if len(dropped) > 1 else ''} dropped</span>"
        )
    quoted = [n for n in row.get("quoted") or [] if isinstance(n, int)]
    if quoted:
        where = ", ".join(map(str, quoted))
        badges += (
            f'<span class="badge dropped" title="ba-llm quoted a value holding &quot;: &quot; on line {_e(where)}">'
            f"{len(quoted)} value{'s' if len(quoted) > 1 else ''} quoted</span>"
        )
    head = (
        f'<div class="doc-head"><span class="model">{_e(name)}</span><span class="scores">total '
        f'{_num(row.get("score"))} · content {_num(row.get("content"))}</span>{badges}</div>'
    )
    return (
        f'<div class="doc" data-model="{_e(name)}" data-defects="{len(codes)}">{head}'
        f"{_document_body(row, targets)}<h4>Defects</h4>{_defect_list(codes)}</div>"
    )


def _first_runs(scored: dict[str, list[dict]]) -> dict[str, dict[str, dict]]:
    """Per model, per example id, the row of its lowest run."""
    out: dict[str, dict[str, dict]] = {}
    for name, rows in scored.items():
        best: dict[str, dict] = {}
        for r in rows:
            if r["id"] not in best or r.get("run", 0) < best[r["id"]].get("run", 0):
                best[r["id"]] = r
        out[name] = best
    return out


def _header(report: dict, several_runs: bool) -> str:
    decisions = "".join(
        f'<p class="decision{" adopt" if c.get("adopt") else ""}">{_e(c.get("decision"))}</p>'
        for c in report.get("comparisons", [])
    )
    runs_note = (
        (
            " Models have several runs: scores are per-example means over runs; the documents shown are "
            "each model's lowest run."
        )
        if several_runs
        else ""
    )
    return (
        f"<h1>Model comparison</h1><p>Reference model: <b>{_e(report.get('reference'))}</b>. Examples "
        f"compared: <b>{_e(report.get('n_examples'))}</b>.{runs_note}</p>{decisions}"
        f'<p class="rule"><b>Decision rule.</b> {_e(report.get("decision_rule"))}</p>'
    )


def _summary(report: dict) -> str:
    rows = [
        [
            _td(_e(m.get("name"))),
            _td(f"<code>{_e(m.get('model'))}</code>"),
            _td(f"{_num(m.get('mean'))} {_ci(m.get('ci95'))}", True),
            _td(f"{_num(m.get('content_mean'))} {_ci(m.get('content_ci95'))}", True),
            _td(_num(m.get("mean_grounding")), True),
            _td(_pct(m.get("runaway_rate")), True),
            _td(_pct(m.get("yaml_valid_rate")), True),
            _td(_num(m.get("completion_tokens_per_s"), "{:.1f}"), True),
        ]
        for m in report.get("models", [])
    ]
    out = "<h2>Summary</h2>" + _table(
        ["model", "spec", "total [95% CI]", "content [95% CI]", "grounding", "runaway", "YAML valid", "tokens/s"], rows
    )
    comps = []
    for c in report.get("comparisons", []):
        cells = [_td(_e(c.get("candidate")))]
        for figures in (c, c.get("content") or {}):
            p = (figures.get("wilcoxon") or {}).get("p_value")
            cells += [
                _td(_num(figures.get("mean_diff"), "{:+.3f}"), True),
                _td(_num(p, "{:.3g}"), True),
                _td(_num(figures.get("hedges_gz"), "{:.2f}"), True),
            ]
        comps.append(cells + [_td("yes" if c.get("adopt") else "no")])
    if comps:
        out += f"<h3>Against {_e(report.get('reference'))}</h3>" + _table(
            ["candidate", "Δ total", "p (total)", "g_z (total)", "Δ content", "p (content)", "g_z (content)", "adopt"],
            comps,
        )
    return out


def _defects_section(report: dict) -> str:
    models = report.get("models", [])
    seen = {k for m in models for k in (m.get("defect_rates") or {})}
    kinds = [k for k in ba_metric.DEFECTS if k in seen] + sorted(seen - set(ba_metric.DEFECTS))
    out = "<h2>Content defects</h2><p class=\"muted\">Share of documents with at least one defect of a kind.</p>"
    if kinds:
        rows = [
            [_td(_e(m.get("name")))] + [_td(_pct((m.get("defect_rates") or {}).get(k, 0.0)), True) for k in kinds]
            for m in models
        ]
        out += _table(["model"] + [f'<span title="{_e(_kind_title(k))}">{_e(k)}</span>' for k in kinds], rows)
    else:
        out += '<p class="empty">No defects in any document.</p>'
    legend = "".join(
        f'<tr><td><span class="dlabel">{_e(k)}</span></td><td>{_e(d)}</td></tr>'
        for k, (_, d) in ba_metric.DEFECTS.items()
    )
    return out + f'<details><summary>Defect kinds</summary><table>{legend}</table></details>'


def _plot(png: bytes | str | os.PathLike | None) -> str:
    if isinstance(png, (bytes, bytearray)):
        raw = bytes(png)
    elif png is None or not Path(png).is_file():
        return ""
    else:
        raw = Path(png).read_bytes()
    data = base64.b64encode(raw).decode("ascii")
    return f'<h2>Figure</h2><img class="plot" alt="comparison figure" src="data:image/png;base64,{data}">'


def _toc(ids: list[str], names: list[str], report: dict, shown: dict) -> str:
    rows = []
    for k, ex in enumerate(report.get("per_example", [])):
        n_def = sum(len((shown[n].get(ex["id"]) or {}).get("defects") or []) for n in names)
        cells = [f'<td><a href="#ex-{k}">{_e(ex["id"])}</a></td>']
        cells += [
            _td(f'{_num(ex.get("scores", {}).get(n))} / {_num(ex.get("content", {}).get(n))}', True) for n in names
        ]
        rows.append(f'<tr data-defects="{n_def}">{"".join(cells)}{_td(str(n_def), True)}</tr>')
    head = "".join(f"<th>{_e(n)}<br><span class=\"muted\">total / content</span></th>" for n in names)
    return (
        '<h2>Examples</h2><label><input type="checkbox" id="only-defects"> show only examples with defects'
        f'</label><div class="scroll"><table class="toc"><thead><tr><th>id</th>{head}<th>defects</th></tr>'
        f'</thead><tbody>{"".join(rows)}</tbody></table></div>'
    )


def _example(k: int, ex_id: str, names: list[str], shown: dict) -> str:
    rows = [shown[n].get(ex_id) for n in names]
    concept = next((r.get("concept") for r in rows if r is not None), "")
    n_def = sum(len(r.get("defects") or []) for r in rows if r is not None)
    docs = "".join(_document(n, r) for n, r in zip(names, rows))
    cols = f"repeat({len(names)}, minmax(360px, 1fr))"
    return (
        f'<section class="example" id="ex-{k}" data-example-id="{_e(ex_id)}" data-defects="{n_def}">'
        f'<h3>{_e(ex_id)}</h3><div class="concept">{_e(concept)}</div>'
        f'<div class="docs" style="grid-template-columns:{cols}">{docs}</div></section>'
    )


def comparison_html(
    report: dict, scored: dict[str, list[dict]], png_path: bytes | str | os.PathLike | None = None
) -> str:
    """The comparison report as one self-contained HTML page.

    Args:
        report: ``compare_runs(...).report``.
        scored: ``compare_runs(...).scored`` (model name -> scored rows); each example shows
            every model's lowest run.
        png_path: the PNG to embed as a data URI (its bytes, or a file); skipped when None or missing.

    Returns:
        The HTML text (no external resource: inline CSS and script, data-URI image).
    """
    names = [m["name"] for m in report.get("models", [])] or list(scored)
    shown = _first_runs({n: scored.get(n, []) for n in names})
    ids = [ex["id"] for ex in report.get("per_example", [])]
    several_runs = any((m.get("runs") or 1) > 1 for m in report.get("models", []))
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode("ascii")
    csp = f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{digest}'"
    body = (
        _header(report, several_runs)
        + _summary(report)
        + _defects_section(report)
        + _plot(png_path)
        + _toc(ids, names, report, shown)
        + "".join(_example(k, i, names, shown) for k, i in enumerate(ids))
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{HTML_MARKER.decode()}{_e(report.get('reference'))}</title><style>{CSS}</style></head>"
        f"<body>{body}<script>{SCRIPT}</script></body></html>\n"
    )


def write_comparison_html(
    report: dict,
    scored: dict[str, list[dict]],
    path: str | os.PathLike,
    png_path: bytes | str | os.PathLike | None = None,
) -> None:
    """Write :func:`comparison_html` to ``path`` atomically (UTF-8).

    Args:
        report: ``compare_runs(...).report``.
        scored: ``compare_runs(...).scored``.
        path: where to write ``comparison.html``.
        png_path: ``comparison.png`` (bytes or a file) to embed, if any.
    """
    from ba_io import write_text

    write_text(path, comparison_html(report, scored, png_path))
