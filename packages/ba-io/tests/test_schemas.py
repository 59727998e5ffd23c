import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

import ba_io
from ba_io import UsageError, ValidationIssue, load_schema, schema_names, validate

ROOT_SCHEMAS = Path(__file__).resolve().parent.parent.parent.parent / "schemas"
PKG_SCHEMAS = Path(ba_io.__file__).parent / "schemas"
EXPECTED = [
    "audit-report",
    "benchmark-report",
    "comparison-report",
    "concept",
    "example-v1",
    "example-v2",
    "failure-analysis",
    "iteration",
    "parity-report",
    "prediction",
    "prompt",
    "requirement-document",
    "scored-prediction",
    "training-info",
]


def _root_dir() -> Path:
    if not ROOT_SCHEMAS.is_dir():
        pytest.fail(
            f"repository schemas/ not found at {ROOT_SCHEMAS}: run the tests from the "
            "ba-finetune repository checkout (packages/ba-io/tests)"
        )
    return ROOT_SCHEMAS


def _root_schemas() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(_root_dir().glob("*.schema.json"))}


def test_schema_names():
    assert schema_names() == EXPECTED


def test_packaged_copy_matches_root():
    root = {p.name: p.read_bytes() for p in _root_dir().glob("*.json")}
    pkg = {p.name: p.read_bytes() for p in PKG_SCHEMAS.glob("*.json")}
    assert sorted(pkg) == sorted(root), "schema file sets differ: run `make schemas`"
    drifted = [n for n in root if root[n] != pkg[n]]
    assert not drifted, f"packaged schemas drifted from schemas/: {drifted}; run `make schemas`"


def test_root_schemas_are_valid_2020_12_with_ids():
    for name, schema in _root_schemas().items():
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", name
        assert schema["$id"] == f"https://ba-finetune.local/schemas/{name}", name
        assert schema.get("title"), name


def test_root_examples_validate():
    schemas = _root_schemas()
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas.values())
    checked = 0
    for name, schema in schemas.items():
        v = Draft202012Validator(schema, registry=registry)
        assert schema.get("examples"), f"{name} has no examples"
        for i, example in enumerate(schema["examples"]):
            errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(example)]
            assert not errors, f"{name} examples[{i}]: {errors}"
            checked += 1
    assert checked >= len(schemas)


@pytest.mark.parametrize("name", EXPECTED)
def test_packaged_examples_validate_via_api(name):
    for example in load_schema(name)["examples"]:
        assert validate(example, name) == []


def test_relative_ref_resolves():
    # scored-prediction $refs prediction.schema.json: prediction's required fields are enforced
    messages = [i.message for i in validate({"score": 0.5}, "scored-prediction")]
    assert "'text' is a required property" in messages
    assert "'breakdown' is a required property" in messages


def test_unknown_schema_lists_known():
    with pytest.raises(UsageError, match="unknown schema 'nope'.*concept.*training-info"):
        load_schema("nope")
    with pytest.raises(UsageError):
        validate({}, "nope")


def test_load_schema_returns_copy():
    s = load_schema("concept")
    s["required"].append("zzz")
    assert "zzz" not in load_schema("concept")["required"]
    assert validate({"id": "a", "concept": "long enough text"}, "concept") == []


def test_issue_paths_sorted_numerically():
    doc = load_schema("requirement-document")["examples"][0]
    doc = json.loads(json.dumps(doc))
    reqs = [{"id": f"FR{i:03d}", "description": "d", "priority": "High"} for i in range(1, 13)]
    reqs[2]["id"] = "X"
    reqs[10]["id"] = "Y"
    doc["functional_requirements"] = reqs
    doc["title"] = ""
    issues = validate(doc, "requirement-document")
    assert [i.path for i in issues] == [
        "functional_requirements -> 2 -> id",
        "functional_requirements -> 10 -> id",
        "title",
    ]
    assert str(issues[0]) == "functional_requirements -> 2 -> id: 'X' does not match '^(FR|NFR|C)\\\\d{3}$'"
    assert validate([], "concept") == [ValidationIssue("(root)", "[] is not of type 'object'")]
