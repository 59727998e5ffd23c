import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ba_dataset_tools import audit_file, derived_id, fix_file, fix_row, renumber, validate_file
from ba_io import UsageError


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_legacy_fixture_fixed_counts(dst_data):
    r = fix_file("legacy_v1.jsonl", "fixed.jsonl", "rej.jsonl")
    assert (r.rows, r.written, r.rejected) == (7, 5, 2)
    assert (r.fixed, r.ids_changed, r.converted, r.ids_added) == (5, 12, 15, 1)
    rejects = _rows(dst_data / "rej.jsonl")
    assert [(x["line"], x["reason"]) for x in rejects][0] == (3, "missing field: title")
    assert rejects[1]["line"] == 4 and rejects[1]["reason"].startswith("invalid JSON: ")
    assert rejects[1]["raw"] == '{"id": "b4", "concept": "broken row", "title": '
    rows = _rows(dst_data / "fixed.jsonl")
    assert [r["id"] for r in rows] == [derived_id(rows[0]["concept"]), "b2", "b6", "b7", "b8"]
    assert list(rows[0])[:2] == ["id", "concept"] and rows[0]["score"] == 0.81
    assert rows[1]["functional_requirements"].count("id: FR00") == 3
    assert "  id: C002" not in rows[1]["functional_requirements"]
    assert rows[1]["constraints"].startswith("- id: C001\n") and "- id: C002\n" in rows[1]["constraints"]
    assert rows[4]["functional_requirements"].count("priority: High") == 2
    assert validate_file("fixed.jsonl", "example-v2").invalid == 0


def test_every_line_ends_in_exactly_one_file(dst_data):
    fix_file("legacy_v1.jsonl", "fixed.jsonl", "rej.jsonl")
    non_blank = [line for line in (dst_data / "legacy_v1.jsonl").read_text().splitlines() if line.strip()]
    assert len(_rows(dst_data / "fixed.jsonl")) + len(_rows(dst_data / "rej.jsonl")) == len(non_blank)


def test_fix_is_idempotent_byte_for_byte(dst_data):
    fix_file("legacy_v1.jsonl", "a.jsonl", "ra.jsonl")
    r = fix_file("a.jsonl", "b.jsonl", "rb.jsonl")
    assert (dst_data / "a.jsonl").read_bytes() == (dst_data / "b.jsonl").read_bytes()
    assert (r.fixed, r.ids_changed, r.converted, r.ids_added, r.rejected) == (0, 0, 0, 0, 0)


def test_without_yaml_conversion_lists_stay_lists(dst_data):
    fix_file("legacy_v1.jsonl", "ids.jsonl", "rej.jsonl", to_yaml=False, check=False)
    rows = _rows(dst_data / "ids.jsonl")
    assert [i["id"] for i in rows[0]["functional_requirements"]] == ["FR001", "FR002"]
    assert audit_file("ids.jsonl")["id_format_issues"]["count"] == 0


def test_validate_rejects_rows_still_invalid(dst_data):
    r = fix_file("legacy_v1.jsonl", "o.jsonl", "rej.jsonl", fix_ids=False)
    # without --fix-ids the two-digit IDs survive and --validate sends those rows to rejects
    reasons = [x["reason"] for x in _rows(dst_data / "rej.jsonl")]
    assert r.written == 3 and r.rejected == 4
    assert (
        "still invalid after fixing: functional_requirements -> 0 -> id: 'FR01' does not match '^FR\\d{3}$'" in reasons
    )


def test_check_needs_yaml(dst_data):
    from ba_io import UsageError

    with pytest.raises(UsageError, match="--validate checks v2 rows"):
        fix_file("legacy_v1.jsonl", "o.jsonl", "r.jsonl", to_yaml=False, check=True)
    with pytest.raises(UsageError, match="are the same file"):
        fix_file("legacy_v1.jsonl", "legacy_v1.jsonl", "r.jsonl")


@pytest.mark.parametrize(
    "row, reason",
    [
        (
            {
                "concept": "c",
                "title": "t",
                "description": "d",
                "functional_requirements": [{"id": "FR1"}],
                "non_functional_requirements": [],
                "constraints": [],
            },
            "functional_requirements -> 0: missing description",
        ),
        (
            {
                "concept": "c",
                "title": "t",
                "description": "d",
                "functional_requirements": "- [",
                "non_functional_requirements": [],
                "constraints": [],
            },
            "functional_requirements: invalid YAML",
        ),
        (
            {
                "concept": "c",
                "title": "t",
                "description": "d",
                "functional_requirements": [],
                "non_functional_requirements": [],
                "constraints": [],
            },
            "functional_requirements: no requirements",
        ),
        (
            {
                "concept": "c",
                "title": 3,
                "description": "d",
                "functional_requirements": [],
                "non_functional_requirements": [],
                "constraints": [],
            },
            "title: expected a string, got int",
        ),
        (
            {
                "id": 5,
                "concept": "c",
                "title": "t",
                "description": "d",
                "functional_requirements": [{"id": "x", "description": "d d d"}],
                "non_functional_requirements": [],
                "constraints": [],
            },
            "id: expected a non-empty string, got 5",
        ),
    ],
)
def test_unfixable_rows(row, reason):
    with pytest.raises(ValueError) as exc:
        fix_row(row)
    assert str(exc.value).startswith(reason)


ID_TEXT = st.one_of(st.text(max_size=6), st.from_regex(r"(?i)(fr|nfr|c)[ _-]?0*\d{1,3}", fullmatch=True))


@settings(max_examples=60, deadline=None)
@given(st.lists(ID_TEXT, min_size=1, max_size=12))
def test_renumber_gives_unique_sequential_ids(ids):
    items = [{"id": i, "description": "some requirement text", "priority": "High"} for i in ids]
    new, changed = renumber(items, "NFR")
    assert [x["id"] for x in new] == [f"NFR{n:03d}" for n in range(1, len(ids) + 1)]
    assert changed == sum(1 for old, x in zip(ids, new) if old != x["id"])
    again, changed_again = renumber(new, "NFR")
    assert again == new and changed_again == 0


def test_an_unwritable_rejects_file_leaves_no_output(dst_data):
    """#17.12: fix with an unwritable --rejects wrote the output and recorded the rejected row nowhere."""
    from pathlib import Path

    Path("plain").write_text("")
    with pytest.raises(UsageError, match="a folder on this path is a file"):
        fix_file("legacy_v1.jsonl", "fixed.jsonl", "plain/rejects.jsonl", fix_ids=True)
    assert not Path("fixed.jsonl").exists() and not list(Path(".").glob("*.tmp"))


def test_split_writes_both_files_or_neither(dst_data):
    from pathlib import Path

    from ba_dataset_tools import split_file

    Path("in.jsonl").write_text(
        "".join(json.dumps({"id": f"r{i}", "concept": f"Concept {i} about a product"}) + "\n" for i in range(6))
    )
    Path("plain").write_text("")
    with pytest.raises(UsageError, match="a folder on this path is a file"):
        split_file("in.jsonl", "train.jsonl", "plain/val.jsonl", val_ratio=0.5, seed=1)
    assert not Path("train.jsonl").exists()
