"""ba-tune: DSPy MIPROv2 prompt optimisation for the BA task, exported as a plain prompt file.

``dspy`` is imported lazily: ``import ba_tune`` stays cheap until a tuning name is used.
"""

import ba_io  # noqa: F401 - first: its start-up hook makes a Ctrl-C while we import one line

# isort: split
import os

# litellm (under dspy) fetches its model price list from GitHub on first use unless told to
# use the copy it ships: ba-tune never reaches the network for anything but an Ollama server
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# isort: split
from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "MiproSettings": "tune",
    "TuneResult": "tune",
    "run_mipro": "tune",
    "output_paths": "tune",
    "save_program_json": "tune",
    "BARequirements": "program",
    "BAAdapter": "program",
    "program_from_prompt": "program",
    "prompt_for": "program",
    "split_system": "program",
    "join_system": "program",
    "canonical_document": "program",
    "BaLLMEngine": "lm",
    "make_lm": "lm",
    "configure_dspy_cache": "lm",
    "load_examples": "data",
    "example_from_row": "data",
    "RecordingMIPROv2": "mipro",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ba_tune' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
