from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def in_data(monkeypatch) -> Path:
    """Run with cwd = tests/data so error messages show bare file names."""
    monkeypatch.chdir(DATA)
    return DATA
