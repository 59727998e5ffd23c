"""Export a fixed (v2) dataset in the chat ``messages`` form other fine-tuning tools read.

TRL's ``SFTTrainer``, axolotl (``type: chat_template``) and LLaMA-Factory read rows of
``{"messages": [{"role": "system", ...}, {"role": "user", ...}, {"role": "assistant", ...}]}``.
Each v2 row becomes one such row, plus ``id`` and ``concept`` columns:

* the system and user turns are the prompt file's, rendered by ba-llm's one renderer
  (``ba_llm.prompt.render_messages``: system, the prompt's demo turns, the concept);
* the assistant turn is the row's canonical YAML document
  (``ba_metric.render(ba_metric.document_from_fields(row))``), exactly what ``ba-lora
  train`` trains on.

Formats: ``hf`` (a ``datasets.DatasetDict`` written with ``save_to_disk``), ``parquet``
(``train.parquet`` / ``validation.parquet``) and ``messages-jsonl`` (``train.jsonl`` /
``validation.jsonl``). Every export is a folder with a dataset card (``README.md``: schema,
teacher, split sizes, prompt hash, source hashes) and ``export_info.json``; it is built in a
tmp folder of its own and renamed into place, so it appears whole or not at all. An
existing ``-o`` folder is replaced only when it is empty or an earlier export holding only
the files it wrote (``export_info.json`` lists every one, inside its split folders too, so a
file added there is found and the re-export refused).
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ba_io import (
    DataError,
    UsageError,
    atomic_path,
    check_replaceable_folder,
    distinct_paths,
    folder_files,
    iter_jsonl,
    output_lock,
    sha256_file,
    write_json,
    write_jsonl,
)

__all__ = ["FORMATS", "SPLITS", "ExportResult", "messages_row", "export_dataset", "EXPORT_INFO"]

FORMATS = ("hf", "parquet", "messages-jsonl")
SPLITS = ("train", "validation")  # the names TRL / datasets use
EXPORT_INFO = "export_info.json"


@dataclass(frozen=True)
class ExportResult:
    output: Path
    format: str
    rows: dict[str, int]
    prompt_sha256: str


def messages_row(
    row: dict[str, Any], prompt: Any, *, where: tuple[Any, int | None] = ("<row>", None)
) -> dict[str, Any]:
    """One v2 row as ``{"id", "concept", "messages"}`` (see the module docstring). A category
    that is not a YAML list of requirements (an alias bomb, a ``!!python`` tag) is a
    :class:`DataError` at ``where`` (file, line): it would be trained on as text."""
    from ba_llm.prompt import render_messages
    from ba_metric import document_from_fields, render
    from ba_metric.parse import CATEGORIES

    doc = document_from_fields(row)
    for cat in CATEGORIES:
        if cat in doc and not isinstance(doc[cat], list):
            raise DataError(
                where[0],
                where[1],
                f"{cat}: not a YAML list of requirements (check the file with "
                "`ba-dataset-tools validate --schema example-v2`)",
            )
    messages = render_messages(prompt, row["concept"])
    messages.append({"role": "assistant", "content": render(doc)})
    return {"id": str(row.get("id", "")), "concept": row["concept"], "messages": messages}


def _check_output(output: Path) -> None:
    """New, empty, or an earlier export holding only the files it wrote (``export_info.json``
    lists them): a re-export replaces the whole folder, so anything else there is refused."""
    check_replaceable_folder(
        output,
        flag="-o",
        manifest=EXPORT_INFO,
        tool="ba-dataset-tools export",
        legacy_folders=frozenset(SPLITS),  # an hf export's splits, as older manifests listed them
    )


def _md(text: Any) -> str:
    """A value for one line of the dataset card: control characters escaped, table pipes and
    backticks neutralised, so a path, teacher or prompt name cannot add lines or cells."""
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text))
    return text.replace("|", "\\|").replace("`", "'")


def _card(
    fmt: str,
    rows: dict[str, list[dict[str, Any]]],
    sources: dict[str, dict[str, Any]],
    prompt: Any,
    teachers: collections.Counter,
) -> str:
    files = {
        "hf": "`datasets.load_from_disk(FOLDER)` (a DatasetDict)",
        "parquet": "`load_dataset(\"parquet\", data_files={\"train\": \"train.parquet\", "
        "\"validation\": \"validation.parquet\"})`",
        "messages-jsonl": "`load_dataset(\"json\", data_files={\"train\": \"train.jsonl\", "
        "\"validation\": \"validation.jsonl\"})`",
    }[fmt]
    split_lines = "\n".join(
        f"| {name} | {len(r)} | `{_md(sources[name]['path'])}` | `{sources[name]['sha256'][:16]}` |"
        for name, r in rows.items()
    )
    teacher_text = ", ".join(f"{_md(t)} ({n})" for t, n in sorted(teachers.items())) or "not recorded"
    return f"""---
task_categories:
- text-generation
tags:
- requirements-engineering
- business-analysis
- chat
---
# Requirements documents from business concepts (ba-finetune)

Each row asks for the requirements document (YAML: title, description,
functional_requirements, non_functional_requirements, constraints; IDs FR001 / NFR001 /
C001, each with a priority) of one business concept. Written by `ba-dataset-tools export
--format {fmt}`; load it with {files}.

## Schema
| column | type | what |
|---|---|---|
| `id` | string | the row id of the source dataset |
| `concept` | string | the business concept as the user wrote it |
| `messages` | list of `{{role, content}}` | `system`, the prompt's demo turns (user / assistant), `user` (the concept in the prompt's user template), `assistant` (the document) |

Train on the last `assistant` turn only (TRL: `assistant_only_loss` / a completion-only
collator); `ba-lora train` masks every earlier token the same way. Rendered with the
tokenizer's chat template, a row gives exactly the token ids `ba-lora train` trains on.

## Splits
| split | rows | source | source sha256 |
|---|---|---|---|
{split_lines}

## Provenance
- Teacher: {teacher_text}.
- Prompt: `{_md(prompt.name)}`, sha256 `{prompt.sha256}` (system, user template and demos).
- Concepts made by `ba-datagen concepts` are checked to share no 8-word run or product name
  with the hand-written curated evaluation set; keep that set out of any data you add.
"""


def export_dataset(
    train: str | Path, output: str | Path, *, fmt: str, prompt: Any, val: str | Path | None = None
) -> ExportResult:
    """Export ``train`` (and ``val``) v2 JSONL files to ``output`` in format ``fmt``."""
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    output = Path(output)
    distinct_paths(("--train", train), ("--val", val), ("-o", output))
    _check_output(output)
    out_real = Path(os.path.realpath(output))
    for flag, given in (("--train", train), ("--val", val)):  # campaign 14: a re-export deleted its own input
        if given is not None and out_real in Path(os.path.realpath(given)).parents:
            raise UsageError(
                f"{flag} {given} is inside the export folder -o {output}, which a re-export replaces whole; "
                "nothing was written: move the input out of it"
            )
    inputs = {"train": train, **({"validation": val} if val is not None else {})}
    if fmt in ("hf", "parquet"):
        try:
            import datasets
        except ImportError:
            raise UsageError(
                "--format hf/parquet needs the datasets package: pip install 'ba-dataset-tools[hf]'"
            ) from None
    with output_lock(output):  # a second export to the same folder fails at once
        _check_output(output)
        rows: dict[str, list[dict[str, Any]]] = {}
        teachers: collections.Counter = collections.Counter()
        for name, path in inputs.items():
            src = list(iter_jsonl(path, "example-v2", hint="run `ba-dataset-tools fix` first?"))
            if not src:
                raise UsageError(f"{path}: no rows to export")
            teachers.update(str(r.get("teacher") or "not recorded") for _, r in src)
            rows[name] = [messages_row(r, prompt, where=(path, line)) for line, r in src]
        sources = {name: {"path": str(path), "sha256": sha256_file(path)} for name, path in inputs.items()}
        # built aside and renamed into place whole: every file or none, nothing of an older export left
        with atomic_path(output, directory=True) as tmp:
            if fmt == "messages-jsonl":
                for name, r in rows.items():
                    write_jsonl(tmp / f"{name}.jsonl", r)
            else:
                dd = datasets.DatasetDict({name: datasets.Dataset.from_list(r) for name, r in rows.items()})
                if fmt == "hf":
                    dd.save_to_disk(str(tmp))
                else:
                    for name, ds in dd.items():
                        ds.to_parquet(str(tmp / f"{name}.parquet"))
            (tmp / "README.md").write_text(_card(fmt, rows, sources, prompt, teachers), encoding="utf-8")
            write_json(
                tmp / EXPORT_INFO,
                {
                    "format": fmt,
                    "rows": {n: len(r) for n, r in rows.items()},
                    "sources": sources,
                    "prompt": {"name": prompt.name, "sha256": prompt.sha256, "path": prompt.path},
                    "teachers": dict(teachers),
                    "files": sorted([*folder_files(tmp), EXPORT_INFO]),  # every file, inside the split folders too
                },
            )
    return ExportResult(output, fmt, {n: len(r) for n, r in rows.items()}, prompt.sha256)
