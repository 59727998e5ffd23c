"""The transformers backend on a tiny random Llama: batching, padding, rows."""

from __future__ import annotations

import pytest
from conftest import CONCEPTS

from ba_io import UsageError, validate
from ba_llm import generate, load_backend
from ba_llm.backends import Decoding, TransformersBackend


@pytest.fixture(scope="module")
def tiny_backend(tiny_model):
    with load_backend(f"hf:{tiny_model}", dtype="float32") as b:
        yield b


def test_backend_setup(tiny_backend):
    assert isinstance(tiny_backend, TransformersBackend)
    tok = tiny_backend.tokenizer
    assert tok.padding_side == "left"
    assert tok.pad_token is not None  # was missing, set to eos
    assert tok.convert_tokens_to_ids("<|im_end|>") in tiny_backend.stop_ids


def test_batched_equals_one_at_a_time(tiny_backend, test_prompt):
    kw = dict(max_new_tokens=12, progress=False)
    batched = generate(tiny_backend, CONCEPTS, test_prompt, batch_size=4, **kw)
    single = generate(tiny_backend, CONCEPTS, test_prompt, batch_size=1, **kw)
    assert [r["text"] for r in batched] == [r["text"] for r in single]
    assert [r["completion_tokens"] for r in batched] == [r["completion_tokens"] for r in single]
    assert [r["prompt_tokens"] for r in batched] == [r["prompt_tokens"] for r in single]
    # prompts of different lengths really were padded together
    assert len({r["prompt_tokens"] for r in batched}) > 1


def test_rows_validate_and_keep_input_order(tiny_backend, test_prompt, tiny_model):
    rows = generate(tiny_backend, CONCEPTS, test_prompt, max_new_tokens=8, batch_size=3, run=2, progress=False)
    assert [r["id"] for r in rows] == [c["id"] for c in CONCEPTS]
    for r, c in zip(rows, CONCEPTS):
        assert validate(r, "prediction") == []
        assert r["concept"] == c["concept"]
        assert r["model"] == f"hf:{tiny_model}"
        assert r["prompt"] == "test" and r["prompt_sha256"] == test_prompt.sha256
        assert r["run"] == 2 and r["seed"] is None
        assert r["decoding"] == {"mode": "greedy", "max_new_tokens": 8}
        assert r["backend"] == "transformers"
        assert 0 <= r["completion_tokens"] <= 8
        assert r["finish_reason"] == ("length" if r["completion_tokens"] == 8 else "stop")
        assert "<|im_end|>" not in r["text"]


def test_completion_tokens_stop_at_first_eos(tiny_backend, test_prompt, monkeypatch):
    """Rows are cut at their first end-of-turn token; nothing after it is counted, and a row
    that never ends is 'length'. The next tokens are scripted through the decoding rule."""
    import torch

    from ba_llm import backends
    from ba_llm.prompt import render_messages

    eos = tiny_backend.tokenizer.convert_tokens_to_ids("<|im_end|>")
    a, b = 40, 41
    script = [[a, b, eos, a, a], [a, b, a, b, a]]
    step = {"n": 0}

    def scripted(decoding):
        def choose(logits):
            n = step["n"]
            step["n"] += 1
            # the first row ends at its end-of-turn token and leaves the batch: the rows left are the last ones
            return torch.tensor([row[n] for row in script][-logits.shape[0] :])

        return choose

    monkeypatch.setattr(backends, "_chooser", scripted)
    convs = [render_messages(test_prompt, c["concept"]) for c in (CONCEPTS[0], CONCEPTS[2])]
    out = tiny_backend.complete(convs, Decoding(max_new_tokens=5), batch_size=2)
    by_tokens = sorted(out, key=lambda c: c.completion_tokens)
    assert [c.completion_tokens for c in by_tokens] == [2, 5]
    assert [c.finish_reason for c in by_tokens] == ["stop", "length"]
    assert by_tokens[0].text == tiny_backend.tokenizer.decode([a, b])
    assert by_tokens[1].text == tiny_backend.tokenizer.decode([a, b, a, b, a])
    # latency: the batch's wall time shared equally
    assert out[0].latency_s == out[1].latency_s > 0


def test_sampling_is_reproducible_with_a_seed(tiny_backend, test_prompt):
    kw = dict(max_new_tokens=10, greedy=False, temperature=1.0, top_p=0.9, seed=7, batch_size=5, progress=False)
    a = generate(tiny_backend, CONCEPTS, test_prompt, **kw)
    b = generate(tiny_backend, CONCEPTS, test_prompt, **kw)
    assert [r["text"] for r in a] == [r["text"] for r in b]
    assert a[0]["seed"] == 7 and a[0]["decoding"]["mode"] == "sample"
    assert validate(a[0], "prediction") == []


def test_lora_spec_changes_the_output(tiny_model, tiny_adapter, test_prompt):
    kw = dict(max_new_tokens=10, progress=False, dtype="float32")
    base = generate(f"hf:{tiny_model}", CONCEPTS[:2], test_prompt, **kw)
    adapted = generate(f"hf:{tiny_model}+lora:{tiny_adapter}", CONCEPTS[:2], test_prompt, **kw)
    assert adapted[0]["model"].endswith(f"+lora:{tiny_adapter}")
    assert [r["text"] for r in base] != [r["text"] for r in adapted]


def test_bad_inputs(tiny_backend, test_prompt):
    with pytest.raises(UsageError, match="duplicate id"):
        generate(tiny_backend, [CONCEPTS[0], CONCEPTS[0]], test_prompt, progress=False)
    with pytest.raises(UsageError, match="'id' and 'concept'"):
        generate(tiny_backend, [{"id": "x"}], test_prompt, progress=False)
    with pytest.raises(UsageError, match="max_new_tokens"):
        generate(tiny_backend, CONCEPTS, test_prompt, max_new_tokens=0, progress=False)
    with pytest.raises(UsageError, match="dtype"):
        TransformersBackend(tiny_backend.spec, dtype="float16")
    assert generate(tiny_backend, [], test_prompt, progress=False) == []


def test_threads_option(monkeypatch):
    import os

    from ba_llm.backends import _threads

    cpus = os.cpu_count()
    monkeypatch.delenv("BA_LLM_THREADS", raising=False)
    assert _threads(None) is None and _threads(cpus) == cpus and _threads(0) is None
    monkeypatch.setenv("BA_LLM_THREADS", "1")
    assert _threads(None) == 1 and _threads(1) == 1
    with pytest.raises(UsageError, match=f"threads must be between 1 and this machine's {cpus} CPUs"):
        _threads(cpus + 1)  # the campaign: --threads 100000 crashed the process (SIGSEGV)
    monkeypatch.setenv("BA_LLM_THREADS", "many")
    with pytest.raises(UsageError, match="BA_LLM_THREADS"):
        _threads(None)


def test_sampler_options_shared_by_llama_cpp_and_ollama():
    # the repetition penalty is off in both: Ollama's old default (1.1 over the last 64 tokens)
    # changed the greedy documents of the default fine-tune (the package README)
    greedy = {"temperature": 0.0, "top_k": 1, "repeat_penalty": 1.0}
    assert Decoding().sampler_options(5) == greedy
    assert Decoding(seed=10).sampler_options(2) == {**greedy, "seed": 12}
    assert Decoding(greedy=False, temperature=0.8, top_p=0.9, seed=3).sampler_options(1) == {
        "temperature": 0.8,
        "top_p": 0.9,
        "top_k": 0,
        "min_p": 0.0,
        "repeat_penalty": 1.0,
        "seed": 4,
    }


@pytest.mark.parametrize("damage", [b"\x01\x00", b"\xff" * 8 + b"{"])
def test_a_corrupt_weights_file_is_named(tmp_path, tiny_model, damage):
    """Campaign 16: a model folder whose model.safetensors was cut or overwritten printed a
    bare ``SafetensorError: ... header too small`` naming no file."""
    import shutil

    from ba_llm.errors import BackendError

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    (broken / "model.safetensors").write_bytes(damage)
    with pytest.raises(BackendError) as exc:
        load_backend(f"hf:{broken}", dtype="float32")
    assert str(exc.value).startswith(f"{broken / 'model.safetensors'}: not a readable safetensors file (")
    assert "re-create it" in str(exc.value)


@pytest.mark.parametrize("damage", ["weights", "config", "config-list"])
def test_a_corrupt_model_folder_is_one_error_line_in_every_command(tmp_path, tiny_model, capsys, damage):
    """Campaign 17: `ba-llm info` on a folder with a corrupt model.safetensors printed a bare
    SafetensorError (exit 1); a config.json with `"hidden_size": -5` was a two-line
    StrictDataclass error. Both are one error naming the file, exit 2, in info and generate."""
    import json
    import shutil

    from ba_io import run_cli
    from ba_llm.cli import _main

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    if damage == "weights":
        (broken / "model.safetensors").write_bytes(b"\x01\x00")
        named = broken / "model.safetensors"
    elif damage == "config-list":  # campaign 18: valid JSON, not an object: an AttributeError
        (broken / "config.json").write_text("[]")
        named = broken / "config.json"
    else:
        cfg = json.loads((broken / "config.json").read_text())
        (broken / "config.json").write_text(json.dumps({**cfg, "hidden_size": -5}))
        named = broken / "config.json"
    commands = [["ask", "--model", f"hf:{broken}", "--concept", "A garden plot booking app."]]
    if damage == "weights":  # info reads the weights' headers, not the config
        commands.append(["info", f"hf:{broken}"])
    for argv in commands:
        assert run_cli(_main, argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith(f"Error: {named}: ") and err.count("\n") == 1 and "re-create it" in err, err
