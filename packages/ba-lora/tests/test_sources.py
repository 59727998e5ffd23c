"""--train / --val in the chat-messages forms (save_to_disk, parquet, messages JSONL) give
exactly the samples of the v2 JSONL they were made from; foreign prompts are refused."""

from __future__ import annotations

import json

import pytest

from ba_io import DataError, UsageError, read_jsonl, write_jsonl
from ba_lora.data import answer_text, encode_row
from ba_lora.sources import dataset_form, load_rows


@pytest.fixture(scope="module")
def tok(tiny_model_dir):
    from ba_lora.modeling import load_tokenizer

    return load_tokenizer(tiny_model_dir)


@pytest.fixture(scope="module")
def prompt(data_dir):
    from ba_llm.prompt import load_prompt

    return load_prompt(data_dir / "prompt_demo.json")  # with a demo: its turns are part of the messages


def _messages(rows, prompt):
    """The documented messages form (what ba-dataset-tools export writes)."""
    from ba_llm.prompt import render_messages

    return [
        {
            "id": r["id"],
            "concept": r["concept"],
            "messages": render_messages(prompt, r["concept"]) + [{"role": "assistant", "content": answer_text(r)}],
        }
        for r in rows
    ]


@pytest.fixture(scope="module")
def v2(data_dir):
    return {
        "train": read_jsonl(data_dir / "train.jsonl", "example-v2"),
        "validation": read_jsonl(data_dir / "val.jsonl", "example-v2"),
    }


def _write(form, root, v2, prompt):
    import datasets

    msgs = {split: _messages(rows, prompt) for split, rows in v2.items()}
    if form == "hf":
        datasets.DatasetDict({s: datasets.Dataset.from_list(m) for s, m in msgs.items()}).save_to_disk(str(root))
        return root, root
    root.mkdir()
    if form == "parquet":
        for s, m in msgs.items():
            datasets.Dataset.from_list(m).to_parquet(str(root / f"{s}.parquet"))
        return root / "train.parquet", root  # a file, and the export folder
    for s, m in msgs.items():
        write_jsonl(root / f"{s}.jsonl", m)
    return root / "train.jsonl", root


@pytest.mark.parametrize("form", ["hf", "parquet", "messages-jsonl"])
def test_a_messages_dataset_trains_on_the_same_token_ids_as_its_v2_rows(form, tmp_path, tok, prompt, v2):
    train_path, folder = _write(form, tmp_path / form, v2, prompt)
    assert dataset_form(train_path) == form
    for split in ("train", "validation"):
        got = load_rows(folder, prompt, split=split)
        assert [r["id"] for r in got] == [r["id"] for r in v2[split]]
        for mine, ref in zip(got, v2[split]):
            a = encode_row(tok, prompt, mine, max_length=4096)
            b = encode_row(tok, prompt, ref, max_length=4096)
            assert (a.input_ids, a.n_prompt) == (b.input_ids, b.n_prompt)
    assert [r["id"] for r in load_rows(train_path, prompt)] == [r["id"] for r in v2["train"]]


def test_rows_rendered_with_another_prompt_are_refused_with_their_line(tmp_path, prompt, v2):
    from ba_llm.prompt import load_prompt

    path = tmp_path / "other.jsonl"
    write_jsonl(path, _messages(v2["train"], load_prompt(None)))  # the default prompt, not --prompt's
    with pytest.raises(DataError, match=r"other.jsonl:1: .*not --prompt's"):
        load_rows(path, prompt)
    rows = _messages(v2["train"][:2], prompt)
    rows[1]["messages"] = rows[1]["messages"][:-1]  # no assistant answer
    write_jsonl(path, rows)
    with pytest.raises(DataError, match=r"other.jsonl:2: the last message must be the assistant's"):
        load_rows(path, prompt)
    rows = _messages(v2["train"][:1], prompt)
    del rows[0]["concept"]
    path.write_text(json.dumps(rows[0]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="no 'concept'"):
        load_rows(path, prompt)


def test_a_missing_split_or_a_folder_that_is_no_dataset_is_a_usage_error(tmp_path, prompt, v2):
    import datasets

    only_train = tmp_path / "only-train"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(_messages(v2["train"], prompt))}).save_to_disk(
        str(only_train)
    )
    with pytest.raises(UsageError, match=r"no 'validation' split \(it has train\)"):
        load_rows(only_train, prompt, split="validation")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="not a dataset"):
        load_rows(tmp_path / "empty", prompt)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(DataError, match="not a readable parquet file"):
        load_rows(bad, prompt)


def test_a_v2_row_whose_category_is_not_a_yaml_list_is_refused_with_its_line(data_dir, prompt, tmp_path):
    """The campaign: a YAML alias bomb (or a !!python tag) in a category was trained on as text."""
    with pytest.raises(DataError, match=r"yaml_bomb_category.jsonl:1: functional_requirements: not a YAML list"):
        load_rows(data_dir / "yaml_bomb_category.jsonl", prompt)
    tagged = tmp_path / "tagged.jsonl"
    row = read_jsonl(data_dir / "train.jsonl", "example-v2")[0]
    row["constraints"] = "!!python/object/apply:os.system ['echo pwned']"
    write_jsonl(tagged, [read_jsonl(data_dir / "train.jsonl")[1], row])
    with pytest.raises(DataError, match=r"tagged.jsonl:2: constraints: not a YAML list"):
        load_rows(tagged, prompt)


@pytest.mark.parametrize("damage", ["arrow", "dataset_dict.json"])
def test_a_corrupt_saved_dataset_is_named_by_its_file(tmp_path, prompt, v2, damage):
    """Campaign 17: a save_to_disk folder with a truncated .arrow file or a broken
    dataset_dict.json gave an error that named no file."""
    root, _ = _write("hf", tmp_path / "ds", v2, prompt)
    if damage == "arrow":
        bad = next((root / "train").glob("*.arrow"))
        bad.write_bytes(bad.read_bytes()[:100])
    else:
        bad = root / "dataset_dict.json"
        bad.write_text('{"splits": ["train", ')
    with pytest.raises(DataError) as exc:
        load_rows(root, prompt, split="train")
    assert str(exc.value).startswith(f"{bad}: not a readable saved dataset (")


def test_one_saved_dataset_folder_serves_train_and_val(tmp_path, prompt, v2, data_dir, tiny_model_dir):
    """Campaign 17: `ba-lora train --train DS --val DS` (its train and validation splits, as
    --help documents) was refused as one file given twice; one JSONL file for both still is."""
    from conftest import run_cli

    root, _ = _write("hf", tmp_path / "ds", v2, prompt)
    common = ["--model", str(tiny_model_dir), "--prompt", str(data_dir / "prompt_demo.json"), "--max-steps", "1"]
    res = run_cli("train", "--train", str(root), "--val", str(root), "-o", str(tmp_path / "run"), *common)
    assert res.returncode == 0, res.stderr
    info = json.loads((tmp_path / "run" / "training_info.json").read_text())
    assert info["datasets"]["val"]["rows"] == len(v2["validation"]), info["datasets"]
    same = str(data_dir / "train.jsonl")
    res = run_cli("train", "--train", same, "--val", same, "-o", str(tmp_path / "run2"), *common)
    assert res.returncode == 2 and "are the same file" in res.stderr, res.stderr


def test_the_form_of_a_jsonl_file_is_decided_by_its_first_row_parsed(tmp_path):
    """Campaign 22 D7: a v2 row titled "messages" was read as a chat row (a byte search), and
    a chat row whose `messages` key came after 64 KiB of other fields was read as v2."""
    v2_row = {"id": "a", "concept": "c", "title": "messages", "description": "d", "functional_requirements": []}
    chat_row = {"id": "b", "concept": "x" * 70_000, "messages": [{"role": "user", "content": "hi"}]}
    for row, form in ((v2_row, "v2-jsonl"), (chat_row, "messages-jsonl")):
        p = tmp_path / f"{row['id']}.jsonl"
        p.write_text("\n" + json.dumps(row) + "\n", encoding="utf-8")
        assert dataset_form(p) == form
    bom_line = tmp_path / "bom.jsonl"  # campaign 23: a first line holding only a BOM
    bom_line.write_bytes(b"\xef\xbb\xbf\n" + json.dumps(chat_row).encode() + b"\n")
    assert dataset_form(bom_line) == "messages-jsonl"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": \n', encoding="utf-8")
    assert dataset_form(bad) == "v2-jsonl"  # the v2 reader names the line


@pytest.mark.parametrize("form", ["hf", "parquet", "messages-jsonl"])
def test_a_split_is_hashed_by_what_it_is_read_from(form, tmp_path, prompt, v2):
    """Campaign 24: --train EXPORT_FOLDER hashed the whole folder, so a re-export with another
    validation split made --resume refuse a run whose training split was byte-identical."""
    from ba_lora.outputs import dataset_info

    _, folder = _write(form, tmp_path / "a", v2, prompt)
    other = {"train": v2["train"], "validation": v2["validation"][:1]}
    _, folder2 = _write(form, tmp_path / "b", other, prompt)
    a, b = dataset_info(str(folder), 1), dataset_info(str(folder2), 1)
    if form != "hf":  # save_to_disk files carry fingerprints of their own: the split folder is compared
        assert a["sha256"] == b["sha256"]
    assert dataset_info(str(folder), 1, "validation")["sha256"] != dataset_info(str(folder2), 1, "validation")["sha256"]
