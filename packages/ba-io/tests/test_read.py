import json

import pytest

from ba_io import DataError, UsageError, iter_jsonl, read_json, read_jsonl

RD = "requirement-document"


def test_valid(in_data):
    rows = read_jsonl("valid.jsonl", RD)
    assert [r["title"] for r in rows] == ["Doc 0", "Doc 1", "Doc 2"]
    assert read_jsonl("valid.jsonl") == rows


def test_blank_lines_skipped_and_numbered(in_data):
    assert len(read_jsonl("blank_lines.jsonl", RD)) == 2
    assert [n for n, _ in iter_jsonl("blank_lines.jsonl", RD)] == [2, 5]


def test_bom_and_crlf(in_data):
    assert [r["title"] for r in read_jsonl("bom_crlf.jsonl", RD)] == ["Doc 1", "Doc 2"]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("bad.jsonl", "bad.jsonl:3: functional_requirements -> 1 -> id: 'FR1' does not match '^(FR|NFR|C)\\\\d{3}$'"),
        (
            "invalid_json.jsonl",
            "invalid_json.jsonl:2: invalid JSON: Expecting property name enclosed in double quotes (column 20)",
        ),
        ("not_object.jsonl", "not_object.jsonl:3: expected a JSON object, got list"),
        ("invalid_utf8.jsonl", "invalid_utf8.jsonl:2: invalid UTF-8: invalid start byte at byte 11"),
        ("nan.jsonl", "nan.jsonl:2: invalid JSON: NaN is not valid JSON"),
    ],
)
def test_first_error_raises(in_data, name, expected):
    with pytest.raises(DataError) as ei:
        read_jsonl(name, RD)
    assert str(ei.value) == expected
    assert ei.value.path == name
    assert ei.value.line == int(expected.split(":")[1])
    assert expected.endswith(ei.value.message)


def test_iter_jsonl_yields_until_error(in_data):
    seen = []
    with pytest.raises(DataError, match=r"^bad\.jsonl:3: "):
        for line_no, _row in iter_jsonl("bad.jsonl", RD):
            seen.append(line_no)
    assert seen == [1, 2]


def test_no_schema_still_requires_objects(in_data):
    assert len(read_jsonl("bad.jsonl")) == 3
    with pytest.raises(DataError, match="expected a JSON object, got list"):
        read_jsonl("not_object.jsonl")


def test_missing_file(tmp_path):
    missing = tmp_path / "x.jsonl"
    with pytest.raises(UsageError) as ei:
        read_jsonl(missing)
    assert str(ei.value) == f"input file not found: {missing}"
    with pytest.raises(UsageError, match=r"\(run `make data` first\?\)$"):
        read_jsonl(missing, hint="run `make data` first?")
    with pytest.raises(UsageError):
        iter_jsonl(missing)  # raised eagerly, before iteration
    with pytest.raises(UsageError):
        read_json(missing)
    with pytest.raises(UsageError, match="directory"):
        read_jsonl(tmp_path)


def test_unknown_schema_is_usage_error(in_data):
    with pytest.raises(UsageError, match="unknown schema"):
        read_jsonl("valid.jsonl", "nope")
    with pytest.raises(UsageError, match="unknown schema"):
        iter_jsonl("valid.jsonl", {"type": "object"})


def test_rejects_every_line_accounted_for(in_data, tmp_path):
    rejects = tmp_path / "sub" / "rejects.jsonl"
    rows = read_jsonl("mixed.jsonl", RD, rejects=rejects)
    raw_lines = (in_data / "mixed.jsonl").read_text(encoding="utf-8").splitlines()
    non_blank = [i for i, line in enumerate(raw_lines, 1) if line.strip()]
    bad = [json.loads(x) for x in rejects.read_text(encoding="utf-8").splitlines()]
    assert len(rows) + len(bad) == len(non_blank)
    assert [r["title"] for r in rows] == ["Doc 1", "Doc 2", "Doc 4"]
    assert [b["line"] for b in bad] == [3, 5, 6, 7, 9, 10]
    for b in bad:
        assert set(b) == {"line", "reason", "raw"}
        assert b["raw"] == raw_lines[b["line"] - 1]
    reasons = {b["line"]: b["reason"] for b in bad}
    assert reasons[5] == "expected a JSON object, got list"
    assert reasons[7] == "expected a JSON object, got string"
    assert reasons[9] == "expected a JSON object, got null"
    assert reasons[6].startswith("functional_requirements -> 0 -> id: 'FR1' does not match")
    assert reasons[3].startswith("invalid JSON: ")
    assert not list(rejects.parent.glob("rejects.jsonl*.tmp"))


def test_rejects_written_empty_when_all_good(in_data, tmp_path):
    rejects = tmp_path / "r.jsonl"
    rejects.write_text("stale\n")
    assert len(read_jsonl("valid.jsonl", RD, rejects=rejects)) == 3
    assert rejects.read_text() == ""


def test_read_json(in_data):
    assert read_json("valid.json", RD)["title"] == "Doc 1"
    with pytest.raises(DataError) as ei:
        read_json("invalid_json.json", RD)
    assert str(ei.value) == "invalid_json.json:4: invalid JSON: Expecting value (column 1)"
    with pytest.raises(DataError) as ei:
        read_json("bad_schema.json", RD)
    assert ei.value.line is None
    assert str(ei.value) == (
        "bad_schema.json: functional_requirements -> 1 -> id: 'F2' does not match '^(FR|NFR|C)\\\\d{3}$'"
    )


def test_a_rejected_line_that_is_not_utf8_keeps_its_exact_bytes(tmp_path):
    """Campaign 5: a line with invalid UTF-8 reached the rejects with its bad bytes replaced
    (U+FFFD), so the rejects file lost part of the input; raw_base64 keeps them."""
    import base64

    src, rejects = tmp_path / "in.jsonl", tmp_path / "rej.jsonl"
    bad_line = b'{"title": "caf\xe9 \xff\xfe"}\r'  # campaign 6: a CR before the CRLF was lost
    src.write_bytes(b'{"title": "ok"}\n' + bad_line + b"\r\n")
    assert read_jsonl(src, rejects=rejects) == [{"title": "ok"}]
    (record,) = [json.loads(x) for x in rejects.read_text(encoding="utf-8").splitlines()]
    assert record["line"] == 2 and record["reason"].startswith("invalid UTF-8")
    assert base64.b64decode(record["raw_base64"]) == bad_line
    assert record["raw"] == bad_line.rstrip(b"\r").decode("utf-8", errors="replace")


def test_a_device_or_endless_input_is_refused_not_read_forever(tmp_path):
    # campaigns 24, 25: `--prompt /dev/zero` read until memory ran out; a device is refused, and
    # what is read (a pipe, a huge file) stops at a bound
    with pytest.raises(UsageError, match=r"^/dev/zero: not a regular file \(a device or socket\)"):
        read_json("/dev/zero")
    with pytest.raises(UsageError, match="^/dev/urandom: not a regular file"):
        read_jsonl("/dev/urandom", rejects=tmp_path / "r.jsonl")
    assert not (tmp_path / "r.jsonl").exists()  # refused whole: no rejects file that looks complete
    import subprocess
    import sys

    code = "import sys; from ba_io import read_jsonl; print(len(read_jsonl('/dev/stdin')))"
    done = subprocess.run([sys.executable, "-c", code], input='{"a": 1}\n', capture_output=True, text=True)
    assert done.stdout == "1\n", done.stderr  # standard input is read


def test_a_line_over_the_bound_names_its_line(tmp_path, monkeypatch):
    import ba_io.jsonio

    monkeypatch.setattr(ba_io.jsonio, "MAX_TEXT_BYTES", 64)
    p = tmp_path / "in.jsonl"
    p.write_text('{"a": 1}\n{"b": "' + "x" * 100 + '"}\n{"c": 3}\n')
    with pytest.raises(DataError, match=r"in.jsonl:2: line longer than"):
        read_jsonl(p)
    q = tmp_path / "doc.json"
    q.write_text(json.dumps({"a": "x" * 100}))
    with pytest.raises(DataError, match="doc.json: larger than"):
        read_json(q)
    q.write_text(json.dumps({"a": "x" * 10}))
    assert read_json(q) == {"a": "x" * 10}
