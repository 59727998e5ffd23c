"""``ba-llm info SPEC``: what a spec resolves to, without loading the weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .models import parse_spec, resolve_spec

__all__ = ["spec_info"]


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _hf_parameters(d: Path) -> int | None:
    from .models import _base_shapes

    shapes = _base_shapes(d)
    if shapes is None:
        return None
    total = 0
    for s in shapes.values():
        n = 1
        for x in s:
            n *= x
        total += n
    return total


def _hf_template(d: Path) -> str | None:
    jinja = d / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    cfg = d / "tokenizer_config.json"
    if cfg.is_file():
        t = json.loads(cfg.read_text(encoding="utf-8")).get("chat_template")
        return t if isinstance(t, str) else None
    return None


def _gguf_info(path: Path) -> dict[str, Any]:
    from .loading import read_gguf

    r = read_gguf(path)
    out: dict[str, Any] = {"parameters": int(sum(int(t.n_elements) for t in r.tensors))}
    for key, name in (
        ("tokenizer.chat_template", "chat_template"),
        ("general.name", "name"),
        ("general.architecture", "architecture"),
    ):
        field = r.fields.get(key)
        if field is not None:
            try:
                out[name] = field.contents()
            except Exception:  # noqa: BLE001 - metadata is informational
                pass
    return out


def spec_info(spec: str, *, check_server: bool = True) -> dict[str, Any]:
    """Describe a spec: kind, backend, path(s), size on disk, parameter count, chat template.

    For ``ollama:`` specs the server is asked whether the model is pulled (``check_server``).
    """
    ms = parse_spec(spec)
    info: dict[str, Any] = {"spec": ms.spec, "kind": ms.kind, "backend": ms.backend}
    if ms.kind == "ollama":
        from .backends import OllamaBackend, ollama_host

        info["model"] = ms.name
        info["host"] = ollama_host()
        if check_server:
            OllamaBackend(ms, retries=1).close()  # raises a one-line error if unreachable / not pulled
            info["available"] = True
        return info
    ms = resolve_spec(ms)
    assert ms.path is not None
    info["path"] = str(ms.path.resolve())
    info["size_bytes"] = _size(ms.path)
    if ms.kind == "gguf":
        info.update(_gguf_info(ms.path))
    else:
        info["parameters"] = _hf_parameters(ms.path)
        info["chat_template"] = _hf_template(ms.path)
        marker = ms.path / "ba-llm-prepared.json"
        if marker.is_file():
            info["prepared"] = json.loads(marker.read_text(encoding="utf-8"))
    if ms.lora is not None:
        info["lora"] = str(ms.lora.resolve())
        info["lora_size_bytes"] = _size(ms.lora)
        cfg = ms.lora / "adapter_config.json"
        if cfg.is_file():
            acfg = json.loads(cfg.read_text(encoding="utf-8"))
            info["lora_config"] = {
                k: acfg.get(k) for k in ("r", "lora_alpha", "target_modules", "base_model_name_or_path")
            }
    return info
