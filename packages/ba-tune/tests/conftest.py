"""Fixtures: a fake local model that drives DSPy through ba-tune's own engine, and data paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("BA_NO_PROGRESS", "1")

from ba_tune_fakes import FakeModel  # noqa: E402  (after the environment is set)

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def fake_lm_factory():
    from ba_tune.lm import configure_dspy_cache, make_lm

    def build(sensitive: bool = True, **kwargs):
        configure_dspy_cache(memory=False)
        model = FakeModel(sensitive=sensitive, **kwargs)
        return make_lm("smollm2", generate=model, max_tokens=256, seed=42), model

    return build
