"""ba-lora: LoRA fine-tuning with an answer-only loss, no compute on padding, resumable
checkpoints and DDP, plus merge and Ollama / llama.cpp export.

Heavy modules load lazily: ``import ba_lora`` stays cheap.
"""

import ba_io  # noqa: F401 - first: its start-up hook makes a Ctrl-C while we import one line

# isort: split
from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "TrainConfig": "config",
    "train": "trainer",
    "lr_factor": "trainer",
    "Sample": "data",
    "encode_row": "data",
    "answer_text": "data",
    "epoch_steps": "data",
    "micro_batches": "data",
    "collate": "data",
    "AnswerLoss": "modeling",
    "load_base_model": "modeling",
    "add_lora": "modeling",
    "resolve_base_dir": "modeling",
    "load_tokenizer": "modeling",
    "check_bnb4": "modeling",
    "save_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "latest_checkpoint": "checkpoint",
    "merge_adapter": "export",
    "write_gguf_adapter": "export",
    "export_ollama": "export",
    "modelfile_text": "export",
    "generate_answers": "report",
    "eval_metric": "report",
    "plot_losses": "report",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ba_lora' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
