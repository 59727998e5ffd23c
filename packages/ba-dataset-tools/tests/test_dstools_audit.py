import json
from pathlib import Path

from ba_dataset_tools import audit_file, fix_file, summary
from ba_io import validate


def test_legacy_fixture_counts(dst_data):
    report = audit_file("legacy_v1.jsonl")
    assert validate(report, "audit-report") == []
    assert report["file"] == "legacy_v1.jsonl"
    assert report["schema"] == "example-v1"
    assert (report["total_examples"], report["valid_examples"]) == (7, 1)
    counts = {k: v["count"] for k, v in report.items() if isinstance(v, dict)}
    assert counts == {
        "id_format_issues": 6,
        "min_requirements_violations": 1,
        "yaml_validation_errors": 1,
        "missing_fields": 1,
        "duplicate_concepts": 1,
        "duplicate_requirement_ids": 1,
        "unreadable_lines": 1,
        "schema_errors": 1,
        "duplicate_row_ids": 0,
    }
    ids = report["id_format_issues"]["items"]
    assert ids[0] == {
        "line": 1,
        "field": "functional_requirements",
        "ids": ["FR01", "FR02"],
        "message": "2 IDs not in FR001 form",
    }
    assert [(i["line"], i["field"], i["ids"]) for i in ids[3:]] == [
        (2, "functional_requirements", ["FR1", "FR-2", "fr_03"]),
        (2, "non_functional_requirements", ["NFR1"]),
        (2, "constraints", ["C01", "C01"]),
    ]
    assert report["min_requirements_violations"]["items"] == [
        {"line": 2, "field": "non_functional_requirements", "message": "1 requirement (minimum 2)"}
    ]
    assert report["duplicate_requirement_ids"]["items"][0]["ids"] == ["C01"]
    assert report["missing_fields"]["items"] == [{"line": 3, "field": "title", "message": "missing title"}]
    assert report["duplicate_concepts"]["items"] == [
        {"line": 7, "field": "concept", "message": "same concept as line 1"}
    ]
    assert report["yaml_validation_errors"]["items"] == [
        {
            "line": 8,
            "field": "functional_requirements",
            "message": "item 0 priority 'high' is not High, Medium or Low; "
            "item 1 priority 'high' is not High, Medium or Low",
        }
    ]
    assert report["unreadable_lines"]["items"][0]["line"] == 4
    assert report["unreadable_lines"]["items"][0]["message"].startswith("invalid JSON: ")


def test_audit_after_fix_only_keeps_what_fix_does_not_change(dst_data):
    fix_file("legacy_v1.jsonl", "fixed.jsonl", "rej.jsonl")
    report = audit_file("fixed.jsonl")
    assert report["schema"] == "example-v2"
    counts = {k: v["count"] for k, v in report.items() if isinstance(v, dict)}
    assert counts == {
        "id_format_issues": 0,
        "min_requirements_violations": 1,
        "yaml_validation_errors": 0,
        "missing_fields": 0,
        "duplicate_concepts": 1,
        "duplicate_requirement_ids": 0,
        "unreadable_lines": 0,
        "schema_errors": 0,
        "duplicate_row_ids": 0,
    }
    assert (report["total_examples"], report["valid_examples"]) == (5, 3)


def test_v2_rows_yaml_problems(dst_data):
    report = audit_file("v2_bad.jsonl")
    assert report["schema"] == "example-v2"
    yaml_items = report["yaml_validation_errors"]["items"]
    assert [(i["line"], i["field"]) for i in yaml_items] == [(3, "non_functional_requirements"), (4, "constraints")]
    assert yaml_items[0]["message"] == ("item 0 priority 'Urgent' is not High, Medium or Low; item 1 lacks description")
    assert yaml_items[1]["message"].startswith("invalid YAML: ")
    assert report["id_format_issues"]["items"] == [
        {"line": 2, "field": "functional_requirements", "ids": ["FR1"], "message": "1 ID not in FR001 form"}
    ]
    assert report["missing_fields"]["items"] == [{"line": 6, "field": "id", "message": "missing id"}]


def test_mixed_forms_and_wrong_category_type(tmp_path):
    p = tmp_path / "m.jsonl"
    v1 = {
        "concept": "c one",
        "title": "t",
        "description": "d",
        "functional_requirements": [],
        "non_functional_requirements": 5,
        "constraints": "- id: C001\n",
    }
    p.write_text(json.dumps(v1) + "\n[1, 2]\n")
    report = audit_file(p)
    assert report["schema"] == "example-v2"  # a string category makes the row v2
    assert report["unreadable_lines"]["items"][0]["message"] == "expected a JSON object, got list"
    msgs = [(i["field"], i["message"]) for i in report["yaml_validation_errors"]["items"]]
    assert msgs == [
        ("non_functional_requirements", "expected a list or a YAML string, got number"),
        ("constraints", "item 0 lacks description, priority"),
    ]
    assert [i["field"] for i in report["min_requirements_violations"]["items"]] == [
        "functional_requirements",
        "constraints",
    ]


def test_summary_lines(dst_data):
    text = summary(audit_file("legacy_v1.jsonl"))
    lines = text.splitlines()
    assert lines[0] == "audit legacy_v1.jsonl: 7 examples (example-v1), 1 valid"
    assert lines[1].split() == ["id_format_issues", "6", "(2", "rows,", "12", "IDs)"]


def test_audit_refuses_to_write_its_report_over_the_dataset(tmp_path, dst_cli):
    """#17.5: `audit X -o X` replaced the dataset by the report and exited 0."""
    src = Path(__file__).parent / "data" / "scored.jsonl"
    data = tmp_path / "train.jsonl"
    data.write_bytes(src.read_bytes())
    r = dst_cli("audit", "train.jsonl", "-o", "./train.jsonl", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == (
        "Error: the input and -o are the same file (train.jsonl and ./train.jsonl); "
        "nothing was written: give -o a path of its own\n"
    )
    assert data.read_bytes() == src.read_bytes()


def test_schema_invalid_rows_and_duplicate_row_ids_are_not_counted_valid(dst_data, tmp_path):
    """#17.13: audit counted schema-invalid rows as valid and missed duplicate row ids."""
    fix_file("legacy_v1.jsonl", "fixed.jsonl", "rej.jsonl")
    good = [json.loads(x) for x in (dst_data / "fixed.jsonl").read_text(encoding="utf-8").splitlines()]
    good = [r for r in good if audit_file_rows([r], tmp_path)["valid_examples"] == 1]
    assert good, "the fixture needs one valid row"
    row = good[0]
    bad = dict(row, title=123)  # a non-string title: every counter but the schema misses it
    twin = dict(row, concept=row["concept"] + " Also for schools.")  # same id as row
    report = audit_file_rows([row, bad, twin], tmp_path)
    assert report["schema_errors"]["count"] >= 1 and report["schema_errors"]["items"][0]["line"] == 2
    assert [i["line"] for i in report["duplicate_row_ids"]["items"]] == [2, 3]
    assert report["valid_examples"] == 1
    validate(report, "audit-report")


def audit_file_rows(rows, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return audit_file(path)
