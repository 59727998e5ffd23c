"""The packaged curated evaluation set: schema, quality bar, shape, drift from its source."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from conftest import cli_main

from ba_eval import curated_path, load_concepts, resolve_dataset
from ba_io import validate
from ba_metric import parse, score

BUILD = Path(__file__).resolve().parents[1] / "curated" / "build.py"
CATS = ("functional_requirements", "non_functional_requirements", "constraints")


def test_forty_hand_written_concepts_over_fifteen_domains_in_the_styles_people_use(curated_rows):
    assert len(curated_rows) >= 40
    assert len({r["id"] for r in curated_rows}) == len(curated_rows)
    assert len({r["domains"][0] for r in curated_rows}) >= 15
    styles = [r["style"] for r in curated_rows]
    assert {"one-liner", "bullets", "paragraph", "question", "lowercase"} <= set(styles)
    assert styles.count("one-liner") >= 8 and styles.count("bullets") >= 6
    assert sum(r["language"] == "es" for r in curated_rows) >= 5
    concepts = [r["concept"] for r in curated_rows]
    assert sum(any(m in c for m in ("$", "USD", "€", "EUR", "£", "grand", "euros")) for c in concepts) >= 10
    assert {"$", "EUR", "€", "£"} <= {m for c in concepts for m in ("$", "EUR", "€", "£") if m in c}
    for r in curated_rows:
        words = len(r["concept"].split())
        if r["style"] == "one-liner":
            assert 15 <= words <= 30, (r["id"], words)
        if r["style"] == "bullets":
            assert r["concept"].count("\n- ") >= 3, r["id"]
        if r["style"] == "lowercase":
            assert r["concept"] == r["concept"].lower(), r["id"]


#: the references' assumptions that ba_metric charges, written down so a new one is noticed:
#: constraints stating a limit or a platform their concept never gives (invented_constraint:
#: cur-06's point-of-sale integration, cur-09's pilot roll-out, cur-12's launch languages,
#: cur-17's "without installing an app", RGPD or UK GDPR inferred from a city in cur-28, cur-29
#: and cur-38); sizing figures, languages or laws it never names (unstated_fact: cur-04's four
#: parent languages and 800 concurrent staff users, cur-28's 50 users booking at once, cur-33's
#: 20 volunteers online, cur-34's 200 simultaneous users; GDPR, UK GDPR, RGPD, LOPDGDD or HIPAA
#: in cur-11, cur-12, cur-19, cur-23, cur-30, cur-31, cur-32, cur-33, cur-34, cur-37, cur-39,
#: cur-40, cur-41 and cur-42, mostly inferred from a place or a currency; cur-11 and cur-23 name
#: neither)
_ASSUMPTIONS = {
    "cur-04": ("unstated_fact:NFR002", "unstated_fact:NFR004"),
    "cur-06": ("invented_constraint:C001", "unfit_platform:NFR004"),  # the "existing in-store tablets"
    "cur-09": ("invented_constraint:C003",),
    "cur-11": ("unstated_fact:C002",),
    "cur-12": ("invented_constraint:C004", "unstated_fact:C003"),
    "cur-17": ("invented_constraint:C002",),
    "cur-19": ("unstated_fact:C003",),
    "cur-23": ("unstated_fact:C001",),
    "cur-28": ("invented_constraint:C003", "unstated_fact:NFR001"),
    "cur-29": ("invented_constraint:C003",),
    "cur-30": ("unstated_fact:C003",),
    "cur-31": ("unstated_fact:C002",),
    "cur-32": ("unstated_fact:C003",),
    "cur-33": ("unstated_fact:NFR003", "unstated_fact:C001"),
    "cur-34": ("unstated_fact:NFR002", "unstated_fact:C004"),
    "cur-37": ("unstated_fact:C001",),
    "cur-38": ("invented_constraint:C003",),
    "cur-39": ("unstated_fact:C002",),
    "cur-40": ("unstated_fact:C003",),
    "cur-41": ("unstated_fact:C002",),
    "cur-42": ("unstated_fact:C004",),
}


def test_each_reference_validates_and_scores_high(curated_rows):
    groundings = []
    for r in curated_rows:
        assert validate(r, "example-v2") == [], r["id"]
        doc = parse(r)
        assert validate(doc, "requirement-document") == [], r["id"]
        s = score(r, r["concept"])
        assert s.total >= 0.95, (r["id"], s.breakdown)
        # the content score is calibrated on these: a careful analyst's document has no defect
        # a reader would object to, at most a capability phrased differently from the concept,
        # and in 21 documents an assumption the concept does not state (a point-of-sale
        # integration, launch languages, a law inferred from a place, a roll-out plan, sizing
        # figures), charged like a model's invented constraint or fact
        assumed = list(_ASSUMPTIONS.get(r["id"], ()))
        assert s.content >= (0.8 if assumed else 0.9), (r["id"], s.defects)
        assert [d for d in s.defects if not d.startswith("uncovered:")] == assumed, (r["id"], s.defects)
        assert s.grounding is not None and s.grounding >= 0.6, r["id"]
        groundings.append(s.grounding)
    assert sum(groundings) / len(groundings) >= 0.85


def test_shape_of_a_senior_analysts_document(curated_rows):
    for r in curated_rows:
        doc = parse(r)
        counts = [len(doc[c]) for c in CATS]
        assert 2 <= counts[0] <= 8 and 2 <= counts[1] <= 6 and 2 <= counts[2] <= 5, (r["id"], counts)
        priorities = {item["priority"] for c in CATS for item in doc[c]}
        assert priorities == {"High", "Medium", "Low"}, r["id"]
        assert len(r["domains"]) >= 1, r["id"]
        if r["style"] == "paragraph" and r["language"] == "en" and r["id"] <= "cur-12":
            sentences = [s for s in r["concept"].replace("e.g.", "eg").split(". ") if s.strip()]
            assert 3 <= len(sentences) <= 5, r["id"]


def test_spanish_concepts_get_spanish_documents(curated_rows):
    spanish = [r for r in curated_rows if r["language"] == "es"]
    for r in spanish:
        doc = parse(r)
        text = " ".join(item["description"] for c in CATS for item in doc[c]).lower()
        assert any(w in text.split() for w in ("deberá", "podrán", "podrá", "deberán")), r["id"]
        assert " shall " not in f" {text} ", r["id"]


def test_categories_are_render_category_strings(curated_rows):
    from ba_metric import render_category

    for r in curated_rows:
        for c in CATS:
            assert r[c] == render_category(parse(r)[c])


def test_packaged_file_matches_hand_written_source(curated_rows):
    if not BUILD.is_file():  # pragma: no cover - tests always run from the package tree
        pytest.fail(f"{BUILD} missing")
    spec = importlib.util.spec_from_file_location("curated_build", BUILD)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.build_rows() == curated_rows, "run `python curated/build.py` after editing curated.yaml"


def test_curated_resolves_and_cli_writes_it(tmp_path, curated_rows, capsys):
    assert resolve_dataset("curated") == curated_path()
    assert [c["id"] for c in load_concepts("curated", limit=3)] == [r["id"] for r in curated_rows[:3]]
    out = tmp_path / "c.jsonl"
    assert cli_main("curated", "-o", str(out)) == 0
    assert [json.loads(x) for x in out.read_text().splitlines()] == curated_rows
    assert f"wrote {len(curated_rows)} curated examples" in capsys.readouterr().err
