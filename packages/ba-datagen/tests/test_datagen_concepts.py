import json
import re
from collections import Counter

from ba_datagen import STRUCTURES, domains, generate_concepts
from ba_datagen.concepts import NO_ORG, SHORT
from ba_datagen.spanish import STRUCTURES_ES
from ba_datagen.vocab import LAW_SHARE
from ba_io import UsageError, validate


def test_210_concepts_are_distinct_and_span_domains(concepts210):
    rows = concepts210
    assert len(rows) == 210
    assert len({r["concept"] for r in rows}) >= 200
    assert len({r["domain"] for r in rows}) >= 12
    assert [r["id"] for r in rows] == [f"c{i:04d}" for i in range(1, 211)]
    for r in rows:
        assert validate(r, "concept") == [], r["id"]


def test_same_seed_same_output_and_different_seed_differs(concepts210):
    assert generate_concepts(210, 42) == concepts210
    other = generate_concepts(210, 7)
    assert [r["concept"] for r in other] != [r["concept"] for r in concepts210]
    assert len({r["concept"] for r in other} & {r["concept"] for r in concepts210}) < 20


def test_varied_sentence_structures(concepts210):
    used = Counter(r["structure"] for r in concepts210)
    assert len(STRUCTURES) >= 8
    assert set(STRUCTURES) <= set(used) <= set(STRUCTURES) | set(STRUCTURES_ES)  # 210 draws use every one
    openings = {" ".join(r["concept"].split()[:2]) for r in concepts210}
    assert len(openings) >= 30  # not one template with words swapped


def _stated(phrase: str, text: str, style: str) -> bool:
    """``phrase`` is in ``text``; a lower-case-with-typo concept may have one word misspelt."""
    if style == "plain":
        return phrase in text
    words = re.sub(r"[^\w'$-]+", " ", text.lower()).split()
    return sum(w not in words for w in re.sub(r"[^\w'$-]+", " ", phrase.lower()).split()) <= 1


def test_facts_are_rich_and_appear_in_the_text(concepts210):
    for r in concepts210:
        f, text, style = r["facts"], r["concept"], r["style"]
        assert 3 <= len(f["features"]) <= 5
        assert len(f["constraints"]) <= 3 and f["actors"]
        for platform in f["platforms"]:
            assert _stated(platform, text, style), (r["id"], platform)
        assert len(f["feature_actors"]) == len(f["features"])
        assert _stated(f["product"], text.lower(), style), r["id"]
        for phrase in f["features"] + f["constraints"]:
            assert _stated(phrase, text, style), (r["id"], phrase)
        for actor in f["actors"]:
            assert _stated(actor.lower(), text.lower(), style), (r["id"], actor)
        if f["organization"] is None:
            assert r["structure"] in NO_ORG
        else:
            assert _stated(f["organization"].lower(), text.lower(), style), r["id"]


def test_concepts_come_in_the_shapes_people_write(concepts210):
    by = Counter(r["structure"] for r in concepts210)
    assert by["bullets"] >= 4 and sum(by[s] for s in SHORT) >= 15
    for r in concepts210:
        if r["structure"] == "bullets":
            assert r["concept"].count("\n- ") >= 4
        if r["structure"] in SHORT:
            assert len(r["facts"]["features"]) == 3 and len(r["facts"]["constraints"]) <= 1
            assert len(r["concept"].split()) <= 60
    lower = [r for r in concepts210 if r["style"] == "lower_typo"]
    assert 10 <= len(lower) <= 45
    assert all(r["concept"] == r["concept"].lower() for r in lower)
    starts = {r["concept"].split()[0].lower() for r in concepts210}
    assert {"we", "build", "how", "at", "can"} <= starts


def test_budgets_in_several_formats_and_some_concepts_without_budget_or_deadline(concepts210):
    cons = [c for r in concepts210 for c in r["facts"]["constraints"]]
    assert sum("USD" in c for c in cons) >= 5 and sum("dollars" in c for c in cons) >= 3
    assert sum("$" in c and "k" in c for c in cons) >= 10 and sum("Q" in c for c in cons) >= 3
    money_or_time = ("$", "USD", "dollars", "month", "week", "Q")
    neither = [r for r in concepts210 if not any(m in c for c in r["facts"]["constraints"] for m in money_or_time)]
    assert len(neither) >= 20


def test_some_concepts_name_no_platform_or_state_no_limit_and_say_nothing_of_them(concepts210):
    """People leave the platform and the limits out; the text then names none (the teacher
    writes from the facts, so a platform the text hides would be an invented constraint)."""
    en = [r for r in concepts210 if r["language"] == "en"]
    no_platform = [r for r in en if not r["facts"]["platforms"]]
    no_limit = [r for r in en if not r["facts"]["constraints"]]
    assert 0.2 * len(en) <= len(no_platform) <= 0.4 * len(en)
    assert 0.15 * len(en) <= len(no_limit) <= 0.35 * len(en)
    assert [r for r in no_platform if r in no_limit]  # some state neither
    for r in no_platform:
        text = r["concept"].lower()
        assert not re.search(r"\b(ios|android|windows)\b|on the web|\(\)|available ,| runs? \.", text), r["id"]
    for r in no_limit:
        assert not re.search(r"\bmust\s*\.|has to \.|needs to \.|(?<!they )\bmust (?!be able)", r["concept"].lower()), (
            r["id"]
        )
    for r in en:
        assert "  " not in r["concept"] and " ." not in r["concept"] and ".." not in r["concept"], r["id"]
        assert r["concept"] == r["concept"].strip()


def test_budgets_come_in_several_currencies(concepts210):
    cons = [c for r in concepts210 if r["language"] == "en" for c in r["facts"]["constraints"]]
    assert sum("£" in c for c in cons) >= 3 and sum("€" in c or "euros" in c for c in cons) >= 3
    assert sum("grand" in c for c in cons) >= 1


def test_facts_are_unique_per_concept(concepts210):
    keys = {(r["domain"], frozenset(r["facts"]["features"])) for r in concepts210}
    assert len(keys) == 210


def test_vocabularies_are_rich():
    vocab = domains()
    assert len(vocab) >= 12
    for name, dom in vocab.items():
        assert len(dom["features"]) >= 8, name
        assert len(dom["products"]) >= 5 and len(dom["orgs"]) >= 5, name
        assert dom["regulations"], name
        for product in dom["products"]:
            assert len(product["features"]) >= 4
            assert all(0 <= i < len(dom["features"]) for i in product["features"])
        for actor_index, phrase in dom["features"]:
            assert 0 <= actor_index < len(dom["actors"])
            assert re.fullmatch(r"[a-z][\w ,'-]+", phrase), phrase


def test_regulations_and_budgets_show_up(concepts210):
    cons = [c for r in concepts210 for c in r["facts"]["constraints"]]
    laws = sum(c.startswith("comply with ") for c in cons)
    assert 0.5 * LAW_SHARE * len(concepts210) <= laws <= 1.5 * LAW_SHARE * len(concepts210), laws
    assert sum(any(m in c for m in ("$", "USD", "dollars", "£", "€", "euros", "grand")) for c in cons) >= 80
    regs = {c[len("comply with ") :] for c in cons if c.startswith("comply with ")}
    assert {"HIPAA", "GDPR", "PCI DSS"} <= regs


def test_zero_and_small_n():
    assert generate_concepts(0) == []
    rows = generate_concepts(3, seed=1)
    assert len(rows) == 3 and len({r["domain"] for r in rows}) == 3


def test_some_concepts_are_in_spanish_with_spanish_facts(concepts210):
    es = [r for r in concepts210 if r["language"] == "es"]
    assert 10 <= len(es) <= 35 and {r["structure"] for r in es} <= set(STRUCTURES_ES)
    assert all(r["language"] == "en" for r in concepts210 if r not in es)
    for r in es:
        f = r["facts"]
        assert f["language"] == "es" and f["product_definite"] in ("el", "la")
        for phrase in f["features"] + f["constraints"]:
            assert _stated(phrase, r["concept"], r["style"]), (r["id"], phrase)
    assert any("€" in r["concept"] or "euros" in r["concept"] for r in es)


def test_a_domain_that_runs_out_of_facts_gives_way_to_the_others():
    """#17.13: `concepts --n 1000` failed (the first exhausted domain ended the run, at 646)."""
    import pytest

    rows = generate_concepts(1000)
    assert len(rows) == 1000 and len({r["concept"] for r in rows}) == 1000
    with pytest.raises(
        UsageError,
        match=r"^the vocabularies make at most \d+ unique concepts with seed 42; "
        r"ask for fewer than 100000$",
    ):
        generate_concepts(100_000)


def test_more_concepts_than_the_vocabularies_make_is_a_usage_error_at_the_cli(tmp_path):
    """The campaign: `concepts --n 99999999999999999999` was an internal error (exit 1)."""
    import subprocess
    import sys

    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "ba_datagen",
            "concepts",
            "--n",
            "99999999999999999999",
            "-o",
            str(tmp_path / "c.jsonl"),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert res.stderr.startswith(
        "Error: the vocabularies make at most 2153 unique concepts with seed 42; ask for fewer"
    )
    assert not (tmp_path / "c.jsonl").exists()


def test_focus_draws_only_from_the_targeted_groups_and_exclude_keeps_texts_out(concepts210):
    """`make iterate`: targeted concepts come from the failure analysis' worst groups, with ids
    of their own, and never repeat a concept given with --exclude (case-blind)."""
    focus = {"domains": ["legal", "healthcare"], "structures": ["bullets", "es_lista"], "languages": []}
    rows = generate_concepts(40, seed=7, focus=focus, id_prefix="r1-c")
    assert {r["domain"] for r in rows} == {"legal", "healthcare"}
    assert {r["structure"] for r in rows} <= {"bullets", "es_lista"}
    assert rows[0]["id"] == "r1-c0001" and len({r["id"] for r in rows}) == 40
    # English only: no Spanish row
    en = generate_concepts(20, seed=7, focus={"domains": ["legal"], "languages": ["en"]})
    assert {r["language"] for r in en} == {"en"}
    # an excluded text (in another case) is never written again; the same seed otherwise would
    plain = generate_concepts(30, seed=3)
    again = generate_concepts(30, seed=3, exclude=[plain[4]["concept"].upper()])
    assert plain[4]["concept"] not in {r["concept"] for r in again}
    assert generate_concepts(30, seed=3, focus={}) == plain  # no focus: the default draw, unchanged


def test_targets_of_several_dimensions_are_a_mixture_not_their_intersection():
    """Round 1 of the first `make iterate` targeted Spanish, `es_pregunta` and four domains at
    once: their intersection was 42 Spanish questions about education. Each dimension now gets
    its own share of the rows, interleaved, with ids of the prefix and no repeated text."""
    from ba_datagen.concepts import focused_concepts

    focus = {"domains": ["hospitality", "finance"], "structures": ["bullets"], "languages": ["es"]}
    rows = focused_concepts(30, 11, focus, id_prefix="r1-c")
    assert [r["id"] for r in rows] == [f"r1-c{i:04d}" for i in range(1, 31)]
    assert len({r["concept"] for r in rows}) == 30
    by_part = [rows[k::3] for k in range(3)]  # interleaved: domains, structures, languages
    assert all(r["domain"] in focus["domains"] for r in by_part[0])
    assert all(r["structure"] == "bullets" or r["language"] == "es" for r in by_part[1])
    assert all(r["language"] == "es" for r in by_part[2])
    assert {r["language"] for r in rows} == {"en", "es"}  # not all Spanish
    assert focused_concepts(5, 11, {"domains": [], "structures": [], "languages": []}) == generate_concepts(5, 11)


def test_focus_naming_what_the_generator_lacks_is_a_usage_error():
    import pytest

    with pytest.raises(UsageError, match="domain 'astrology'"):
        generate_concepts(5, focus={"domains": ["astrology"]})


def test_concepts_cli_focus_and_exclude(tmp_path, dg_cli):
    (tmp_path / "f.json").write_text(json.dumps(_analysis({"domains": ["retail"], "structures": [], "languages": []})))
    r = dg_cli("concepts", "--n", "30", "--seed", "42", "-o", "base.jsonl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = dg_cli(
        "concepts", "--n", "8", "--seed", "9", "--focus", "f.json", "--exclude", "base.jsonl",
        "--id-prefix", "r2-c", "-o", "t.jsonl", cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    base = {json.loads(line)["concept"] for line in (tmp_path / "base.jsonl").read_text().splitlines()}
    assert len(rows) == 8 and {x["domain"] for x in rows} == {"retail"} and not base & {x["concept"] for x in rows}
    r = dg_cli("concepts", "--n", "3", "--exclude", "t.jsonl", "-o", "t.jsonl", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("Error: ") and "same file" in r.stderr


def _analysis(targets: dict) -> dict:
    """A minimal failure-analysis document (ba-eval failures writes the real one)."""
    return {
        "predictions": "p.jsonl", "concepts": "c.jsonl", "model": "m", "n": 1, "content_below": 0.85,
        "failing": 1, "failure_share": 1.0, "mean_total": 0.5, "mean_content": 0.5, "runaway": 0,
        "defects": [], "groups": {}, "targets": targets, "target_rule": "r", "failing_ids": ["x"],
    }  # fmt: skip
