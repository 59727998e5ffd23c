"""iter_jsonl_lines: the tolerant JSONL reader (every non-blank line, good or bad)."""

import dataclasses

import pytest

from ba_io import JsonlLine, UsageError, iter_jsonl_lines


def _write(tmp_path, data: bytes, name="in.jsonl"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_good_rows_numbered_and_blank_lines_skipped(tmp_path):
    p = _write(tmp_path, b'\n{"a": 1}\n  \n\r\n{"b": 2}\n\n')
    assert list(iter_jsonl_lines(p)) == [
        JsonlLine(2, '{"a": 1}', {"a": 1}, None),
        JsonlLine(5, '{"b": 2}', {"b": 2}, None),
    ]


def test_frozen_dataclass():
    line = JsonlLine(1, "{}", {}, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        line.number = 2  # type: ignore[misc]


def test_bom_on_first_line_and_crlf(tmp_path):
    p = _write(tmp_path, b'\xef\xbb\xbf{"a": 1}\r\n{"b": 2}\r\n')
    assert [(x.number, x.raw, x.row) for x in iter_jsonl_lines(p)] == [
        (1, '{"a": 1}', {"a": 1}),
        (2, '{"b": 2}', {"b": 2}),
    ]


def test_bom_after_line_one_is_an_error(tmp_path):
    p = _write(tmp_path, b'{"a": 1}\n\xef\xbb\xbf{"b": 2}\n')
    second = list(iter_jsonl_lines(p))[1]
    assert second.row is None and second.error.startswith("invalid JSON: ")


def test_bad_lines_do_not_stop_the_reader(tmp_path):
    p = _write(tmp_path, b'{"a": 1}\n{"a": \xff}\n{"a" 1}\n[1, 2]\n"x"\n{"a": NaN}\n{"a": -Infinity}\n{"z": 9}\n')
    lines = list(iter_jsonl_lines(p))
    assert [x.number for x in lines] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [x.error for x in lines] == [
        None,
        "invalid UTF-8: invalid start byte at byte 6",
        "invalid JSON: Expecting ':' delimiter (column 6)",
        "expected a JSON object, got list",
        "expected a JSON object, got string",
        "invalid JSON: NaN is not valid JSON",
        "invalid JSON: -Infinity is not valid JSON",
        None,
    ]
    assert all(x.row is None for x in lines if x.error)
    assert lines[0].row == {"a": 1} and lines[-1].row == {"z": 9}
    assert lines[1].raw == '{"a": \ufffd}'  # undecodable bytes replaced
    assert lines[2].raw == '{"a" 1}'


def test_existing_fixtures(in_data):
    bad = [(x.number, x.error) for x in iter_jsonl_lines("invalid_utf8.jsonl") if x.error]
    assert bad == [(2, "invalid UTF-8: invalid start byte at byte 11")]
    bad = [(x.number, x.error) for x in iter_jsonl_lines("invalid_json.jsonl") if x.error]
    assert bad[0] == (2, "invalid JSON: Expecting property name enclosed in double quotes (column 20)")


def test_missing_file_raises_at_call(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(UsageError) as ei:
        iter_jsonl_lines(missing)  # no next() needed
    assert str(ei.value) == f"input file not found: {missing}"
    with pytest.raises(UsageError) as ei:
        iter_jsonl_lines(missing, hint="run `make data` first?")
    assert str(ei.value) == f"input file not found: {missing} (run `make data` first?)"


def test_directory(tmp_path):
    with pytest.raises(UsageError) as ei:
        iter_jsonl_lines(tmp_path)
    assert str(ei.value) == f"input is a directory, not a file: {tmp_path}"
