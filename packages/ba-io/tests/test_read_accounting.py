"""#17.8 / #17.9 and the accounting property of every ba-io reader: random good and malformed
lines in, every non-blank line either a row or a reject (with its line number) out, and never
an exception other than DataError / UsageError."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ba_io import DataError, iter_jsonl, iter_jsonl_lines, read_json, read_jsonl, write_jsonl

DEEP = "[" * 20_000 + "]" * 20_000
GOOD = st.dictionaries(
    st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=8), st.booleans()), max_size=3
).map(lambda d: json.dumps(d, ensure_ascii=False))
BAD = st.one_of(
    st.sampled_from(
        [
            '{"a": "\\ud800"}',
            '{"a": "x\\udfff"}',
            '{"a": ' + DEEP + "}",
            "[1, 2]",
            "null",
            "{oops",
            '{"a": NaN}',
            '{"a": Infinity}',
            '"text"',
            "\x00",
            "{" * 5000,
            # campaign 18: str.strip() removes these but JSON does not allow them: not blank
            "\x1c\x1d\x1e\x1f",
            "\u2028",
            "\u3000",
            "\x0b\x0c",
            "\xa0",
        ]
    ),
    st.text(max_size=30).filter(lambda t: "\n" not in t and "\r" not in t),
)


def _is_good(line: str) -> bool:
    try:
        row = json.loads(line, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        json.dumps(row, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError, UnicodeEncodeError):
        return False
    return isinstance(row, dict)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(GOOD, BAD), min_size=1, max_size=12))
def test_every_line_is_a_row_or_a_reject(tmp_path_factory, lines):
    d = tmp_path_factory.mktemp("acct")
    src, rej = d / "in.jsonl", d / "rejects.jsonl"
    src.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"))
    non_blank = [i for i, line in enumerate(lines, start=1) if line.strip(" \t")]  # JSON's whitespace only

    rows = read_jsonl(src, rejects=rej)
    rejects = [json.loads(x) for x in rej.read_text(encoding="utf-8").split("\n") if x]
    assert len(rows) + len(rejects) == len(non_blank)
    assert sorted([r["line"] for r in rejects]) == [i for i in non_blank if not _is_good(lines[i - 1])]
    assert all(r["reason"] for r in rejects)

    seen = list(iter_jsonl_lines(src))
    assert [x.number for x in seen] == non_blank
    assert sum(x.row is not None for x in seen) == len(rows)

    try:
        assert [row for _, row in iter_jsonl(src)] == rows and not rejects
    except DataError as e:
        assert rejects and e.line == rejects[0]["line"]

    out = d / "out.jsonl"
    assert write_jsonl(out, rows) == len(rows)  # every accepted row can be written back


def test_a_deeply_nested_line_is_one_reject_with_its_line(tmp_path):
    """#17.8: one such line aborted every reader with RecursionError and wrote nothing."""
    src = tmp_path / "in.jsonl"
    src.write_text('{"a": 1}\n{"x": ' + DEEP + '}\n{"b": 2}\n', encoding="utf-8")
    rej = tmp_path / "r.jsonl"
    assert read_jsonl(src, rejects=rej) == [{"a": 1}, {"b": 2}]
    (r,) = [json.loads(x) for x in rej.read_text().splitlines()]
    assert (r["line"], r["reason"]) == (2, "invalid JSON: nested too deeply")
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP, encoding="utf-8")
    try:
        read_json(deep)
    except DataError as e:
        assert str(e) == f"{deep}: invalid JSON: nested too deeply"
    else:
        raise AssertionError("no DataError")


def test_a_lone_surrogate_is_rejected_when_read_not_when_written(tmp_path):
    """#17.9: "\\ud800" passed validation and crashed every writer (UnicodeEncodeError)."""
    src = tmp_path / "in.jsonl"
    src.write_text('{"a": "\\ud800"}\n{"a": "\\ud83d\\ude00"}\n', encoding="utf-8")  # lone; a valid pair
    rej = tmp_path / "r.jsonl"
    assert read_jsonl(src, rejects=rej) == [{"a": "\U0001f600"}]
    (r,) = [json.loads(x) for x in rej.read_text().splitlines()]
    assert r["line"] == 1 and "lone surrogate" in r["reason"]
    doc = tmp_path / "doc.json"
    doc.write_text('{"title": "\\udc00"}', encoding="utf-8")
    try:
        read_json(doc)
    except DataError as e:
        assert "lone surrogate" in str(e)
    else:
        raise AssertionError("no DataError")


def test_a_line_of_characters_json_does_not_allow_is_a_reject_not_blank(tmp_path):
    """Campaign 18: a line of \\x1c..\\x1f, \\x0b\\x0c, U+2028, U+3000 or U+00A0 (which
    str.strip() removes) was skipped as blank: in neither the output nor the rejects."""
    src, rej = tmp_path / "in.jsonl", tmp_path / "rejects.jsonl"
    odd = ["\x1c\x1d\x1e\x1f", "\u2028", "\u3000", "\x0b\x0c", "\xa0"]
    src.write_text('{"a": 1}\n' + "\n".join(odd) + "\n \t\r\n", encoding="utf-8")
    assert read_jsonl(src, rejects=rej) == [{"a": 1}]
    rejects = [json.loads(x) for x in rej.read_text(encoding="utf-8").split("\n") if x]
    assert [r["line"] for r in rejects] == [2, 3, 4, 5, 6] and [r["raw"] for r in rejects] == odd
