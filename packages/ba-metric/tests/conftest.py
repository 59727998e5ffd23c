from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

DATA = Path(__file__).resolve().parent / "data"
PERFECT = yaml.safe_load((DATA / "perfect.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def perfect() -> dict:
    """A fresh copy of tests/data/perfect.yaml as a dict (scores 1.0)."""
    return copy.deepcopy(PERFECT)
