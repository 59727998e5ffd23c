"""Across packages: ba-datagen -> ba-dataset-tools fix -> export (hf, parquet, messages JSONL)
-> loaded back with `datasets` and rendered with SmolLM2's own chat template gives exactly
the token ids `ba-lora train` trains on, for every row; ba-lora reads each export as --train
and --val and gets the same samples as from the v2 JSONL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ba_io import read_jsonl

BIN = Path(sys.executable).parent


def _run(*args: str, cwd: Path) -> str:
    env = {**os.environ, "BA_NO_PROGRESS": "1"}
    res = subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True, env=env)
    assert res.returncode == 0, f"{' '.join(args)}: {res.stderr}"
    return res.stdout


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    from ba_llm import prepare

    return prepare("smollm2", tmp_path_factory.mktemp("models") / "smollm2", log=lambda m: None)


@pytest.fixture(scope="module")
def fixed(tmp_path_factory):
    """A small pipeline dataset: 40 generated concepts, the template teacher, split, fixed."""
    d = tmp_path_factory.mktemp("data")
    _run("ba-datagen", "concepts", "--n", "40", "--seed", "7", "--out", "concepts.jsonl", cwd=d)
    _run(
        "ba-datagen",
        "synth",
        "--teacher",
        "template",
        "--in",
        "concepts.jsonl",
        "--out",
        "raw.jsonl",
        "--rejects",
        "raw.rejects.jsonl",
        cwd=d,
    )
    _run(
        "ba-dataset-tools",
        "split",
        "raw.jsonl",
        "--val-ratio",
        "0.2",
        "--seed",
        "7",
        "--train-out",
        "train.jsonl",
        "--val-out",
        "val.jsonl",
        cwd=d,
    )
    for split in ("train", "val"):
        _run(
            "ba-dataset-tools",
            "fix",
            f"{split}.jsonl",
            "--fix-ids",
            "--convert-to-yaml-strings",
            "--validate",
            "-o",
            f"{split}_fixed.jsonl",
            "--rejects",
            f"{split}_fixed.rejects.jsonl",
            cwd=d,
        )
    return d


PROMPT = Path(__file__).resolve().parents[2] / "prompts" / "finetune.json"


def _loaded(fmt: str, out: Path, cache: Path):
    import datasets

    if fmt == "hf":
        return datasets.load_from_disk(str(out))
    kind, ext = ("parquet", "parquet") if fmt == "parquet" else ("json", "jsonl")
    return datasets.load_dataset(
        kind, data_files={s: str(out / f"{s}.{ext}") for s in ("train", "validation")}, cache_dir=str(cache)
    )


@pytest.mark.integration
@pytest.mark.parametrize("fmt", ["hf", "parquet", "messages-jsonl"])
def test_export_round_trips_to_the_trainers_token_ids(fmt, fixed, smollm2, tmp_path):
    from ba_llm.prompt import load_prompt
    from ba_lora.data import encode_row
    from ba_lora.modeling import load_tokenizer
    from ba_lora.sources import load_rows

    out = tmp_path / f"export-{fmt}"
    _run(
        "ba-dataset-tools",
        "export",
        "--train",
        "train_fixed.jsonl",
        "--val",
        "val_fixed.jsonl",
        "--format",
        fmt,
        "--prompt",
        str(PROMPT),
        "-o",
        str(out),
        cwd=fixed,
    )
    tok = load_tokenizer(smollm2)
    prompt = load_prompt(PROMPT)
    loaded = _loaded(fmt, out, tmp_path / "cache")
    checked = 0
    for split, src in (("train", "train_fixed.jsonl"), ("validation", "val_fixed.jsonl")):
        v2 = read_jsonl(fixed / src, "example-v2")
        assert len(loaded[split]) == len(v2) > 0
        via_ba_lora = load_rows(out, prompt, split=split)
        for row, exported, again in zip(v2, loaded[split], via_ba_lora):
            trained = encode_row(tok, prompt, row, max_length=1 << 16)
            ids = tok.apply_chat_template(exported["messages"], tokenize=True, return_dict=True)["input_ids"]
            assert list(ids) == list(trained.input_ids), f"{split} {row['id']}: token ids differ"
            prompt_ids = tok.apply_chat_template(
                exported["messages"][:-1], tokenize=True, return_dict=True, add_generation_prompt=True
            )["input_ids"]
            assert len(prompt_ids) == trained.n_prompt  # the masked prefix is the generation prompt
            assert encode_row(tok, prompt, again, max_length=1 << 16) == trained
            checked += 1
    assert checked == sum(len(loaded[s]) for s in ("train", "validation"))
