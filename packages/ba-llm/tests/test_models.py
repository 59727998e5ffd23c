"""Model specs: parsing, resolution and the one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ba_io import UsageError
from ba_llm.errors import BackendError
from ba_llm.models import ModelSpec, check_adapter, parse_spec, resolve_spec


@pytest.mark.parametrize(
    "spec, kind, path, name, lora",
    [
        ("smollm2", "smollm2", None, None, None),
        ("smollm2+lora:out/lora", "smollm2", None, None, Path("out/lora")),
        ("hf:models/base", "hf", Path("models/base"), None, None),
        ("hf:models/base+lora:out/lora", "hf", Path("models/base"), None, Path("out/lora")),
        ("gguf:m.gguf", "gguf", Path("m.gguf"), None, None),
        ("gguf:m.gguf+lora:a.gguf", "gguf", Path("m.gguf"), None, Path("a.gguf")),
        ("ollama:qwen2.5:0.5b", "ollama", None, "qwen2.5:0.5b", None),
        ("  ollama:llama3  ", "ollama", None, "llama3", None),
    ],
)
def test_parse_spec(spec, kind, path, name, lora):
    ms = parse_spec(spec)
    assert isinstance(ms, ModelSpec)
    assert (ms.kind, ms.path, ms.name, ms.lora) == (kind, path, name, lora)
    assert ms.spec == spec.strip() and str(ms) == spec.strip()


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("", "empty"),
        ("llama", "unknown model spec"),
        ("hf:", "nothing after"),
        ("file:x", "unknown model spec"),
        ("hf:x+adapter:y", "lora:PATH"),
        ("hf:x+lora:", "lora:PATH"),
        ("hf:x+lora:a+lora:b", "only one adapter"),
        ("ollama:x+lora:y", "ollama models take no +lora"),
        ("gguf:m.gguf+lora:dir", "GGUF adapter"),
    ],
)
def test_bad_specs(spec, fragment):
    with pytest.raises(UsageError, match=None) as exc:
        parse_spec(spec)
    assert fragment in str(exc.value)


def test_backend_names():
    assert parse_spec("smollm2").backend == "transformers"
    assert parse_spec("gguf:x.gguf").backend == "llama.cpp"
    assert parse_spec("ollama:x").backend == "ollama"


def test_smollm2_not_prepared(tmp_path, monkeypatch):
    monkeypatch.setenv("BA_MODELS_DIR", str(tmp_path))
    (tmp_path / "smollm2-135m-instruct").mkdir()  # exists but unfinished (no marker)
    with pytest.raises(BackendError) as exc:
        resolve_spec("smollm2")
    assert "make base-model" in str(exc.value) and "ba-llm prepare smollm2" in str(exc.value)


def test_smollm2_default_dir_is_under_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv("BA_MODELS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BackendError, match="artifacts/models/smollm2-135m-instruct"):
        resolve_spec("smollm2")


def test_missing_files(tmp_path, tiny_model):
    with pytest.raises(BackendError, match="model directory not found"):
        resolve_spec(f"hf:{tmp_path / 'nope'}")
    with pytest.raises(BackendError, match="no config.json"):
        resolve_spec(f"hf:{tmp_path}")
    with pytest.raises(BackendError, match="GGUF file not found"):
        resolve_spec(f"gguf:{tmp_path / 'x.gguf'}")
    with pytest.raises(BackendError, match="not a PEFT adapter"):
        resolve_spec(f"hf:{tiny_model}+lora:{tmp_path}")


def test_adapter_for_the_right_base_resolves(tiny_model, tiny_adapter):
    ms = resolve_spec(f"hf:{tiny_model}+lora:{tiny_adapter}")
    assert ms.lora == tiny_adapter


def test_adapter_for_another_base_is_refused(tmp_path, tiny_adapter):
    from conftest import make_tiny_model

    other = make_tiny_model(tmp_path / "other", hidden=32)
    with pytest.raises(BackendError) as exc:
        check_adapter(other, tiny_adapter)
    msg = str(exc.value)
    assert "another base model" in msg and "\n" not in msg
    with pytest.raises(BackendError, match="another base model"):
        resolve_spec(f"hf:{other}+lora:{tiny_adapter}")


def test_model_files_fingerprint_follows_the_folder_a_spec_loads(tmp_path, monkeypatch):
    """Campaigns 20 and 21: a model or adapter replaced in place, and `smollm2` pointing at
    another prepared folder, change the fingerprint that `ba-eval generate` resumes by."""
    import os

    from ba_llm import model_files_fingerprint

    assert model_files_fingerprint("ollama:llama3") is None
    for root in ("a", "b"):
        d = tmp_path / root / "smollm2-135m-instruct"
        d.mkdir(parents=True)
        (d / "config.json").write_text("{}" if root == "a" else '{"b": 1}')
    monkeypatch.setenv("BA_MODELS_DIR", str(tmp_path / "a"))
    first = model_files_fingerprint("smollm2")
    assert first is not None and model_files_fingerprint("smollm2") == first
    monkeypatch.setenv("BA_MODELS_DIR", str(tmp_path / "b"))
    assert model_files_fingerprint("smollm2") != first
    hf = f"hf:{tmp_path / 'a' / 'smollm2-135m-instruct'}"
    before = model_files_fingerprint(hf)
    config = tmp_path / "a" / "smollm2-135m-instruct" / "config.json"
    os.utime(config, ns=(config.stat().st_atime_ns, config.stat().st_mtime_ns + 10**9))
    assert model_files_fingerprint(hf) != before


def test_model_files_fingerprint_ignores_notes_beside_the_weights(tmp_path):
    """Campaign 23: a NOTES.txt added to the base folder made `ba-lora train --resume` refuse.
    Only what a loader reads counts: a note, a README, a plot or a dotfile does not; a
    tokenizer's merges.txt (a .txt) and a chat template do."""
    from ba_llm import model_files_fingerprint

    d = tmp_path / "m"
    d.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (d / name).write_text(name)
    spec = f"hf:{d}"
    before = model_files_fingerprint(spec)
    for name in ("NOTES.txt", "README.md", "loss_curve.png", ".gitattributes"):
        (d / name).write_text("user's")
    (d / "sub").mkdir()
    (d / "sub" / "model.safetensors").write_text("not loaded")
    assert model_files_fingerprint(spec) == before
    (d / "merges.txt").write_text("a b")
    after_merges = model_files_fingerprint(spec)
    assert after_merges != before
    (d / "chat_template.jinja").write_text("{{ messages }}")
    assert model_files_fingerprint(spec) != after_merges


def test_canonical_spec_spells_one_model_one_way(tmp_path, monkeypatch):
    """Campaign 24: `hf:DIR/`, `hf:DIR`, a relative spelling and a link to DIR were compared
    as strings by the resume checks."""
    from ba_llm import canonical_spec

    d = tmp_path / "m"
    d.mkdir()
    (tmp_path / "link").symlink_to(d)
    monkeypatch.chdir(tmp_path)
    want = f"hf:{d}"
    assert {canonical_spec(s) for s in (f"hf:{d}", f"hf:{d}/", "hf:m", "hf:./m/", "hf:link", " hf:m ")} == {want}
    assert canonical_spec("hf:m+lora:link/") == f"hf:{d}+lora:{d}"
    assert canonical_spec("ollama:llama3") == "ollama:llama3" and canonical_spec("smollm2") == "smollm2"
    assert canonical_spec("hf:other") != want
    assert canonical_spec("not a spec") == "not a spec"


def test_a_link_into_the_model_put_at_an_output_mid_run_is_refused(tmp_path):
    """Campaign 38 (r3): a link to the model's config.json put at `ba-llm generate -o` (or
    `ba-eval benchmark -o`) while it generated was written through: the model no longer loaded."""
    from ba_io import UsageError, write_jsonl
    from ba_llm import check_not_a_model_file

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}')
    (model / "model.safetensors").write_bytes(b"weights")
    out = tmp_path / "preds.jsonl"
    check_not_a_model_file(f"hf:{model}", out, "-o")  # up front: the output is not the model's
    out.symlink_to(model / "config.json")  # mid-run
    with pytest.raises(UsageError, match=r"preds\.jsonl is a file of the model hf:.*config\.json, through a link"):
        write_jsonl(out, [{"id": "a"}])
    assert (model / "config.json").read_text() == '{"model_type": "llama"}'
