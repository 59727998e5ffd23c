import hashlib
import json
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ba_io import (DataError, append_jsonl, atomic_write, progress, read_json, read_jsonl,
                   sha256_file, sha256_text, write_json, write_jsonl)

RD = "requirement-document"
GOOD = {"id": "c1", "concept": "A café that sells ☕ by subscription."}


def _no_tmp(folder):
    return not list(folder.glob("*.tmp"))


def test_write_jsonl_roundtrip(tmp_path):
    out = tmp_path / "a" / "b" / "out.jsonl"
    assert write_jsonl(out, [GOOD, {**GOOD, "id": "c2"}], "concept") == 2
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n") and text.count("\n") == 2
    assert text.splitlines()[0] == '{"id":"c1","concept":"A café that sells ☕ by subscription."}'
    assert read_jsonl(out, "concept")[1]["id"] == "c2"
    assert _no_tmp(out.parent)


def test_write_jsonl_accepts_generator_and_empty(tmp_path):
    out = tmp_path / "out.jsonl"
    write_jsonl(out, (r for r in [GOOD]))
    assert read_jsonl(out) == [GOOD]
    write_jsonl(out, [])
    assert out.read_text() == ""


def test_write_jsonl_invalid_row_keeps_old_file(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    with pytest.raises(DataError) as ei:
        write_jsonl(out, [GOOD, GOOD, {"id": "x"}], "concept")
    assert str(ei.value) == f"{out}:3: (root): 'concept' is a required property"
    assert out.read_text() == "old\n"
    assert _no_tmp(tmp_path)


def test_write_jsonl_rejects_non_objects_and_nan(tmp_path):
    out = tmp_path / "out.jsonl"
    with pytest.raises(DataError, match=r":2: expected a JSON object, got list$"):
        write_jsonl(out, [GOOD, [1]])
    with pytest.raises(DataError, match=r":1: cannot serialise to JSON: "):
        write_jsonl(out, [{"x": float("nan")}])
    with pytest.raises(DataError, match=r":1: cannot serialise to JSON: "):
        write_jsonl(out, [{"x": object()}])
    assert not out.exists() and _no_tmp(tmp_path)


def test_atomic_write_exception_midway(tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(out) as f:
            f.write("new partial")
            assert (tmp_path / "out.txt.tmp").exists()
            raise RuntimeError("boom")
    assert out.read_text() == "old"
    assert _no_tmp(tmp_path)
    with atomic_write(out, "wb") as f:
        f.write(b"\x00bin")
    assert out.read_bytes() == b"\x00bin"
    with pytest.raises(ValueError):
        with atomic_write(out, "a"):
            pass


def test_append_jsonl(tmp_path):
    out = tmp_path / "d" / "p.jsonl"
    append_jsonl(out, GOOD, "concept")
    append_jsonl(out, {**GOOD, "id": "c2"}, "concept")
    assert [r["id"] for r in read_jsonl(out, "concept")] == ["c1", "c2"]
    with pytest.raises(DataError, match=r"p\.jsonl: \(root\): 'concept' is a required property"):
        append_jsonl(out, {"id": "x"}, "concept")
    assert len(read_jsonl(out)) == 2


def test_append_after_partial_line(tmp_path):
    out = tmp_path / "p.jsonl"
    out.write_text(json.dumps(GOOD) + "\n" + '{"id": "trunc')
    append_jsonl(out, {**GOOD, "id": "c3"})
    rejects = tmp_path / "r.jsonl"
    rows = read_jsonl(out, "concept", rejects=rejects)
    assert [r["id"] for r in rows] == ["c1", "c3"]
    assert json.loads(rejects.read_text())["line"] == 2


def test_write_json(tmp_path):
    out = tmp_path / "r.json"
    obj = {"z": 1, "a": ["é"]}
    write_json(out, obj)
    assert out.read_text(encoding="utf-8") == '{\n  "z": 1,\n  "a": [\n    "é"\n  ]\n}\n'
    assert read_json(out) == obj
    out.write_text("old")
    with pytest.raises(DataError, match=r"r\.json: \(root\): 'concept' is a required property"):
        write_json(out, {"id": "x"}, "concept")
    assert out.read_text() == "old" and _no_tmp(tmp_path)


def test_hashes(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"abc" * 1000)
    assert sha256_file(p) == hashlib.sha256(b"abc" * 1000).hexdigest()
    assert sha256_text("é") == hashlib.sha256("é".encode()).hexdigest()


def test_data_error_format_and_pickle():
    e = DataError("f.jsonl", 3, "bad")
    assert str(e) == "f.jsonl:3: bad"
    assert str(DataError("f.json", None, "bad")) == "f.json: bad"
    e2 = pickle.loads(pickle.dumps(e))
    assert (e2.path, e2.line, e2.message) == ("f.jsonl", 3, "bad")


def test_progress(monkeypatch):
    assert list(progress(range(3), desc="x")) == [0, 1, 2]
    monkeypatch.setenv("BA_NO_PROGRESS", "1")
    bar = progress(total=5)
    assert bar.disable
    bar.close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3),
    max_leaves=10)


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(st.dictionaries(st.text(), json_values, max_size=4), max_size=5))
def test_jsonl_roundtrip_property(tmp_path_factory, rows):
    out = tmp_path_factory.mktemp("rt") / "rows.jsonl"
    write_jsonl(out, rows)
    # empty dicts are real rows ("{}"), never blank lines
    assert read_jsonl(out) == rows
