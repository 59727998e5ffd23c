"""Model specs: one string names a model, e.g. ``smollm2``, ``hf:DIR+lora:DIR``,
``gguf:FILE+lora:ADAPTER.gguf`` or ``ollama:NAME``.

:func:`parse_spec` only parses; :func:`resolve_spec` also checks that the files exist.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import BackendError, UsageError

__all__ = [
    "ModelSpec",
    "parse_spec",
    "canonical_spec",
    "resolve_spec",
    "base_model_dir",
    "check_adapter",
    "model_context",
    "check_max_new_tokens",
    "SMOLLM2_DIRNAME",
    "KINDS",
]

SMOLLM2_DIRNAME = "smollm2-135m-instruct"
DEFAULT_MODELS_DIR = Path("artifacts") / "models"
KINDS = ("smollm2", "hf", "gguf", "ollama")
_SPEC_HELP = "expected smollm2, hf:DIR[+lora:DIR], gguf:FILE[+lora:FILE.gguf] or ollama:NAME"


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec.

    ``kind`` is one of ``smollm2``, ``hf``, ``gguf``, ``ollama``; ``path`` is the model
    directory or GGUF file (``None`` for ollama and for an unresolved ``smollm2``);
    ``name`` is the ollama model name; ``lora`` the adapter path; ``spec`` the original string.
    """

    kind: str
    spec: str
    path: Path | None = None
    name: str | None = None
    lora: Path | None = None

    @property
    def backend(self) -> str:
        """Backend name: ``transformers``, ``llama.cpp`` or ``ollama``."""
        return {"smollm2": "transformers", "hf": "transformers", "gguf": "llama.cpp", "ollama": "ollama"}[self.kind]

    def __str__(self) -> str:
        return self.spec


#: what a loader reads from a model or adapter folder: weights, configs, tokenizer and chat
#: template files (``merges.txt``/``vocab.txt`` are tokenizer files despite their suffix)
MODEL_FILE_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".json", ".jinja", ".model", ".tiktoken")
MODEL_FILE_NAMES = frozenset({"merges.txt", "vocab.txt"})


def is_model_file(path: Path) -> bool:
    """Whether ``path`` (a file at the top of a model or adapter folder) is one a loader
    reads; notes, READMEs, plots and dotfiles beside the weights are not."""
    name = path.name
    return not name.startswith(".") and (name in MODEL_FILE_NAMES or name.lower().endswith(MODEL_FILE_SUFFIXES))


def model_files(top: Path) -> list[Path]:
    """The files :func:`model_files_fingerprint` covers for one model path: the file itself,
    or the model files (:func:`is_model_file`) at the top of a folder, sorted."""
    if top.is_file():
        return [top]
    if not top.is_dir():
        return []
    return sorted(p for p in top.iterdir() if p.is_file() and is_model_file(p))


def model_files_fingerprint(spec: str | ModelSpec) -> str | None:
    """What the local files of ``spec`` look like: a sha256 over the name, size and
    modification time of the model file or of each model file (:func:`model_files`) at the
    top of its folder, and of the ``+lora:`` adapter's; ``None`` for a model without local
    files (ollama, an unresolved ``smollm2``). Cheap (no file is read); it changes when a
    model or an adapter is retrained, re-merged or replaced in place, which a spec string
    never shows (campaign 20: `ba-eval generate` resumed a retrained adapter's output with
    the old adapter's rows). A note or plot added beside the weights does not change it
    (campaign 23: an unrelated NOTES.txt in the base folder made `ba-lora train --resume`
    refuse)."""
    import hashlib

    ms = spec if isinstance(spec, ModelSpec) else parse_spec(spec)
    if ms.kind == "smollm2" and ms.path is None:  # the folder it loads from (campaign 21)
        ms = replace(ms, path=base_model_dir())
    paths = [p for p in (ms.path, ms.lora) if p is not None]
    if not paths:
        return None
    h = hashlib.sha256()
    for top in paths:
        for f in model_files(top):
            st = f.stat()
            h.update(f"{f.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        h.update(b"--\n")
    return h.hexdigest()


def canonical_spec(spec: str) -> str:
    """``spec`` with its paths resolved (absolute, links followed, no trailing ``/``): two
    spellings of one model (``hf:m``, ``hf:m/``, ``hf:/abs/m``, a link to it) give the same
    string, what a resumed run compares (campaign 24: `hf:DIR/` was refused as another model
    than `hf:DIR`). A spec that does not parse, ``smollm2`` and ``ollama:NAME`` are returned as
    given, apart from surrounding spaces."""
    try:
        ms = parse_spec(spec)
    except UsageError:
        return spec.strip() if isinstance(spec, str) else spec
    lora = f"+lora:{os.path.realpath(ms.lora)}" if ms.lora is not None else ""
    if ms.path is None:
        return ("smollm2" if ms.kind == "smollm2" else f"ollama:{ms.name}") + lora
    return f"{ms.kind}:{os.path.realpath(ms.path)}{lora}"


def parse_spec(spec: str) -> ModelSpec:
    """Parse a model spec string; raise :class:`UsageError` for a malformed one."""
    if not isinstance(spec, str) or not spec.strip():
        raise UsageError(f"empty model spec; {_SPEC_HELP}")
    spec = spec.strip()
    main, sep, lora_part = spec.partition("+")
    lora: Path | None = None
    if sep:
        if not lora_part.startswith("lora:") or not lora_part[5:]:
            raise UsageError(f"model spec {spec!r}: the part after '+' must be lora:PATH")
        if "+lora:" in lora_part[5:]:
            raise UsageError(f"model spec {spec!r}: only one adapter is supported")
        lora = Path(lora_part[5:])
    if main == "smollm2":
        return ModelSpec(kind="smollm2", spec=spec, lora=lora)
    kind, colon, rest = main.partition(":")
    if not colon or kind not in ("hf", "gguf", "ollama"):
        raise UsageError(f"unknown model spec {spec!r}; {_SPEC_HELP}")
    if not rest:
        raise UsageError(f"model spec {spec!r}: nothing after '{kind}:'")
    if kind == "ollama":
        if lora is not None:
            raise UsageError(
                f"model spec {spec!r}: ollama models take no +lora (build an ollama model with the adapter instead)"
            )
        return ModelSpec(kind="ollama", spec=spec, name=rest)
    if kind == "gguf" and lora is not None and lora.suffix.lower() != ".gguf":
        raise UsageError(f"model spec {spec!r}: a gguf model takes a GGUF adapter (+lora:ADAPTER.gguf)")
    return ModelSpec(kind=kind, spec=spec, path=Path(rest), lora=lora)


def base_model_dir() -> Path:
    """Where the prepared SmolLM2 lives: ``$BA_MODELS_DIR/smollm2-135m-instruct`` or
    ``artifacts/models/smollm2-135m-instruct`` under the current directory."""
    root = os.environ.get("BA_MODELS_DIR")
    return (Path(root) if root else DEFAULT_MODELS_DIR) / SMOLLM2_DIRNAME


def _is_prepared(d: Path) -> bool:
    from .base_model import MARKER  # local import keeps torch out of spec parsing

    return (d / MARKER).is_file()


def resolve_spec(spec: str | ModelSpec) -> ModelSpec:
    """Parse (if needed) and check that the model's files exist; fill in ``path`` for smollm2."""
    ms = parse_spec(spec) if isinstance(spec, str) else spec
    if ms.kind == "smollm2":
        d = base_model_dir()
        if not _is_prepared(d):
            raise BackendError(
                f"{d}: the base model is not prepared; run `make base-model` or `ba-llm prepare smollm2`"
            )
        ms = replace(ms, path=d)
    elif ms.kind == "hf":
        assert ms.path is not None
        if not ms.path.is_dir():
            raise BackendError(f"{ms.path}: model directory not found (hf: needs a local transformers model directory)")
        if not (ms.path / "config.json").is_file():
            raise BackendError(f"{ms.path}: not a transformers model directory (no config.json)")
    elif ms.kind == "gguf":
        assert ms.path is not None
        if not ms.path.is_file():
            raise BackendError(f"{ms.path}: GGUF file not found")
    if ms.lora is not None:
        if ms.kind == "gguf":
            if not ms.lora.is_file():
                raise BackendError(f"{ms.lora}: GGUF adapter file not found")
        else:
            if not (ms.lora / "adapter_config.json").is_file():
                raise BackendError(f"{ms.lora}: not a PEFT adapter directory (no adapter_config.json)")
            check_adapter(ms.path, ms.lora)  # type: ignore[arg-type]
    return ms


def _read_json(path: Path) -> dict:
    """A model folder's JSON file (config, adapter config, weight index): a JSON object, or
    one :class:`BackendError` naming the file (campaign 18: ``[]`` was an AttributeError)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackendError(f"{path}: cannot read ({exc})") from None
    if not isinstance(data, dict):
        raise BackendError(f"{path}: not a JSON object; copy the model again or re-create it")
    return data


def _base_shapes(base_dir: Path) -> dict[str, list[int]] | None:
    """Tensor shapes of a transformers model dir, read from safetensors headers only."""
    from safetensors import safe_open

    index = base_dir / "model.safetensors.index.json"
    if index.is_file():
        weight_map = _read_json(index).get("weight_map", {})
        if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
            raise BackendError(f"{index}: its weight_map is not an object of file names; copy the model again")
        files = sorted(set(weight_map.values()))
    elif (base_dir / "model.safetensors").is_file():
        files = ["model.safetensors"]
    else:
        return None
    from .loading import REMEDY, unreadable_safetensors

    shapes: dict[str, list[int]] = {}
    for name in files:
        reason = unreadable_safetensors(base_dir / name)
        if reason is not None:  # campaign 17: `ba-llm info` printed a bare SafetensorError
            raise BackendError(f"{base_dir / name}: not a readable safetensors file ({reason}); {REMEDY}")
        with safe_open(str(base_dir / name), framework="pt") as f:
            for key in f.keys():
                shapes[key] = list(f.get_slice(key).get_shape())
    return shapes


def check_adapter(base_dir: Path, adapter_dir: Path) -> None:
    """Raise :class:`BackendError` when a PEFT adapter was built for another base model.

    Every ``lora_A``/``lora_B`` matrix must fit the base weight it adapts (same module
    present, same input / output size); this reads only safetensors headers. The
    adapter's ``base_model_name_or_path`` is named in the message.
    """
    acfg = _read_json(adapter_dir / "adapter_config.json")
    recorded = acfg.get("base_model_name_or_path") or "an unrecorded base"
    weights = adapter_dir / "adapter_model.safetensors"
    if not weights.is_file():
        raise BackendError(f"{adapter_dir}: no adapter_model.safetensors (adapters must be saved with safetensors)")
    from .loading import unreadable_safetensors

    bad = unreadable_safetensors(weights)  # campaign 22: a cut adapter was an error naming no file
    if bad is not None:
        raise BackendError(f"{weights}: not a readable safetensors file ({bad}); train or copy the adapter again")
    base = _base_shapes(base_dir)
    if base is None:
        return
    from safetensors import safe_open

    def fail(why: str) -> BackendError:
        return BackendError(
            f"{adapter_dir}: adapter was built for another base model ({recorded}): {why}; "
            f"use it with the base it was trained on, not {base_dir}"
        )

    with safe_open(str(weights), framework="pt") as f:
        for key in f.keys():
            for part, dim in ((".lora_A.", 1), (".lora_B.", 0)):
                if part not in key:
                    continue
                module = key.split(part)[0]
                if module.startswith("base_model.model."):
                    module = module[len("base_model.model.") :]
                base_key = module + ".weight"
                if base_key == "lm_head.weight" and base_key not in base:
                    base_key = "model.embed_tokens.weight"  # tied embeddings
                if base_key not in base:
                    raise fail(f"the base has no weight {base_key}")
                size = f.get_slice(key).get_shape()[dim]
                if size != base[base_key][dim]:
                    what = "input" if dim == 1 else "output"
                    raise fail(f"{key} has {what} size {size}, the base's {base_key} has {base[base_key][dim]}")


def model_context(spec: str | ModelSpec) -> int | None:
    """The model's context in tokens, read from its ``config.json`` without loading the
    weights (``smollm2`` and ``hf:`` specs); ``None`` where the spec does not say before
    loading (GGUF files, Ollama models): their backends check when they load."""
    ms = resolve_spec(spec)
    if ms.kind not in ("smollm2", "hf") or ms.path is None:
        return None
    try:
        value = _read_json(ms.path / "config.json").get("max_position_embeddings")
    except BackendError:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def check_max_new_tokens(spec: str | ModelSpec, max_new_tokens: int, flag: str = "--max-new-tokens") -> None:
    """Refuse a token limit beyond the model's context before any weights are loaded (the
    transformers backend allocates its KV cache for the whole limit up front)."""
    context = model_context(spec)
    if context is not None and max_new_tokens > context:
        raise UsageError(
            f"{flag} {max_new_tokens} is more than the model's context of {context} tokens; use at most {context}"
        )


def check_not_a_model_file(spec: str | ModelSpec, path: str | os.PathLike[str], flag: str) -> None:
    """Refuse an output that is one of the model's own files or inside its folder (the model
    directory, GGUF file or LoRA adapter a spec names; through links too): the model is an
    input of the run, and writing there would destroy it."""
    ms = parse_spec(spec) if isinstance(spec, str) else spec
    if ms.kind == "ollama":
        return
    try:
        ms = resolve_spec(ms)
    except (UsageError, BackendError):  # no model files there to protect; loading it says why later
        return
    from ba_io.paths import name_input_folder

    target = Path(os.path.realpath(path))
    for own in (ms.path, ms.lora):
        if own is None:
            continue
        real = Path(os.path.realpath(own))
        # a link put at the output later is refused at the write (campaign 38)
        name_input_folder(real, f"a file of the model {ms.spec}")
        if target == real or real in target.parents:
            raise UsageError(
                f"{flag} {os.fspath(path)} is a file of the model {ms.spec} ({own}); nothing was written: "
                f"give {flag} a path of its own"
            )
