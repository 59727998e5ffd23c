"""What ``--train`` / ``--val`` may name: our v2 JSONL, or a chat ``messages`` dataset as
``ba-dataset-tools export`` writes it (and TRL / axolotl / LLaMA-Factory read it).

* v2 JSONL (``schemas/example-v2``): the answer is the row's canonical YAML document.
* a ``datasets`` folder written with ``save_to_disk`` (a DatasetDict: ``--train`` reads its
  ``train`` split, ``--val`` its ``validation`` split; or a single Dataset);
* a parquet file, or an export folder holding ``train.parquet`` / ``validation.parquet``;
* a messages JSONL file (rows with a ``messages`` list), or an export folder holding
  ``train.jsonl`` / ``validation.jsonl``.

A messages row needs a ``concept`` and ``messages`` whose last turn is the assistant's
answer. Its earlier turns must be exactly ba-llm's rendering of ``--prompt`` for that
concept (``render_messages``), because the adapter is saved with that prompt and every
consumer prompts it that way; a row rendered with another prompt is refused with its
line, not trained on silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ba_io import DataError, UsageError, iter_jsonl

__all__ = ["load_rows", "dataset_form", "split_source"]

_SPLIT_FILES = ("{split}.parquet", "{split}.jsonl")


def _is_hf_folder(p: Path) -> bool:
    return (p / "dataset_dict.json").is_file() or (p / "state.json").is_file()


def dataset_form(path: str | Path) -> str:
    """``v2-jsonl``, ``messages-jsonl``, ``parquet`` or ``hf`` (see the module docstring)."""
    p = Path(path)
    if p.is_dir():
        return "hf" if _is_hf_folder(p) else "folder"
    if p.suffix == ".parquet":
        return "parquet"
    # the first row decides, parsed (campaign 22: a byte search for "messages" took a v2 row
    # whose title was "messages" for a chat row, and missed a key after 64 KiB of fields)
    try:
        with open(p, "rb") as f:
            # a line holding only a BOM is blank too, as ba-io's readers take it (campaign 23)
            first = next((line for line in f if line.lstrip(b"\xef\xbb\xbf").strip(b" \t\r\n")), b"")
    except OSError:
        return "v2-jsonl"  # read_jsonl reports it with its usual message
    try:
        row = json.loads(first.lstrip(b"\xef\xbb\xbf"))
    except (ValueError, RecursionError):
        return "v2-jsonl"  # likewise: the reader names the line
    chat = isinstance(row, dict) and "messages" in row and not {"title", "functional_requirements"} & row.keys()
    return "messages-jsonl" if chat else "v2-jsonl"


def _hf_rows(p: Path, split: str) -> list[dict[str, Any]]:
    try:
        import datasets
    except ImportError:
        raise UsageError(
            f"{p}: reading a Hugging Face dataset needs the datasets package: pip install 'ba-lora[hf]'"
        ) from None
    try:
        ds = datasets.load_from_disk(str(p))
        if isinstance(ds, datasets.DatasetDict):
            if split not in ds:
                raise UsageError(f"{p}: no {split!r} split (it has {', '.join(ds) or 'none'})")
            ds = ds[split]
        return ds.to_list()
    except (OSError, ValueError, KeyError, TypeError) as exc:  # campaign 17: the error named no file
        where, why = _broken_file(p) or (p, " ".join(str(exc).split())[:160] or type(exc).__name__)
        raise DataError(where, None, f"not a readable saved dataset ({why}); export it again") from None


def _broken_file(p: Path) -> tuple[Path, str] | None:
    """The first file of a ``save_to_disk`` folder that does not read (a JSON file that does
    not parse, an Arrow file cut short), with why; None when each reads."""
    import json

    import pyarrow as pa

    for f in sorted(p.rglob("*")):
        try:
            if f.suffix == ".json":
                json.loads(f.read_text(encoding="utf-8"))
            elif f.suffix == ".arrow":
                with pa.memory_map(str(f)) as source:
                    pa.ipc.open_stream(source).read_all()
        except (OSError, ValueError, UnicodeDecodeError, pa.ArrowException) as exc:
            return f, " ".join(str(exc).split())[:160] or type(exc).__name__
    return None


def _parquet_rows(p: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError(f"{p}: reading parquet needs pyarrow: pip install 'ba-lora[hf]'") from None
    try:
        return pq.read_table(str(p)).to_pylist()
    except (OSError, ValueError) as exc:
        raise DataError(p, None, f"not a readable parquet file ({' '.join(str(exc).split())[:160]})") from None


def _check_v2(path: Path, line: int, row: dict[str, Any]) -> dict[str, Any]:
    """A v2 row whose every category string decodes to a YAML list: the document trained on
    is then the row's requirements, not a YAML string that failed to parse (an alias bomb,
    a ``!!python`` tag) rendered as text."""
    from ba_metric import document_from_fields
    from ba_metric.parse import CATEGORIES

    doc = document_from_fields(row)
    for cat in CATEGORIES:
        if cat in doc and not isinstance(doc[cat], list):
            raise DataError(
                path,
                line,
                f"{cat}: not a YAML list of requirements (check the file with "
                "`ba-dataset-tools validate --schema example-v2`)",
            )
    return row


def _check_messages(path: Path, line: int | None, row: Any, prompt: Any) -> dict[str, Any]:
    from ba_llm.prompt import render_messages

    if not isinstance(row, dict):
        raise DataError(path, line, "a messages row must be an object")
    concept, messages = row.get("concept"), row.get("messages")
    if not isinstance(concept, str) or not concept.strip():
        raise DataError(path, line, "no 'concept' (a messages row needs the concept it answers)")
    if (
        not isinstance(messages, list)
        or len(messages) < 2
        or not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages)
    ):
        raise DataError(path, line, "'messages' must be a list of {role, content} turns")
    turns = [{"role": m.get("role"), "content": m["content"]} for m in messages]
    if turns[-1]["role"] != "assistant" or not turns[-1]["content"].strip():
        raise DataError(path, line, "the last message must be the assistant's (non-empty) answer")
    if turns[:-1] != render_messages(prompt, concept):
        raise DataError(
            path,
            line,
            f"its system / user turns are not --prompt's ({prompt.name}) rendering of "
            "the concept; export the data with the same --prompt, or train with "
            "the prompt it was exported with",
        )
    return {"id": str(row.get("id", "")), "concept": concept, "messages": turns}


def split_source(path: str | Path, split: str = "train") -> Path:
    """What the ``split`` of ``path`` is read from, and so what its hash covers: the file
    itself; in a split folder its ``split`` file; in an hf ``save_to_disk`` folder its
    ``split`` subfolder when it has one (campaign 24: a re-export with another validation split
    made --resume refuse a run whose training split was byte-identical)."""
    p = Path(path)
    form = dataset_form(p)
    if form == "folder":
        found = [p / pat.format(split=split) for pat in _SPLIT_FILES if (p / pat.format(split=split)).is_file()]
        return found[0] if found else p
    if form == "hf" and (p / split).is_dir():
        return p / split
    return p


def load_rows(path: str | Path, prompt: Any, *, split: str = "train") -> list[dict[str, Any]]:
    """The rows of ``path`` for training (``split`` ``train``) or validation (``validation``)."""
    p = Path(path)
    form = dataset_form(p)
    if form == "folder":
        found = [
            p / pattern.format(split=split) for pattern in _SPLIT_FILES if (p / pattern.format(split=split)).is_file()
        ]
        if not found:
            raise UsageError(
                f"{p}: a folder, but not a dataset (no dataset_dict.json, {split}.parquet or {split}.jsonl)"
            )
        p, form = found[0], dataset_form(found[0])
    if form == "v2-jsonl":
        return [_check_v2(p, line, row) for line, row in iter_jsonl(p, "example-v2", hint="run `make fix` first?")]
    if form == "messages-jsonl":
        return [_check_messages(p, line, row, prompt) for line, row in iter_jsonl(p)]
    raw = _hf_rows(p, split) if form == "hf" else _parquet_rows(p)
    return [_check_messages(p, i + 1, row, prompt) for i, row in enumerate(raw)]
