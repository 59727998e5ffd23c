"""ba-llm: model specs, the one prompt renderer, base-model preparation and generation.

Heavy modules (torch, transformers) are imported lazily, so ``import ba_llm`` and
``ba_llm.prompt`` / ``ba_llm.models`` stay cheap.
"""

import ba_io  # noqa: F401 - first: its start-up hook makes a Ctrl-C while we import one line

# isort: split
from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Prompt": "prompt",
    "load_prompt": "prompt",
    "prompt_from_dict": "prompt",
    "default_prompt": "prompt",
    "render_messages": "prompt",
    "render_chat_text": "prompt",
    "training_pair": "prompt",
    "prompt_for_model": "prompt",
    "ModelSpec": "models",
    "parse_spec": "models",
    "canonical_spec": "models",
    "resolve_spec": "models",
    "base_model_dir": "models",
    "check_adapter": "models",
    "model_context": "models",
    "check_max_new_tokens": "models",
    "check_not_a_model_file": "models",
    "model_files_fingerprint": "models",
    "check_model_folder": "loading",
    "check_tokenizer_fits": "loading",
    "load_causal_lm": "loading",
    "load_tokenizer": "loading",
    "read_gguf": "loading",
    "unreadable_safetensors": "loading",
    "prepare": "base_model",
    "find_smollm2_gguf": "base_model",
    "Backend": "backends",
    "load_backend": "backends",
    "Completion": "backends",
    "TransformersBackend": "backends",
    "LlamaCppBackend": "backends",
    "OllamaBackend": "backends",
    "generate": "generation",
    "generate_with": "generation",
    "Decoding": "backends",
    "TransformersOptions": "options",
    "LlamaCppOptions": "options",
    "OllamaOptions": "options",
    "options_for": "options",
    "BaError": "errors",
    "DataError": "errors",
    "UsageError": "errors",
    "BackendError": "errors",
    "spec_info": "info",
    "release_free_memory": "memory",
    "limit_kernel_cache": "memory",
    "KERNEL_CACHE_CAPACITY": "memory",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ba_llm' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
