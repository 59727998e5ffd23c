"""The hand-written curated evaluation set (ba-eval) is not made of generator material: no
curated concept shares a run of eight words with a generated concept, nor a product name
from the generator's vocabularies."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ba_datagen import generate_concepts
from ba_datagen.vocab import domains

CURATED = Path(__file__).resolve().parents[2] / "ba-eval" / "src" / "ba_eval" / "data" / "curated.jsonl"
_WORD = re.compile(r"[^\W_]+")


def _shingles(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@pytest.fixture(scope="module")
def curated() -> list[dict]:
    if not CURATED.is_file():  # pragma: no cover - the monorepo always has it
        pytest.fail(f"{CURATED} missing")
    return [json.loads(line) for line in CURATED.read_text(encoding="utf-8").splitlines()]


def test_no_curated_concept_shares_eight_words_in_a_row_with_generated_ones(curated):
    generated: set[tuple[str, ...]] = set()
    for seed in (0, 42, 7):
        for row in generate_concepts(600, seed=seed):
            generated |= _shingles(row["concept"])
    for row in curated:
        shared = _shingles(row["concept"]) & generated
        assert not shared, (row["id"], sorted(" ".join(s) for s in shared)[:3])


def test_no_curated_concept_names_a_generator_product(curated):
    products = {p["name"].lower() for dom in domains().values() for p in dom.get("products", [])}
    assert products, "the vocabularies name products"
    for row in curated:
        text = " ".join(_WORD.findall(row["concept"].lower()))
        hits = [p for p in products if f" {p} " in f" {text} "]
        assert not hits, (row["id"], hits)
