"""The real embedded SmolLM2: one short generation on each backend."""

from __future__ import annotations

import sys

import pytest

from ba_io import validate
from ba_llm import generate, load_backend
from ba_llm.base_model import find_smollm2_gguf
from ba_llm.errors import BackendError
from ba_llm.prompt import default_prompt, render_messages, training_pair

CONCEPT = [{"id": "c1", "concept": "An online bakery ordering site with pickup slots."}]


@pytest.mark.slow
@pytest.mark.integration
def test_real_smollm2_generation(smollm2_env):
    with load_backend("smollm2") as b:
        assert b.info()["parameters"] == 134_515_008
        rows = generate(b, CONCEPT, None, max_new_tokens=8, progress=False)
        # the training prefix equals the generation prompt with the real template
        p = default_prompt()
        prompt_text, full_text = training_pair(b.tokenizer, p, CONCEPT[0]["concept"], "title: X")
        assert prompt_text == b.render(render_messages(p, CONCEPT[0]["concept"]))
        assert full_text == prompt_text + "title: X<|im_end|>\n"
    r = rows[0]
    assert validate(r, "prediction") == []
    assert r["model"] == "smollm2" and r["backend"] == "transformers"
    assert r["prompt_tokens"] > 100 and 1 <= r["completion_tokens"] <= 8 and r["text"].strip()


@pytest.mark.slow
@pytest.mark.integration
def test_llama_cpp_on_the_embedded_gguf():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python (ba-llm[gguf]) is not installed")
    spec = f"gguf:{find_smollm2_gguf()}"
    with load_backend(spec) as b:
        greedy = generate(b, CONCEPT, None, max_new_tokens=8, progress=False)
        again = generate(b, CONCEPT, None, max_new_tokens=8, progress=False)
        assert "<|im_start|>" in b.info()["chat_template"]
    r = greedy[0]
    assert validate(r, "prediction") == []
    assert r["backend"] == "llama.cpp" and r["text"] == again[0]["text"] and r["text"].strip()
    assert r["completion_tokens"] == 8 and r["finish_reason"] == "length" and r["prompt_tokens"] > 100


def test_llama_cpp_missing_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    f = tmp_path / "m.gguf"
    f.write_bytes(b"GGUF")
    with pytest.raises(BackendError) as exc:
        load_backend(f"gguf:{f}")
    assert "pip install 'ba-llm[gguf]'" in str(exc.value)


def test_llama_cpp_bad_file(tmp_path):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python (ba-llm[gguf]) is not installed")
    f = tmp_path / "broken.gguf"
    f.write_bytes(b"not a gguf at all")
    with pytest.raises(BackendError, match="broken.gguf"):
        load_backend(f"gguf:{f}")
