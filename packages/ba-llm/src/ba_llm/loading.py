"""The one loader of a transformers model folder, and its checks.

Every command that loads a transformers model (generation, ``ba-llm info``, ``ba-lora
train`` and ``merge``, the GGUF export) goes through here, so a corrupt ``*.safetensors``
or a ``config.json`` that transformers refuses is always one :class:`BackendError` naming
the file and the remedy (campaign 17: ``info``, ``merge`` and ``train`` printed a bare
SafetensorError with exit 1, or a two-line StrictDataclass error), and a command can check
a folder before it writes anything.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from .errors import BackendError

# peft asks transformers 5 a deprecated question (`is_gradient_checkpointing`) on every wrap:
# a FutureWarning on stderr of every +lora generation, training run and merge, none of them
# the user's to act on (campaign 24)
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*deprecated", category=FutureWarning)

__all__ = [
    "check_model_folder",
    "check_tokenizer_fits",
    "load_causal_lm",
    "read_gguf",
    "unreadable_safetensors",
]

#: what to do about a model folder that does not load
REMEDY = "copy the model again or re-create it (ba-llm prepare, ba-lora merge)"


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def unreadable_safetensors(path: str | Path) -> str | None:
    """Why ``path`` is not a readable safetensors file (its header and tensor index), or
    None when it is one; reads the header only."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            f.keys()
    except (SafetensorError, OSError, ValueError) as exc:
        return _first_line(exc)
    return None


def _load_errors() -> tuple[type[BaseException], ...]:
    """What transformers raises for a folder it cannot load: files (OSError), values
    (ValueError, SafetensorError) and huggingface_hub's strict config dataclasses."""
    from safetensors import SafetensorError

    # RuntimeError: weights whose shapes do not match config.json (ignore_mismatched_sizes)
    errors: tuple[type[BaseException], ...] = (OSError, ValueError, RuntimeError, SafetensorError)
    try:
        from huggingface_hub.errors import StrictDataclassError

        errors += (StrictDataclassError,)
    except ImportError:  # pragma: no cover - an older huggingface_hub
        pass
    return errors


def check_model_folder(path: str | Path) -> None:
    """Raise :class:`BackendError` unless ``path`` holds a ``config.json`` that transformers
    accepts and readable ``*.safetensors`` files; reads headers and the config only (a
    second or so), so a command can call it before it creates any output."""
    folder = Path(path)
    config = folder / "config.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackendError(f"{folder}: not a transformers model folder (no config.json)") from None
    except (OSError, ValueError) as exc:
        raise BackendError(f"{config}: not a readable model config ({_first_line(exc)}); {REMEDY}") from None
    if not isinstance(data, dict):
        raise BackendError(f"{config}: not a readable model config (not a JSON object); {REMEDY}")
    for weights in sorted(folder.glob("*.safetensors")):
        reason = unreadable_safetensors(weights)
        if reason is not None:
            raise BackendError(f"{weights}: not a readable safetensors file ({reason}); {REMEDY}")
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(str(folder))
    except _load_errors() as exc:
        raise BackendError(f"{config}: transformers refuses this model config ({_first_line(exc)}); {REMEDY}") from None


def load_causal_lm(path: str | Path, **kwargs: Any) -> Any:
    """``AutoModelForCausalLM.from_pretrained(path, **kwargs)``, after
    :func:`check_model_folder`; any failure is one :class:`BackendError` naming the folder."""
    check_model_folder(path)
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
    except _load_errors() as exc:
        raise BackendError(f"{path}: cannot load the transformers model ({_first_line(exc)}); {REMEDY}") from None


def load_tokenizer(path: str | Path) -> Any:
    """``AutoTokenizer.from_pretrained(path)``; a missing, cut-short or unreadable tokenizer
    is one :class:`BackendError` naming the folder (campaign 42: `ba-lora train` on a model
    whose tokenizer.json was truncated ended in an internal JSONDecodeError naming no file)."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path))
    except Exception as exc:  # noqa: BLE001 - the tokenizers library raises a plain Exception (campaign 43)
        raise BackendError(f"{path}: cannot load the tokenizer ({_first_line(exc)}); {REMEDY}") from None


def check_tokenizer_fits(model: Any, tokenizer: Any, path: str | Path) -> None:
    """Raise :class:`BackendError` when the tokenizer has more tokens than the model has
    embeddings (campaign 18: a config.json with a smaller ``vocab_size`` loaded, then failed
    on the first token with an internal IndexError)."""
    embeddings = model.get_input_embeddings()
    rows = getattr(embeddings, "num_embeddings", None)
    if isinstance(rows, int) and len(tokenizer) > rows:
        raise BackendError(
            f"{Path(path) / 'config.json'}: the model has {rows} token embeddings and its tokenizer "
            f"{len(tokenizer)} tokens (a vocab_size that does not match); {REMEDY}"
        )


def read_gguf(path: str | Path) -> Any:
    """``gguf.GGUFReader(path)``; a file that is not a whole GGUF (cut short, another format,
    random bytes) is one :class:`DataError` naming it (campaign 18: an internal IndexError
    or ValueError in ``ba-llm info`` and ``ba-lora export --from``)."""
    import struct

    from gguf import GGUFReader

    from .errors import DataError

    try:
        return GGUFReader(str(path))
    except (ValueError, IndexError, KeyError, struct.error, OSError) as exc:
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        raise DataError(path, None, f"not a readable GGUF file ({_first_line(exc)}); copy or export it again") from None
