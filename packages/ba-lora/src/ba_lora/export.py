"""After training: merge the adapter into the base (bf16 safetensors) and export it for
Ollama / llama.cpp (a GGUF LoRA adapter and a Modelfile).

The GGUF adapter follows llama.cpp's ``convert_lora_to_gguf.py``: ``general.type =
adapter``, ``adapter.type = lora``, ``adapter.lora.alpha``; tensors named after the base
model's GGUF tensors plus ``.lora_a`` / ``.lora_b`` (``blk.0.attn_q.weight.lora_a``),
``lora_a`` = PEFT ``lora_A`` (rank x in), ``lora_b`` = PEFT ``lora_B`` (out x rank), with
the rows of the q / k ``lora_B`` permuted the way the converter permutes Llama's q / k
weights.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ba_io import (
    DataError,
    UsageError,
    atomic_path,
    atomic_write,
    check_replaceable_folder,
    distinct_paths,
    folder_files,
    output_lock,
    read_json,
    write_json,
)

from .modeling import resolve_base_dir

__all__ = [
    "adapter_base_dir",
    "merge_adapter",
    "write_gguf_adapter",
    "write_merged_gguf",
    "modelfile_text",
    "export_ollama",
    "merged_gguf_name",
    "CHATML_OLLAMA_TEMPLATE",
    "MERGED_TYPES",
]

# Ollama's Go-template rendering of ChatML, identical to the Hugging Face ChatML template
# with add_generation_prompt=True.
CHATML_OLLAMA_TEMPLATE = """{{- if .Messages }}
{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 -}}
{{- if eq .Role "user" }}<|im_start|>user
{{ .Content }}<|im_end|>
{{ else if eq .Role "assistant" }}<|im_start|>assistant
{{ .Content }}{{ if not $last }}<|im_end|>
{{ end }}
{{- end }}
{{- if and (ne .Role "assistant") $last }}<|im_start|>assistant
{{ end }}
{{- end }}
{{- else }}
{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{ if .Prompt }}<|im_start|>user
{{ .Prompt }}<|im_end|>
{{ end }}<|im_start|>assistant
{{ end }}{{ .Response }}{{ if .Response }}<|im_end|>{{ end }}"""

PREPARED_MARKER = "ba-llm-prepared.json"  # written by `ba-llm prepare` into a prepared base directory

# model_type -> (gguf architecture, permute q/k rows like convert_hf_to_gguf's LlamaModel)
_ARCHS = {"llama": ("LLAMA", True), "mistral": ("LLAMA", True), "qwen2": ("QWEN2", False)}


def _adapter_files(adapter_dir: Path) -> None:
    if not (adapter_dir / "adapter_config.json").is_file():
        raise UsageError(f"{adapter_dir}: not a PEFT adapter directory (no adapter_config.json)")
    if not (adapter_dir / "adapter_model.safetensors").is_file():
        raise DataError(adapter_dir, None, "no adapter_model.safetensors (adapters must be saved with safetensors)")
    # campaign 15: a broken config or a truncated weights file surfaced as a bare
    # JSONDecodeError / SafetensorError naming no file
    config = adapter_dir / "adapter_config.json"
    try:
        if not isinstance(json.loads(config.read_text(encoding="utf-8")), dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(config, None, f"not a valid adapter config ({exc}); re-save or re-train the adapter") from None
    from ba_llm import unreadable_safetensors

    weights = adapter_dir / "adapter_model.safetensors"
    reason = unreadable_safetensors(weights)
    if reason is not None:
        raise DataError(weights, None, f"unreadable safetensors file ({reason}); re-save or re-train the adapter")


def adapter_base_dir(adapter_dir: Path, base: str | None = None) -> Path:
    """The base model directory of an adapter: ``base`` if given, else the one its
    ``training_info.json`` records, else ``base_model_name_or_path`` when it is a directory."""
    if base:
        return resolve_base_dir(base)
    info_path = adapter_dir / "training_info.json"
    if info_path.is_file():
        info = read_json(info_path)
        path = info.get("base_model_path")
        if path and Path(path).is_dir():
            return Path(path)
        return resolve_base_dir(info["base_model"])
    cfg = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    name = cfg.get("base_model_name_or_path")
    if name and Path(name).is_dir():
        return Path(name)
    raise UsageError(f"{adapter_dir}: cannot tell the base model (no training_info.json); pass --model")


MERGED_MARKER = "ba-lora-merged.json"  # written by merge_adapter into a merged model directory


def _check_merge_output(output: Path, adapter_dir: Path, base_dir: Path) -> None:
    """``--output`` may be a new path, an empty folder or an earlier merge (it holds
    :data:`MERGED_MARKER`); anything else is the user's and is never replaced."""
    distinct_paths(("--adapter", adapter_dir), ("--model", base_dir), ("--output", output))
    # an older merge is known by its marker: a folder of the user's with only model-like names
    # (their own config.json, a save_pretrained model) was replaced whole (campaign 15)
    marked = _older_merge_marker(output / MERGED_MARKER)
    check_replaceable_folder(
        output,
        flag="--output",
        manifest=MERGED_MARKER,
        tool="ba-lora merge",
        legacy=_MERGE_LEGACY if marked else frozenset(),
    )


def _older_merge_marker(path: Path) -> bool:
    """A marker an older merge wrote: a plain file holding a JSON object with the adapter and
    base it merged (campaign 16: an empty file, or one of the user's, at that name was taken
    for one, and the folder replaced)."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and isinstance(data.get("adapter"), str) and isinstance(data.get("base"), str)


#: what a merge wrote before its marker listed its files (an older ba-lora)
_MERGE_LEGACY = frozenset({
    MERGED_MARKER, "config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
    "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja", "vocab.json", "merges.txt",
    "added_tokens.json", "prompt.json", "adapter_training_info.json",
})  # fmt: skip


def merge_adapter(adapter_dir: str | Path, output: str | Path, base: str | None = None) -> Path:
    """Merge the adapter into its base and save a bf16 safetensors model (+ tokenizer,
    prompt.json, :data:`MERGED_MARKER`) into ``output``: built in a tmp folder of its own and
    renamed into place (``ba_io.atomic_path``), one run per output (``ba_io.output_lock``).
    An earlier merge at ``output`` is replaced; a folder of the user's is refused."""
    from peft import PeftModel

    from ba_llm import load_causal_lm, load_tokenizer

    adapter_dir, output = Path(adapter_dir), Path(output)
    _adapter_files(adapter_dir)
    base_dir = adapter_base_dir(adapter_dir, base)
    _check_merge_output(output, adapter_dir, base_dir)
    with output_lock(output):
        _check_merge_output(output, adapter_dir, base_dir)  # again, now that no other run can write it
        model = load_causal_lm(base_dir, dtype=torch.float32)
        model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
        model = model.to(torch.bfloat16)
        tok_dir = adapter_dir if (adapter_dir / "tokenizer_config.json").is_file() else base_dir
        tokenizer = load_tokenizer(tok_dir)
        with atomic_path(output, directory=True) as tmp:
            model.save_pretrained(str(tmp), safe_serialization=True)
            tokenizer.save_pretrained(str(tmp))
            for name in ("prompt.json", "training_info.json"):
                if (adapter_dir / name).is_file():
                    shutil.copyfile(
                        adapter_dir / name, tmp / (name if name == "prompt.json" else "adapter_training_info.json")
                    )
            files = sorted([*folder_files(tmp), MERGED_MARKER])
            write_json(
                tmp / MERGED_MARKER,
                {"adapter": str(adapter_dir.resolve()), "base": str(base_dir.resolve()), "files": files},
            )
    return output


@dataclass(frozen=True)
class _GGUFArch:
    arch: Any  # gguf.MODEL_ARCH member
    permute: bool  # permute q/k rows like convert_hf_to_gguf's LlamaModel
    n_head: int
    n_kv: int
    names: Any  # gguf.TensorNameMap: HF module names -> GGUF tensor names


def _gguf_arch(base_dir: Path) -> _GGUFArch:
    """The llama.cpp architecture of a transformers base model (config.json)."""
    import gguf

    hp = json.loads((base_dir / "config.json").read_text(encoding="utf-8"))
    mtype = hp.get("model_type")
    if mtype not in _ARCHS:
        raise UsageError(f"GGUF export supports {', '.join(sorted(_ARCHS))} models, not {mtype!r}")
    arch_name, permute = _ARCHS[mtype]
    arch = getattr(gguf.MODEL_ARCH, arch_name)
    n_head = hp["num_attention_heads"]
    return _GGUFArch(
        arch,
        permute,
        n_head,
        hp.get("num_key_value_heads") or n_head,
        gguf.get_tensor_name_map(arch, hp["num_hidden_layers"]),
    )


def _permute_rows(b: torch.Tensor, n_head: int) -> torch.Tensor:
    out = b.shape[0]
    return b.reshape(n_head, 2, out // n_head // 2, *b.shape[1:]).swapaxes(1, 2).reshape(b.shape)


def write_gguf_adapter(
    adapter_dir: str | Path, path: str | Path, base: str | None = None, name: str | None = None
) -> Path:
    """Write the PEFT adapter as a llama.cpp GGUF LoRA adapter (f32 tensors), atomically."""
    import gguf
    from safetensors.torch import load_file

    adapter_dir, path = Path(adapter_dir), Path(path)
    _adapter_files(adapter_dir)
    acfg = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    if acfg.get("use_rslora") or acfg.get("alpha_pattern") or acfg.get("rank_pattern") or acfg.get("use_dora"):
        raise UsageError(f"{adapter_dir}: rsLoRA / DoRA / per-module ranks have no llama.cpp adapter form")
    base_dir = adapter_base_dir(adapter_dir, base)
    g = _gguf_arch(base_dir)
    arch, permute, n_head, n_kv, names = g.arch, g.permute, g.n_head, g.n_kv, g.names
    weights = load_file(str(adapter_dir / "adapter_model.safetensors"))
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, t in weights.items():
        for part, slot in ((".lora_A.weight", "a"), (".lora_B.weight", "b")):
            if key.endswith(part):
                module = key[: -len(part)].removeprefix("base_model.model.")
                pairs.setdefault(module, {})[slot] = t.to(torch.float32)
                break
        else:
            raise DataError(
                adapter_dir / "adapter_model.safetensors",
                None,
                f"unexpected tensor {key} (only LoRA A/B matrices can be exported)",
            )
    with atomic_path(path) as tmp:
        _write_gguf_tensors(
            gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[arch]),
            gguf,
            acfg,
            pairs,
            names,
            name,
            permute,
            n_head,
            n_kv,
            adapter_dir,
        )
    return path


def _write_gguf_tensors(
    writer: Any,
    gguf: Any,
    acfg: dict[str, Any],
    pairs: dict[str, dict[str, torch.Tensor]],
    names: Any,
    name: str | None,
    permute: bool,
    n_head: int,
    n_kv: int,
    adapter_dir: Path,
) -> None:
    try:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(acfg["lora_alpha"]))
        if name:
            writer.add_name(name)
        for module in sorted(pairs):
            ab = pairs[module]
            if set(ab) != {"a", "b"}:
                raise DataError(adapter_dir, None, f"{module}: lora_A or lora_B missing")
            gname = names.get_name(module)
            if gname is None or module.endswith("lm_head") or module.endswith("embed_tokens"):
                raise UsageError(f"{module}: no llama.cpp LoRA mapping (adapt attention / MLP projections only)")
            b = ab["b"]
            if permute and module.endswith("q_proj"):
                b = _permute_rows(b, n_head)
            elif permute and module.endswith("k_proj"):
                b = _permute_rows(b, n_kv)
            writer.add_tensor(f"{gname}.weight.lora_a", ab["a"].contiguous().numpy())
            writer.add_tensor(f"{gname}.weight.lora_b", b.contiguous().numpy())
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()


MERGED_TYPES = ("f16", "q8_0")  # merged GGUF tensor types (1-D tensors stay f32, as llama.cpp's converter does)
# the GGUF metadata keys the writer sets itself, or that describe the template file's own tensors
_OWN_KEYS = {"general.architecture", "general.file_type", "general.name", "general.quantization_version"}


def _merged_state(adapter_dir: Path, base_dir: Path) -> dict[str, torch.Tensor]:
    """The adapter merged into its base, in float32 (merged before any rounding)."""
    from peft import PeftModel

    from ba_llm import load_causal_lm

    model = load_causal_lm(base_dir, dtype=torch.float32)
    model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    return {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}


def _add_merged_tensor(
    writer: Any, info: Any, weights: dict[str, torch.Tensor], g: Any, qtype: str, template: Any
) -> None:
    """One tensor of the template GGUF, from the merged weight of the same name: q / k rows
    permuted as llama.cpp's converter does, norms in f32, matrices in ``qtype``."""
    import gguf

    if info.name not in weights:
        raise DataError(
            template,
            None,
            f"tensor {info.name} has no counterpart in the merged model; the GGUF is not of this base model",
        )
    w = weights[info.name]
    if g.permute and info.name.endswith("attn_q.weight"):
        w = _permute_rows(w, g.n_head)
    elif g.permute and info.name.endswith("attn_k.weight"):
        w = _permute_rows(w, g.n_kv)
    if tuple(reversed(w.shape)) != tuple(int(x) for x in info.shape):
        raise DataError(
            template,
            None,
            f"tensor {info.name}: shape {list(info.shape)} in the GGUF, {list(reversed(w.shape))} in the merged model",
        )
    data = w.numpy()
    if data.ndim == 1:
        writer.add_tensor(info.name, data.astype("float32"))
    elif qtype == "f16":
        writer.add_tensor(info.name, data.astype("float16"))
    else:
        ggml = gguf.GGMLQuantizationType.Q8_0
        writer.add_tensor(info.name, gguf.quants.quantize(data, ggml), raw_dtype=ggml)


def write_merged_gguf(
    adapter_dir: str | Path,
    path: str | Path,
    *,
    template: str | Path,
    qtype: str = "f16",
    base: str | None = None,
    name: str | None = None,
) -> Path:
    """Write the fine-tuned model (adapter merged into its base) as a complete llama.cpp GGUF.

    ``template`` is a GGUF of the same base weights (for a ``ba-llm prepare``d SmolLM2, the
    GGUF it was converted from): its metadata (hyper-parameters, tokenizer, chat template)
    and its tensor list are kept; every tensor is replaced by the merged weight of the same
    name, ``qtype`` ``f16`` or ``q8_0`` for matrices and f32 for norms, q / k rows
    permuted like llama.cpp's converter. Written atomically.
    """
    import gguf

    if qtype not in MERGED_TYPES:
        raise UsageError(f"merged GGUF type {qtype!r}: choose one of {', '.join(MERGED_TYPES)}")
    adapter_dir, path = Path(adapter_dir), Path(path)
    _adapter_files(adapter_dir)
    base_dir = adapter_base_dir(adapter_dir, base)
    g = _gguf_arch(base_dir)
    arch, names = g.arch, g.names
    from ba_llm import read_gguf

    reader = read_gguf(template)
    if (
        reader.fields.get("general.architecture") is None
        or reader.fields["general.architecture"].contents() != gguf.MODEL_ARCH_NAMES[arch]
    ):
        raise DataError(template, None, f"not a {gguf.MODEL_ARCH_NAMES[arch]} GGUF; give the base model's GGUF")
    weights: dict[str, torch.Tensor] = {}
    for key, t in _merged_state(adapter_dir, base_dir).items():
        gname = names.get_name(key, try_suffixes=(".weight", ".bias"))
        if gname is not None:
            weights[gname] = t
    with atomic_path(path) as tmp:
        writer = gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[arch])
        try:
            for key, field in reader.fields.items():
                if key.startswith("GGUF.") or key in _OWN_KEYS:
                    continue
                sub = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
                writer.add_key_value(key, field.contents(), field.types[0], sub_type=sub)
            writer.add_file_type({"f16": gguf.LlamaFileType.MOSTLY_F16, "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[qtype])
            writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
            writer.add_name(name or f"{adapter_dir.name} (merged)")
            for info in reader.tensors:
                _add_merged_tensor(writer, info, weights, g, qtype, template)
            writer.write_header_to_file()
            writer.write_kv_data_to_file()
            writer.write_tensors_to_file()
        finally:
            writer.close()
    return path


def _quote(text: str, what: str) -> str:
    if '"""' in text:
        raise DataError(what, None, 'contains """, which a Modelfile cannot quote')
    return f'"""{text}"""'


def modelfile_text(
    from_: str,
    adapter_file: str | None,
    prompt: dict[str, Any],
    tokenizer_template: str,
    num_ctx: int = 4096,
    source: str = "",
    max_new_tokens: int = 640,
) -> str:
    """An Ollama Modelfile: FROM base, ADAPTER (unless ``adapter_file`` is None: a merged
    model), ChatML TEMPLATE, SYSTEM, demo MESSAGEs, and the stopping parameters (turn-ending
    strings, ``num_predict = max_new_tokens``, greedy)."""
    if "<|im_start|>" not in (tokenizer_template or ""):
        raise UsageError("only ChatML chat templates (<|im_start|> ... <|im_end|>) can be exported to Ollama")
    # the source path goes into a comment: control characters (a newline would start a new
    # instruction) are written as escapes
    source = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in source)
    lines = [
        f"{_MODELFILE_HEADER}{f' from {source}' if source else ''}.",
        "# Build it with: ollama create NAME -f Modelfile",
        f"FROM {from_}",
        *([f"ADAPTER {adapter_file}"] if adapter_file else []),
        f"TEMPLATE {_quote(CHATML_OLLAMA_TEMPLATE, 'template')}",
        f"SYSTEM {_quote(prompt['system'], 'prompt.json system')}",
    ]
    for demo in prompt.get("demos") or []:
        user = prompt["user_template"].format(concept=demo["concept"])
        lines.append(f"MESSAGE user {_quote(user, 'prompt.json demo')}")
        lines.append(f"MESSAGE assistant {_quote(demo['document'], 'prompt.json demo')}")
    from ba_llm.stopping import runtime_parameters

    lines.append("# ba-llm's stopping rule (ba_llm.stopping); its repeated-line cut runs in ba-llm's ollama backend")
    lines += [f"PARAMETER {k} {v}" for k, v in runtime_parameters(max_new_tokens)]
    lines.append(f"PARAMETER num_ctx {num_ctx}")
    return "\n".join(lines) + "\n"


def _default_from(base_dir: Path) -> str | None:
    """The GGUF a ba-llm-prepared SmolLM2 base was converted from (the weights trained on)."""
    marker = base_dir / PREPARED_MARKER
    if not marker.is_file():
        return None
    from ba_llm import find_smollm2_gguf

    source = read_json(marker).get("source_gguf")
    gguf_file = find_smollm2_gguf().resolve()
    if source and source != gguf_file.name:
        raise DataError(
            marker,
            None,
            f"the base was prepared from {source}, but the installed GGUF is {gguf_file.name}; pass --from",
        )
    return str(gguf_file)


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}\Z")


def check_model_name(name: str) -> str:
    """An Ollama model name (``--name``): letters, digits and ``. _ : / -``, one line.
    It goes into the GGUF's ``general.name`` and the printed ``ollama create`` line."""
    if not _NAME_RE.match(name):
        raise UsageError(
            f"--name {name!r}: use letters, digits and . _ : / - only (up to 128, one line), e.g. ba-smollm2"
        )
    return name


def check_from(value: str) -> str:
    """A Modelfile ``FROM`` value (``--from``): one line, no control characters, no quotes, so
    it cannot add instructions to the Modelfile; an Ollama model name (not a file) has no
    spaces either. A GGUF file is linked into the export and named ``./base.gguf``."""
    value = value.strip()
    if not value or any(ord(c) < 32 or ord(c) == 127 for c in value) or '"' in value:
        raise UsageError(
            f"--from {value!r}: give one Ollama model name or GGUF path, on one line, "
            "without quotes or control characters"
        )
    if os.path.exists(value) and not Path(value).is_file():  # campaign 24: a folder or device became FROM
        raise UsageError(
            f"--from {value!r}: a folder or device, not a GGUF file; give a GGUF file or an Ollama model name"
        )
    if not Path(value).is_file() and any(c.isspace() for c in value):
        raise UsageError(
            f"--from {value!r}: not a file, and an Ollama model name has no spaces "
            "(e.g. smollm2:135m or ./models/base.gguf)"
        )
    return value


_MODELFILE_HEADER = "# Written by ba-lora export"


EXPORT_MANIFEST = "export.json"  # the files an export wrote; a re-export replaces exactly those
_LEGACY_EXPORT = frozenset({"Modelfile", "adapter.gguf", "prompt.json"})  # what exports wrote before the manifest


def _check_export_output(output: Path) -> None:
    """The export folder may be new, empty, or an earlier export holding only the files it
    wrote (its ``export.json`` lists them; an export from before the manifest holds
    Modelfile, adapter.gguf and prompt.json only): a re-export replaces the whole folder."""
    legacy: frozenset = frozenset()
    modelfile = output / "Modelfile"
    if modelfile.is_file() and not modelfile.is_symlink():
        with open(modelfile, encoding="utf-8", errors="replace") as f:
            if f.readline().startswith(_MODELFILE_HEADER):  # a Modelfile the user wrote is never ours
                legacy = _LEGACY_EXPORT
    check_replaceable_folder(output, flag="--output", manifest=EXPORT_MANIFEST, tool="ba-lora export", legacy=legacy)


def _check_gguf_file(path: Path) -> None:
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise UsageError(f"--from {path}: not a GGUF file; give the base model's .gguf or an Ollama model name")


def _link_or_copy(src: Path, dest: Path) -> None:
    """``dest`` as a hard link to ``src`` (same file system) or else a copy, atomically."""
    with atomic_path(dest) as tmp:
        tmp.unlink()
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)


BASE_GGUF = "base.gguf"
ADAPTER_GGUF = "adapter.gguf"


def merged_gguf_name(qtype: str) -> str:
    return f"model-{qtype}.gguf"


def export_ollama(
    adapter_dir: str | Path,
    output: str | Path,
    name: str | None = None,
    from_: str | None = None,
    base: str | None = None,
    max_new_tokens: int = 640,
    merged: tuple[str, ...] = MERGED_TYPES,
) -> dict[str, Any]:
    """Write a self-contained export folder (relative paths only, so it can be copied to
    the machine that runs Ollama):

    * ``adapter.gguf`` + ``Modelfile`` (``FROM ./base.gguf`` + ``ADAPTER ./adapter.gguf``),
      with the base GGUF hard-linked (or copied) in as ``base.gguf``; when ``from_`` is an
      Ollama model name instead of a file, ``FROM`` names it;
    * per type in ``merged`` (``f16``, ``q8_0``): ``model-TYPE.gguf``, the adapter merged into
      the base (:func:`write_merged_gguf`), and ``Modelfile.TYPE`` (``FROM ./model-TYPE.gguf``);
    * ``prompt.json``, the prompt the adapter was trained with (ba-llm asks a GGUF beside it
      with that prompt).

    The folder is built aside and renamed into place whole (``export.json`` lists its files);
    an existing folder must be empty or an earlier export with nothing added. Returns the
    paths and names.
    """
    from_ = _check_export_args(output, name, from_, merged, max_new_tokens)
    plan = _plan_export(Path(adapter_dir), Path(output), from_, base, max_new_tokens, merged)
    output = plan.output
    with output_lock(output):
        _check_export_output(output)  # again, now that no other export can write it
        # built in a tmp folder of its own and renamed into place whole: every file or none,
        # and nothing of an earlier export with other settings stays behind
        with atomic_path(output, directory=True) as tmp:
            _build_export(plan, tmp, base=base, name=name)
    return {
        "modelfile": str(output / "Modelfile"),
        "adapter": str(output / ADAPTER_GGUF),
        "from": plan.from_line,
        "base_gguf": str(plan.base_gguf) if plan.base_gguf else None,
        "name": name or output.name,
        "merged": {
            q: {"gguf": str(output / merged_gguf_name(q)), "modelfile": str(output / f"Modelfile.{q}")} for q in merged
        },
    }


@dataclass(frozen=True)
class _ExportPlan:
    """Everything an export writes, decided and checked before the lock is taken."""

    adapter_dir: Path
    output: Path
    from_line: str  # the Modelfile's FROM: ./base.gguf, or an Ollama model name
    base_gguf: Path | None  # the base model's GGUF file, hard-linked in as base.gguf
    prompt: dict
    texts: dict[str, str]  # Modelfile and Modelfile.TYPE
    merged: tuple[str, ...]
    max_new_tokens: int


def _check_export_args(
    output: str | Path, name: str | None, from_: str | None, merged: tuple[str, ...], max_new_tokens: int
) -> str | None:
    """The flags alone, before anything is read; returns ``from_`` as checked."""
    if max_new_tokens < 1:
        raise UsageError(f"--max-new-tokens must be >= 1, got {max_new_tokens}")
    if name is not None:
        check_model_name(name)
    elif not _NAME_RE.match(Path(output).name):  # the default name is the folder's: the same rule
        raise UsageError(
            f"-o: the folder name {Path(output).name!r} is not a model name (letters, digits and "
            ". _ : / - only, one line), and a model is named after its folder; pass --name"
        )
    if from_ is not None:
        from_ = check_from(from_)
    bad = [q for q in merged if q not in MERGED_TYPES] or [q for q in set(merged) if merged.count(q) > 1]
    if bad:
        raise UsageError(f"--merged {','.join(bad)}: choose from {', '.join(MERGED_TYPES)} (or none)")
    return from_


def _plan_export(
    adapter_dir: Path, output: Path, from_: str | None, base: str | None, max_new_tokens: int, merged: tuple[str, ...]
) -> _ExportPlan:
    """Read the adapter, its base, prompt and chat template; check the output and the base
    GGUF; and write the Modelfiles' texts."""
    from ba_llm import load_tokenizer

    _adapter_files(adapter_dir)
    base_dir = adapter_base_dir(adapter_dir, base)
    from_ = from_ or _default_from(base_dir)
    if not from_:
        raise UsageError(
            f"{base_dir} was not prepared from a GGUF by ba-llm; pass --from with the Ollama model "
            "or GGUF file of the same base weights"
        )
    base_gguf = Path(from_).resolve() if Path(from_).is_file() else None
    if merged and base_gguf is None:
        raise UsageError(
            f"--from {from_}: a merged GGUF is built from the base model's GGUF file; pass --from "
            "FILE.gguf, or --merged none for the adapter only"
        )
    prompt = read_json(adapter_dir / "prompt.json", "prompt") if (adapter_dir / "prompt.json").is_file() else None
    if prompt is None:
        from ba_llm.prompt import load_prompt

        prompt = load_prompt(None).to_dict()
    tok_dir = adapter_dir if (adapter_dir / "tokenizer_config.json").is_file() else base_dir
    template = load_tokenizer(tok_dir).chat_template
    hp = json.loads((base_dir / "config.json").read_text(encoding="utf-8"))
    context = int(hp.get("max_position_embeddings") or 4096)
    if max_new_tokens > context:
        raise UsageError(f"--max-new-tokens {max_new_tokens} is more than the model's context of {context} tokens")
    distinct_paths(("--adapter", adapter_dir), ("--output", output))
    _check_export_output(output)
    if base_gguf is not None:
        _check_gguf_file(base_gguf)
    from_line = f"./{BASE_GGUF}" if base_gguf is not None else from_
    modelfile = functools.partial(
        modelfile_text,
        prompt=prompt,
        tokenizer_template=template,
        num_ctx=min(4096, context),
        source=str(adapter_dir),
        max_new_tokens=max_new_tokens,
    )
    texts = {"Modelfile": modelfile(from_line, f"./{ADAPTER_GGUF}")}
    texts.update({f"Modelfile.{q}": modelfile(f"./{merged_gguf_name(q)}", None) for q in merged})
    return _ExportPlan(adapter_dir, output, from_line, base_gguf, prompt, texts, merged, max_new_tokens)


def _build_export(plan: _ExportPlan, tmp: Path, *, base: str | None, name: str | None) -> None:
    """Write the export's files into the folder ``tmp``, its manifest last."""
    for fname, text in plan.texts.items():
        with atomic_write(tmp / fname) as f:
            f.write(text)
    write_json(tmp / "prompt.json", plan.prompt, "prompt")
    write_gguf_adapter(plan.adapter_dir, tmp / ADAPTER_GGUF, base=base, name=name)
    if plan.base_gguf is not None:
        _link_or_copy(plan.base_gguf, tmp / BASE_GGUF)
    for q in plan.merged:
        assert plan.base_gguf is not None  # checked in _plan_export: a merged export needs the base GGUF file
        write_merged_gguf(
            plan.adapter_dir, tmp / merged_gguf_name(q), template=plan.base_gguf, qtype=q, base=base, name=name
        )
    write_json(
        tmp / EXPORT_MANIFEST,
        {
            "files": folder_files(tmp),
            "adapter": str(plan.adapter_dir),
            "from": plan.from_line,
            "merged": list(plan.merged),
            "max_new_tokens": plan.max_new_tokens,
        },
    )
