import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ba_dataset_tools import filter_file, normalise_concept, split_file
from ba_io import DataError, UsageError


def test_filter_counts_and_reasons(dst_data):
    r = filter_file("scored.jsonl", "kept.jsonl", "rej.jsonl", 0.72)
    assert (r.rows, r.kept, r.rejected, r.below) == (6, 2, 4, 1)
    assert [json.loads(line)["id"] for line in (dst_data / "kept.jsonl").read_text().splitlines()] == ["s1", "s6"]
    rejects = [json.loads(line) for line in (dst_data / "rej.jsonl").read_text().splitlines()]
    assert [(x["line"], x["reason"]) for x in rejects[:3]] == [
        (2, "score 0.5 < 0.72"),
        (3, "no score: run `ba-metric score` first"),
        (4, "no score: run `ba-metric score` first"),
    ]
    assert rejects[3]["line"] == 5 and rejects[3]["reason"].startswith("invalid JSON: ")


def test_filter_by_content_alone_and_with_score(dst_data):
    r = filter_file("scored.jsonl", "kept.jsonl", "rej.jsonl", min_content=0.8)
    assert (r.rows, r.kept, r.rejected, r.below) == (6, 2, 4, 1)
    assert [json.loads(line)["id"] for line in (dst_data / "kept.jsonl").read_text().splitlines()] == ["s1", "s2"]
    reasons = [json.loads(line)["reason"] for line in (dst_data / "rej.jsonl").read_text().splitlines()]
    assert reasons[:2] == ["no content: run `ba-metric score` first"] * 2 and reasons[3] == "content 0.6 < 0.8"
    r = filter_file("scored.jsonl", "kept.jsonl", "rej.jsonl", 0.72, 0.8)
    assert (r.kept, r.below) == (1, 2)
    assert [json.loads(line)["id"] for line in (dst_data / "kept.jsonl").read_text().splitlines()] == ["s1"]


def test_filter_bad_threshold(dst_data):
    with pytest.raises(UsageError, match=r"--min-score must be in \[0, 1\], got 1.5"):
        filter_file("scored.jsonl", "k.jsonl", "r.jsonl", 1.5)
    with pytest.raises(UsageError, match=r"--min-content must be in \[0, 1\], got -0.1"):
        filter_file("scored.jsonl", "k.jsonl", "r.jsonl", None, -0.1)
    with pytest.raises(UsageError, match="give --min-score, --min-content or both"):
        filter_file("scored.jsonl", "k.jsonl", "r.jsonl")


def _write(path, concepts):
    path.write_text("".join(json.dumps({"id": f"r{i}", "concept": c}) + "\n" for i, c in enumerate(concepts)))


CONCEPTS = st.lists(
    st.sampled_from([f"Concept number {i} about a product" for i in range(12)]), min_size=2, max_size=40
)


@settings(max_examples=40, deadline=None)
@given(CONCEPTS, st.floats(0.05, 0.6), st.integers(0, 5))
def test_split_properties(tmp_path_factory, concepts, ratio, seed):
    if len(set(concepts)) < 2:
        return
    d = tmp_path_factory.mktemp("split")
    _write(d / "in.jsonl", concepts)
    r = split_file(d / "in.jsonl", d / "t.jsonl", d / "v.jsonl", val_ratio=ratio, seed=seed)
    train = [json.loads(line) for line in (d / "t.jsonl").read_text().splitlines()]
    val = [json.loads(line) for line in (d / "v.jsonl").read_text().splitlines()]
    assert (r.train, r.val) == (len(train), len(val))
    assert len(val) >= 1 and len(train) >= 1
    assert sorted(x["id"] for x in train + val) == sorted(f"r{i}" for i in range(len(concepts)))
    assert not {normalise_concept(x["concept"]) for x in train} & {normalise_concept(x["concept"]) for x in val}
    ids = [x["id"] for x in train]
    assert ids == sorted(ids, key=lambda s: int(s[1:]))  # input order kept
    split_file(d / "in.jsonl", d / "t2.jsonl", d / "v2.jsonl", val_ratio=ratio, seed=seed)
    assert (d / "t2.jsonl").read_bytes() == (d / "t.jsonl").read_bytes()


def test_split_ratio_and_seed(tmp_path):
    _write(tmp_path / "in.jsonl", [f"Concept {i}" for i in range(120)])
    r = split_file(tmp_path / "in.jsonl", tmp_path / "t.jsonl", tmp_path / "v.jsonl", val_ratio=0.1, seed=42)
    assert (r.train, r.val) == (108, 12)
    split_file(tmp_path / "in.jsonl", tmp_path / "t2.jsonl", tmp_path / "v2.jsonl", val_ratio=0.1, seed=43)
    assert (tmp_path / "v2.jsonl").read_text() != (tmp_path / "v.jsonl").read_text()


def test_split_same_concept_normalised_stays_together(tmp_path):
    _write(tmp_path / "in.jsonl", ["A plot app.", "a  PLOT app", "Another app", "Third app"])
    split_file(tmp_path / "in.jsonl", tmp_path / "t.jsonl", tmp_path / "v.jsonl", val_ratio=0.5, seed=0)
    train = (tmp_path / "t.jsonl").read_text()
    assert ("r0" in train) == ("r1" in train)


def test_split_errors(tmp_path):
    _write(tmp_path / "one.jsonl", ["Same concept", "same concept!"])
    with pytest.raises(DataError, match="all 2 rows share one concept"):
        split_file(tmp_path / "one.jsonl", tmp_path / "t", tmp_path / "v")
    with pytest.raises(UsageError, match="--val-ratio must be between 0 and 1"):
        split_file(tmp_path / "one.jsonl", tmp_path / "t", tmp_path / "v", val_ratio=0)
    (tmp_path / "bad.jsonl").write_text('{"id": "a", "concept": "x"}\n{"id": "b"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2: concept: missing or not a string"):
        split_file(tmp_path / "bad.jsonl", tmp_path / "t", tmp_path / "v")
    _write(tmp_path / "single.jsonl", ["Only one"])
    r = split_file(tmp_path / "single.jsonl", tmp_path / "t", tmp_path / "v")
    assert (r.train, r.val) == (1, 0)


def test_a_concept_in_two_unicode_forms_is_one_concept(tmp_path):
    """Campaign 26: "Gestión" with a precomposed and with a combining accent were two
    concepts, so a pair of copies could land one in train and one in val."""
    import unicodedata

    nfc = [f"Gestión de citas número {i}" for i in range(10)]
    _write(tmp_path / "in.jsonl", [unicodedata.normalize(form, c) for c in nfc for form in ("NFC", "NFD")])
    assert normalise_concept(nfc[0]) == normalise_concept(unicodedata.normalize("NFD", nfc[0]))
    split_file(tmp_path / "in.jsonl", tmp_path / "t.jsonl", tmp_path / "v.jsonl", val_ratio=0.3, seed=1)
    keys = [
        {unicodedata.normalize("NFC", json.loads(line)["concept"]) for line in (tmp_path / n).read_text().splitlines()}
        for n in ("t.jsonl", "v.jsonl")
    ]
    assert keys[0] and keys[1] and not keys[0] & keys[1]
