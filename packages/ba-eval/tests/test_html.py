"""comparison.html: self-contained, escaped, defects highlighted on their requirement, and
rendered by a real headless Chromium."""

from __future__ import annotations

import copy
import html
import re
import shutil
import subprocess

import pytest
from conftest import pred_row, write_rows

CONCEPT = (
    "A mobile app for community garden members to reserve plots, log harvests and message other "
    "members. The budget is $20k and it must launch in 6 months."
)
CONCEPT2 = "A web portal for a library to lend tools to residents, with reminders for overdue returns."
SCRIPT = "<script>alert(1)</script>"
#: the highlight background of a requirement with a defect (CSS ``.has-defect``)
HIGHLIGHT_RGB = (0xFF, 0xD1, 0xE3)


def _doc(frs, nfrs, cons, title="Community garden plots", desc="An app for garden members to reserve plots."):
    def items(rows):
        return "".join(f"  - id: {i}\n    description: {d}\n    priority: {p}\n" for i, d, p in rows)

    return (
        f"title: {title}\ndescription: {desc}\nfunctional_requirements:\n{items(frs)}"
        f"non_functional_requirements:\n{items(nfrs)}constraints:\n{items(cons)}"
    )


FRS = [
    ("FR001", "Members shall reserve a garden plot for one season.", "High"),
    ("FR002", "Members shall log each harvest with its weight.", "Medium"),
    ("FR003", "Members shall message other members of the garden.", "Low"),
]
GOOD = _doc(
    FRS,
    [("NFR001", "Reservation pages load in under 2 seconds on 4G.", "Medium")],
    [("C001", "The total budget is $20k.", "High"), ("C002", "Launch within 6 months.", "High")],
)
#: NFR001 copies FR001 word for word; C002 restates C001's amount
DEFECTIVE = _doc(
    FRS,
    [("NFR001", FRS[0][1], "Medium"), ("NFR002", "Pages load in under 2 seconds.", "Low")],
    [
        ("C001", "The total budget is $20k.", "High"),
        ("C002", "Spending must stay under $20k.", "High"),
        ("C003", "Launch within 6 months.", "Medium"),
    ],
)
HOSTILE = _doc(
    [("FR001", f"Members shall reserve plots {SCRIPT}", "High")],
    [("NFR001", "Pages load in under 2 seconds.", 3)],
    [("C001", "Budget is $20k.", "High")],
    title=f"Garden {SCRIPT}",
)
MALFORMED = (
    "title: Tool library\ndescription: Lend tools to residents.\nfunctional_requirements:\n"
    "  - just a string item\n  - id: 7\n    description: Residents shall borrow a tool.\n"
    "non_functional_requirements: not a list\nconstraints: []\n"
)
UNPARSEABLE = f"I am sorry, I cannot write that document. {SCRIPT}\n: : ["
RUNAWAY = GOOD + "  - id: C003\n    description: Launch within 6 months and 6 months and 6 months and"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A real comparison of two models on three examples, its PNG and its HTML file."""
    from ba_eval import compare_runs, comparison_png
    from ba_eval.html import comparison_html, write_comparison_html

    d = tmp_path_factory.mktemp("html")
    base = [
        pred_row("garden", CONCEPT, 0, GOOD, "base"),
        pred_row("garden", CONCEPT, 1, GOOD, "base"),
        pred_row("tools", CONCEPT2, 0, UNPARSEABLE, "base"),
        pred_row("tools", CONCEPT2, 1, MALFORMED, "base"),
        pred_row("hostile", CONCEPT, 0, HOSTILE, "base"),
        pred_row("hostile", CONCEPT, 1, HOSTILE, "base"),
    ]
    tuned = [
        pred_row("garden", CONCEPT, 1, GOOD, "tuned"),
        pred_row("garden", CONCEPT, 0, DEFECTIVE, "tuned"),
        pred_row("tools", CONCEPT2, 0, MALFORMED, "tuned"),
        pred_row("tools", CONCEPT2, 1, MALFORMED, "tuned"),
        pred_row("hostile", CONCEPT, 0, RUNAWAY, "tuned", finish_reason="length"),
        pred_row("hostile", CONCEPT, 1, GOOD, "tuned"),
    ]
    result = compare_runs(
        [("base", write_rows(d / "base.jsonl", base)), ("tuned", write_rows(d / "tuned.jsonl", tuned))], n_bootstrap=200
    )
    png = d / "comparison.png"
    comparison_png(result.report, png)
    out = d / "comparison.html"
    write_comparison_html(result.report, result.scored, out, png_path=png)
    return {
        "result": result,
        "png": png,
        "path": out,
        "html": out.read_text(encoding="utf-8"),
        "render": comparison_html,
    }


def _element(page: str, attr: str) -> str:
    """The opening tag of the first element carrying ``attr`` in ``page``."""
    m = re.search(r"<[a-z]+ [^>]*" + re.escape(attr) + r"[^>]*>", page)
    assert m, f"no element with {attr}"
    return m.group(0)


def _doc_html(page: str, example: str, model: str) -> str:
    section = page.split(f'data-example-id="{example}"', 1)[1].split("<section", 1)[0]
    return section.split(f'data-model="{model}"', 1)[1].split('<div class="doc"', 1)[0]


def test_self_contained_with_embedded_png(built):
    page = built["html"]
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"""(?:src|href|url)\s*[=(]\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"<(?:link|iframe|object|embed)\b", page, re.I)
    assert re.findall(r'\bsrc="([^"]*)"', page) and all(
        s.startswith("data:image/png;base64,") for s in re.findall(r'\bsrc="([^"]*)"', page)
    )
    assert all(h.startswith("#") for h in re.findall(r'\bhref="([^"]*)"', page))
    assert "default-src 'none'" in page
    without_png = built["render"](built["result"].report, built["result"].scored, png_path=None)
    assert "data:image/png" not in without_png
    assert "data:image/png" not in built["render"](
        built["result"].report, built["result"].scored, png_path=built["png"].with_name("missing.png")
    )


def test_header_summary_and_defect_tables(built):
    page, report = built["html"], built["result"].report
    assert "Reference model: <b>base</b>" in page
    assert f"<b>{report['n_examples']}</b>" in page
    for c in report["comparisons"]:
        assert html.escape(c["decision"]) in page
    assert html.escape(report["decision_rule"]) in page
    tuned = next(m for m in report["models"] if m["name"] == "tuned")
    assert f"{tuned['mean']:.3f} [{tuned['ci95'][0]:.3f}, {tuned['ci95'][1]:.3f}]" in page
    assert f"{tuned['content_mean']:.3f}" in page
    assert f"{tuned['runaway_rate'] * 100:.0f}%" in page
    assert f"{report['comparisons'][0]['content']['mean_diff']:+.3f}" in page
    assert "lowest run" in page  # several runs: says which documents are shown
    for kind in tuned["defect_rates"]:
        assert f">{kind}</span></th>" in page


def test_every_example_and_toc_link(built):
    page, report = built["html"], built["result"].report
    for k, ex in enumerate(report["per_example"]):
        assert f'data-example-id="{ex["id"]}"' in page
        assert f'<a href="#ex-{k}">{ex["id"]}</a>' in page and f'id="ex-{k}"' in page


def test_defects_highlighted_on_their_requirement(built):
    row = next(r for r in built["result"].scored["tuned"] if r["id"] == "garden" and r["run"] == 0)
    assert any(c.startswith("duplicate:") and "NFR001" in c for c in row["defects"])
    assert any(c.startswith("repeated_constraint:") and "C002" in c for c in row["defects"])
    doc = _doc_html(built["html"], "garden", "tuned")  # run 0 of tuned, the defective one
    nfr = _element(doc, 'data-rid="NFR001"')
    assert "has-defect" in nfr and "d-duplicate" in nfr
    assert "d-repeated_constraint" in _element(doc, 'data-rid="C002"')
    assert "has-defect" not in _element(doc, 'data-rid="FR002"')
    assert '<span class="dlabel"' in doc and ">duplicate</span>" in doc
    for code in row["defects"]:  # every defect also listed under the document
        assert f">{html.escape(code)}</code>" in doc
    assert "has-defect" not in _doc_html(built["html"], "garden", "base")


def test_unparseable_runaway_and_malformed(built):
    page = built["html"]
    bad = _doc_html(page, "tools", "base")  # run 0: unparseable
    assert "Does not parse" in bad and "<pre>" in bad and "I am sorry" in bad
    assert "hit the token limit" in _doc_html(page, "hostile", "tuned")
    assert "hit the token limit" not in _doc_html(page, "hostile", "base")
    malformed = _doc_html(page, "tools", "tuned")
    assert "just a string item" in malformed and "not a list" in malformed and 'data-rid="FR#2"' in malformed


def test_model_text_is_escaped(built):
    page = built["html"]
    assert SCRIPT not in page and "alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script") == 1  # only the page's own filter script


def test_odd_documents_do_not_crash(built):
    from ba_eval.html import comparison_html

    scored = copy.deepcopy(built["result"].scored)
    row = scored["base"][0]
    row.update(
        text="title: 42\ndescription: [a, b]\nfunctional_requirements:\n  - id: [x]\n    description: {a: 1}\n"
        "    priority: null\n  - - nested\n  - 5\n  - {}\nconstraints: {budget: 1}\n",
        defects=["filler:FR#1", "duplicate:NOPE,FR#4", "weird", "unknown_kind:FR#2"],
        parse_error=None,
    )
    page = comparison_html(built["result"].report, scored)
    assert 'data-rid="FR#1"' in page and "d-filler" in _element(page, 'data-rid="FR#1"')
    assert "nested" in page and "(no id)" in page and "{&#x27;budget&#x27;: 1}" in page
    assert ">unknown_kind</span>" in page and ">weird</code>" in page


def test_a_document_says_which_repeated_requirements_ba_llm_dropped(built):
    from ba_eval.html import comparison_html

    scored = copy.deepcopy(built["result"].scored)
    row = next(r for r in scored["tuned"] if r["id"] == "garden" and r["run"] == 0)
    copies = [f"  - id: FR00{n}\n    description: {FRS[0][1]}\n    priority: High" for n in (4, 5)]
    row["dropped"] = [
        {"id": "FR004", "repeats": "FR001", "text": copies[0]},
        {"id": "FR005", "repeats": f"FR001{SCRIPT}", "text": copies[1]},
    ]
    page = comparison_html(built["result"].report, scored)
    assert page.count("repeated requirements dropped") == 1
    badge = _element(page, 'class="badge dropped"')
    assert "FR004 (said by FR001)" in badge and SCRIPT not in page
    # the page's other documents carry no such badge
    assert "repeated requirement" not in built["html"]


def test_a_document_says_which_values_ba_llm_quoted(built):
    from ba_eval.html import comparison_html

    scored = copy.deepcopy(built["result"].scored)
    row = next(r for r in scored["tuned"] if r["id"] == "garden" and r["run"] == 0)
    row["quoted"] = [1, 4]
    page = comparison_html(built["result"].report, scored)
    assert page.count("2 values quoted") == 1
    badge = re.search(r'<span class="badge dropped" title="([^"]*)">2 values quoted</span>', page)
    assert badge is not None and badge.group(1).endswith("on line 1, 4")
    assert "value quoted" not in built["html"] and "values quoted" not in built["html"]


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def test_renders_in_headless_chromium(built, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium, chromium-browser or google-chrome on PATH (scripts/ensure_chromium.sh installs it)")
    import numpy as np
    from matplotlib.image import imread

    shot = tmp_path / "shot.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'p'}"]
    url = built["path"].resolve().as_uri()
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1400,2400", url],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert shot.is_file(), "chromium wrote no screenshot"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = imread(shot)
    assert img.shape[:2] == (2400, 1400)
    rgb = np.rint(img[..., :3] * 255)
    close = np.all(np.abs(rgb - np.array(HIGHLIGHT_RGB)) <= 6, axis=-1)
    assert close.sum() > 500, "no defect highlight visible in the screenshot"

    dom = subprocess.run(
        [browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=60, check=False
    ).stdout
    for k, ex in enumerate(built["result"].report["per_example"]):
        assert f'href="#ex-{k}"' in dom and f'data-example-id="{ex["id"]}"' in dom
    assert re.search(r'<li class="req has-defect[^"]*d-duplicate[^"]*"[^>]*data-rid="NFR001"', dom)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom and "alert(1)</script>" not in dom


def test_a_garbled_title_is_marked_on_the_title(built):
    """ba_metric charges a garbled title as ``garbled:title``: the page marks the title itself."""
    from ba_eval.html import comparison_html

    scored = copy.deepcopy(built["result"].scored)
    row = next(r for r in scored["tuned"] if r["id"] == "garden" and r["run"] == 0)
    row["defects"] = ["garbled:title"]
    page = comparison_html(built["result"].report, scored)
    marked = re.findall(r'<div class="doc-title has-defect d-garbled"[^>]*data-rid="title">', page)
    assert len(marked) == 1 and ">garbled</span>" in page
    assert 'data-rid="title"' in built["html"] and "doc-title has-defect" not in built["html"]
