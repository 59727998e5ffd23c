import re
from collections import Counter

from ba_io import validate

from ba_datagen import STRUCTURES, domains, generate_concepts


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
    assert set(used) == set(STRUCTURES)  # 210 draws use every structure
    openings = {" ".join(r["concept"].split()[:2]) for r in concepts210}
    assert len(openings) >= 30  # not one template with words swapped


def test_facts_are_rich_and_appear_in_the_text(concepts210):
    for r in concepts210:
        f = r["facts"]
        assert 3 <= len(f["features"]) <= 5
        assert 1 <= len(f["constraints"]) <= 3
        assert f["platforms"] and f["actors"]
        assert len(f["feature_actors"]) == len(f["features"])
        text = r["concept"]
        assert f["product"] in text.lower()
        for phrase in f["features"] + f["constraints"]:
            assert phrase in text, (r["id"], phrase)
        assert f["organization"].lower() in text.lower()
        for actor in f["actors"]:
            assert actor.lower() in text.lower()


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
    assert sum(c.startswith("comply with ") for c in cons) >= 50
    assert sum("$" in c for c in cons) >= 100
    regs = {c[len("comply with "):] for c in cons if c.startswith("comply with ")}
    assert {"HIPAA", "GDPR", "PCI DSS"} <= regs


def test_zero_and_small_n():
    assert generate_concepts(0) == []
    rows = generate_concepts(3, seed=1)
    assert len(rows) == 3 and len({r["domain"] for r in rows}) == 3
