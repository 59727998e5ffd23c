from ba_dataset_tools import row_issues, validate_file


def test_v2_errors_name_file_line_and_path(dst_data):
    report = validate_file("v2_bad.jsonl", "example-v2")
    assert (report.rows, report.invalid) == (6, 5)
    assert report.errors[0] == "v2_bad.jsonl:2: functional_requirements -> 1 -> id: 'FR1' does not match '^FR\\d{3}$'"
    assert len(report.errors) == report.invalid  # campaign 15: one line per invalid row, not per problem
    assert report.errors[1] == (
        "v2_bad.jsonl:3: non_functional_requirements -> 0 -> priority: 'Urgent' is not one of "
        "['High', 'Medium', 'Low']; non_functional_requirements -> 1: 'description' is a required property"
    )
    assert report.errors[2].startswith("v2_bad.jsonl:4: constraints: invalid YAML: ")
    assert report.errors[3:] == [
        "v2_bad.jsonl:5: title: 5 is not of type 'string'",
        "v2_bad.jsonl:6: (root): 'id' is a required property",
    ]


def test_v1_schema_accepts_legacy_ids_but_not_broken_lines(dst_data):
    report = validate_file("legacy_v1.jsonl", "example-v1")
    assert report.rows == 7
    assert report.errors[0] == "legacy_v1.jsonl:3: (root): 'title' is a required property"
    assert report.errors[1].startswith("legacy_v1.jsonl:4: invalid JSON: ")
    assert report.invalid == 2


def test_v1_rows_fail_v2():
    row = {
        "id": "a",
        "concept": "c",
        "title": "t",
        "description": "d",
        "functional_requirements": [{"id": "FR01", "description": "x"}],
        "non_functional_requirements": "- id: NFR001\n  description: fast\n  priority: Low\n- id: NFR001\n  description: faster\n  priority: Low\n",
        "constraints": "[]\n",
    }
    assert row_issues(row, "example-v2") == [
        "functional_requirements: [{'id': 'FR01', 'description': 'x'}] is not of type 'string'",
        "non_functional_requirements: duplicate id 'NFR001'",
        "constraints: the YAML list is empty",
    ]


def test_line_reader_is_ba_io_s():
    """rows.Line / rows.iter_lines are ba-io's tolerant reader, not a copy."""
    from ba_dataset_tools import rows
    from ba_io import JsonlLine, iter_jsonl_lines

    assert rows.Line is JsonlLine and rows.iter_lines is iter_jsonl_lines
