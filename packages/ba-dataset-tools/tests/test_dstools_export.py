"""export: v2 rows -> chat messages as a Hugging Face dataset, parquet or messages JSONL."""

from __future__ import annotations

import json

import pytest

from ba_dataset_tools.export import EXPORT_INFO, export_dataset, messages_row
from ba_io import UsageError, read_jsonl


@pytest.fixture
def prompt():
    from ba_llm.prompt import prompt_from_dict

    return prompt_from_dict(
        {
            "name": "short",
            "system": "You are a business analyst.",
            "user_template": "Business concept:\n{concept}",
            "demos": [],
        }
    )


def _expected(row, prompt):
    from ba_metric import document_from_fields, render

    return [
        {"role": "system", "content": "You are a business analyst."},
        {"role": "user", "content": f"Business concept:\n{row['concept']}"},
        {"role": "assistant", "content": render(document_from_fields(row))},
    ]


def test_a_row_becomes_system_user_assistant_with_the_canonical_document(dst_data, prompt):
    row = read_jsonl("v2_train.jsonl", "example-v2")[0]
    out = messages_row(row, prompt)
    assert out == {"id": row["id"], "concept": row["concept"], "messages": _expected(row, prompt)}
    assert out["messages"][-1]["content"].startswith("title: ")


@pytest.mark.parametrize("fmt", ["hf", "parquet", "messages-jsonl"])
def test_every_format_loads_back_with_datasets_row_for_row(dst_data, prompt, fmt):
    import datasets

    train, val = read_jsonl("v2_train.jsonl"), read_jsonl("v2_val.jsonl")
    r = export_dataset("v2_train.jsonl", "out", fmt=fmt, prompt=prompt, val="v2_val.jsonl")
    assert r.rows == {"train": len(train), "validation": len(val)}
    if fmt == "hf":
        loaded = datasets.load_from_disk("out")
    else:
        ext = "parquet" if fmt == "parquet" else "json"
        suffix = "parquet" if fmt == "parquet" else "jsonl"
        loaded = datasets.load_dataset(
            ext,
            data_files={s: f"out/{s}.{suffix}" for s in ("train", "validation")},
            cache_dir=str(dst_data / "hf-cache"),
        )
    for split, src in (("train", train), ("validation", val)):
        assert loaded[split].to_list() == [messages_row(row, prompt) for row in src]
    card = (dst_data / "out" / "README.md").read_text(encoding="utf-8")
    assert f"| train | {len(train)} |" in card and prompt.sha256 in card and "Teacher: " in card
    info = json.loads((dst_data / "out" / EXPORT_INFO).read_text(encoding="utf-8"))
    assert info["prompt"]["sha256"] == prompt.sha256 and info["rows"]["validation"] == len(val)
    assert not list(dst_data.glob("*.tmp")) and not list(dst_data.glob("*.lock"))


def test_export_replaces_only_its_own_folder_and_refuses_an_input_path(dst_data, prompt):
    (dst_data / "mine").mkdir()
    (dst_data / "mine" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UsageError, match=r"holds files ba-dataset-tools export did not write \(notes.txt\)"):
        export_dataset("v2_train.jsonl", "mine", fmt="messages-jsonl", prompt=prompt)
    assert [p.name for p in (dst_data / "mine").iterdir()] == ["notes.txt"]
    with pytest.raises(UsageError, match="same file"):
        export_dataset("v2_train.jsonl", "v2_train.jsonl", fmt="messages-jsonl", prompt=prompt)
    export_dataset("v2_train.jsonl", "out", fmt="messages-jsonl", prompt=prompt)
    export_dataset("v2_train.jsonl", "out", fmt="parquet", prompt=prompt)  # its own earlier export: replaced whole
    assert sorted(p.name for p in (dst_data / "out").iterdir()) == sorted([EXPORT_INFO, "README.md", "train.parquet"])


def test_a_reexport_refuses_a_file_the_user_added_inside_a_split_folder(dst_data, prompt):
    """Campaign 14: ``train/`` and ``validation/`` of an hf export were replaced whole, and
    a file the user had put inside them was deleted; the manifest now lists every file."""
    export_dataset("v2_train.jsonl", "out", fmt="hf", prompt=prompt, val="v2_val.jsonl")
    info = json.loads((dst_data / "out" / EXPORT_INFO).read_text(encoding="utf-8"))
    assert "train/dataset_info.json" in info["files"] and "train" not in info["files"]
    export_dataset("v2_train.jsonl", "out", fmt="hf", prompt=prompt, val="v2_val.jsonl")  # its own: replaced
    (dst_data / "out" / "train" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UsageError, match=r"did not write \(train/notes.txt\)"):
        export_dataset("v2_train.jsonl", "out", fmt="hf", prompt=prompt, val="v2_val.jsonl")
    assert (dst_data / "out" / "train" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_cli_export_and_a_schema_invalid_input(dst_data, dst_cli):
    res = dst_cli(
        "export",
        "--train",
        "v2_train.jsonl",
        "--val",
        "v2_val.jsonl",
        "--format",
        "messages-jsonl",
        "-o",
        "out",
        cwd=dst_data,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("12 train, 4 validation rows -> out (messages-jsonl; prompt sha256 ")
    res = dst_cli("export", "--train", "v2_bad.jsonl", "--format", "hf", "-o", "bad", cwd=dst_data)
    assert res.returncode == 1 and res.stderr.count("\n") == 1
    assert res.stderr == "Error: v2_bad.jsonl:5: title: 5 is not of type 'string'\n"  # the first invalid row
    assert not (dst_data / "bad").exists()


def test_round_two_campaign_defects(dst_data, prompt):
    """Re-export deleted files the user added to an export; rows with a YAML alias bomb were
    exported verbatim; a teacher name with newlines added headings to the card."""
    from ba_io import DataError

    export_dataset("v2_train.jsonl", "out", fmt="messages-jsonl", prompt=prompt)
    (dst_data / "out" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UsageError, match=r"holds files ba-dataset-tools export did not write \(notes.txt\)"):
        export_dataset("v2_train.jsonl", "out", fmt="messages-jsonl", prompt=prompt)
    assert (dst_data / "out" / "notes.txt").read_text() == "mine"
    with pytest.raises(DataError, match=r"v2_yaml_bomb.jsonl:1: functional_requirements: not a YAML list"):
        export_dataset("v2_yaml_bomb.jsonl", "bomb", fmt="messages-jsonl", prompt=prompt)
    assert not (dst_data / "bomb").exists()
    rows = read_jsonl("v2_train.jsonl")
    rows[0]["teacher"] = "tpl\n\n## Injected heading\n---"
    (dst_data / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    export_dataset("t.jsonl", "card", fmt="messages-jsonl", prompt=prompt)
    card = (dst_data / "card" / "README.md").read_text(encoding="utf-8")
    assert "\n## Injected heading" not in card and "tpl\\n\\n## Injected heading\\n---" in card
