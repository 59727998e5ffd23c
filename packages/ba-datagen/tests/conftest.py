import os
import subprocess
import sys

import pytest


@pytest.fixture(scope="session")
def concepts210():
    from ba_datagen import generate_concepts

    return generate_concepts(210, 42)


@pytest.fixture
def dg_data(monkeypatch, tmp_path, request):
    """cwd = a tmp copy of tests/data, so error messages show bare file names."""
    for f in (request.path.parent / "data").iterdir():  # this package's data, whoever collects it
        (tmp_path / f.name).write_bytes(f.read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(*args, cwd):
    env = {"BA_NO_PROGRESS": "1", "PATH": os.environ.get("PATH", ""), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "ba_datagen", *map(str, args)], cwd=cwd, capture_output=True, text=True, env=env
    )


@pytest.fixture
def dg_cli():
    """Run the real CLI (``python -m ba_datagen``) in a subprocess."""
    return _run
