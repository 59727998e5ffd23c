"""The DSPy engine over ba-llm, LM construction per spec, and reading the example files."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dspy
import pytest

from ba_io import DataError, UsageError
from ba_tune.data import load_examples
from ba_tune.lm import BaLLMEngine, make_lm, ollama_api_base


class Recorder:
    def __init__(self, fail: bool = False):
        self.calls = []
        self.fail = fail

    def __call__(self, messages, **kw):
        self.calls.append((messages, kw))
        if self.fail:
            raise RuntimeError("model exploded")
        return "[[ ## answer ## ]]\nforty-two\n\n[[ ## completed ## ]]", 10, 5, "stop"


def test_engine_passes_messages_and_decoding_and_counts_calls():
    rec = Recorder()
    lm = make_lm("smollm2", generate=rec, max_tokens=77, seed=5)
    with dspy.context(lm=lm):
        out = dspy.Predict("question -> answer")(question="What is six times seven?")
    assert out.answer == "forty-two"
    ((messages, kw),) = rec.calls
    assert messages[0]["role"] == "system" and messages[-1]["role"] == "user"
    assert "What is six times seven?" in messages[-1]["content"]
    assert kw == {"max_new_tokens": 77, "temperature": 0.0, "top_p": None, "seed": 6}
    assert isinstance(lm.engine, BaLLMEngine)
    assert (lm.engine.calls, lm.engine.errors, lm.engine.output_tokens) == (1, 0, 5)


def test_engine_is_not_cached_by_default_and_seeds_each_call():
    rec = Recorder()
    lm = make_lm("smollm2", generate=rec, seed=100)
    predict = dspy.Predict("question -> answer")
    with dspy.context(lm=lm):
        predict(question="same")
        predict(question="same")
    assert len(rec.calls) == 2  # no cache: the identical call reached the model twice
    assert [kw["seed"] for _, kw in rec.calls] == [101, 102]


def test_memory_cache_serves_identical_calls_once_when_asked():
    from ba_tune.lm import configure_dspy_cache

    rec = Recorder()
    configure_dspy_cache(memory=True)
    try:
        lm = make_lm("hf:/some/dir", generate=rec, cache=True)
        assert lm.model == "ba-llm/hf:/some/dir"
        predict = dspy.Predict("question -> answer")
        with dspy.context(lm=lm):
            predict(question="cached?")
            predict(question="cached?")
            predict(question="other")
        assert len(rec.calls) == 2
    finally:
        configure_dspy_cache(memory=False)


def test_sampling_temperature_reaches_the_model():
    rec = Recorder()
    lm = make_lm("smollm2", generate=rec).copy(temperature=1.0, rollout_id=3)
    with dspy.context(lm=lm):
        dspy.Predict("question -> answer")(question="q")
    assert rec.calls[0][1]["temperature"] == 1.0


def test_engine_records_failures():
    lm = make_lm("smollm2", generate=Recorder(fail=True))
    with dspy.context(lm=lm), pytest.raises(Exception, match="model exploded"):
        dspy.Predict("question -> answer")(question="q")
    assert lm.engine.errors >= 1
    assert lm.engine.last_error == "RuntimeError: model exploded"


def test_ollama_spec_uses_dspy_ollama_support(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "10.0.0.5:11434")
    lm = make_lm("ollama:qwen2.5:7b", max_tokens=300, check=False)
    assert lm.model == "ollama_chat/qwen2.5:7b"
    assert lm.kwargs["api_base"] == "http://10.0.0.5:11434"
    assert lm.cache is False
    assert lm.kwargs["max_tokens"] == 300


def test_ollama_api_base_default_is_ba_llms(monkeypatch):
    from ba_llm.backends import DEFAULT_OLLAMA_HOST, OllamaBackend
    from ba_llm.models import parse_spec

    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert ollama_api_base() == DEFAULT_OLLAMA_HOST == "http://127.0.0.1:11434"
    monkeypatch.setenv("OLLAMA_HOST", "10.0.0.5:11434/")
    assert ollama_api_base() == "http://10.0.0.5:11434"
    assert OllamaBackend(parse_spec("ollama:x"), check=False).host == ollama_api_base()


class _Tags(BaseHTTPRequestHandler):
    """A loopback server answering Ollama's ``GET /api/tags`` with one pulled model, and
    ``POST /api/chat`` with one DSPy answer (the request bodies kept in ``server.chats``)."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self.server.chats.append((self.path, body))
        answer = {
            "model": body.get("model"),
            "created_at": "2026-12-07T00:00:00Z",
            "message": {"role": "assistant", "content": "[[ ## answer ## ]]\nforty-two\n\n[[ ## completed ## ]]"},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 10,
            "eval_count": 5,
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        body = json.dumps({"models": [{"name": "tiny:latest", "model": "tiny:latest"}]}).encode()
        self.send_response(200 if self.path == "/api/tags" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def ollama_server(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Tags)
    server.chats = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{server.server_address[1]}")
    yield server
    server.shutdown()
    server.server_close()


def test_ollama_model_is_checked_up_front(ollama_server):
    lm = make_lm("ollama:tiny", max_tokens=50)  # pulled (as tiny:latest): built
    assert lm.model == "ollama_chat/tiny"
    with pytest.raises(UsageError, match=r"'qwen2.5:7b' is not available .*run `ollama pull qwen2.5:7b`"):
        make_lm("ollama:qwen2.5:7b")


def test_ollama_requests_decode_as_ba_llm_does(ollama_server):
    """Ollama penalised repeated tokens by default until 2026-08 (1.1 over the last 64): the optimiser's
    requests turn that off, as ba-llm's own Ollama backend and the exported Modelfile do."""
    import os

    from ba_llm.backends import REPEAT_PENALTY

    assert os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"  # set by `import ba_tune`: no price-list fetch
    lm = make_lm("ollama:tiny", max_tokens=50)
    with dspy.context(lm=lm):
        out = dspy.Predict("question -> answer")(question="What is six times seven?")
    assert out.answer == "forty-two"
    ((path, body),) = ollama_server.chats
    assert path == "/api/chat" and body["model"] == "tiny"
    assert body["options"] == {"temperature": 0.0, "num_predict": 50, "repeat_penalty": 1.0}
    assert body["options"]["repeat_penalty"] == REPEAT_PENALTY


def test_unreachable_ollama_fails_at_once(monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{port}")
    sleeps = []
    monkeypatch.setattr(time, "sleep", sleeps.append)
    with pytest.raises(
        UsageError, match=r"Ollama is not reachable at http://127.0.0.1:\d+; start it with `ollama serve`"
    ):
        make_lm("ollama:qwen2.5:7b")
    assert sleeps == []  # one attempt: no retry backoff before the error


def test_bad_spec_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown model spec"):
        make_lm("llama:whatever")


def test_missing_hf_dir_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError):
        make_lm(f"hf:{tmp_path / 'nope'}")


# ---------------------------------------------------------------- data


def test_load_examples_builds_canonical_documents(data_dir):
    import json

    from ba_metric import document_from_fields, render

    ex = load_examples(data_dir / "train.jsonl")
    rows = [json.loads(line) for line in (data_dir / "train.jsonl").read_text().splitlines()]
    assert len(ex) == len(rows) == 6
    assert ex[0].concept == rows[0]["concept"]
    assert ex[0].document == render(document_from_fields(rows[0]))
    assert set(ex[0].inputs().keys()) == {"concept"}


def test_load_examples_limit(data_dir):
    assert [e.id for e in load_examples(data_dir / "train.jsonl", 2)] == ["c001", "c002"]


@pytest.mark.parametrize(
    "name, message",
    [
        ("missing_field.jsonl", "missing_field.jsonl:2: (root): 'title' is a required property"),
        ("bad_yaml.jsonl", "bad_yaml.jsonl:1: functional_requirements is not a YAML list of requirements"),
        ("empty.jsonl", "empty.jsonl: no examples"),
        (
            "not_json.jsonl",
            "not_json.jsonl:2: invalid JSON: Expecting property name enclosed in double quotes (column 2)",
        ),
    ],
)
def test_bad_example_files(data_dir, tmp_path, name, message):
    shutil.copy(data_dir / name, tmp_path / name)
    with pytest.raises(DataError) as err:
        load_examples(tmp_path / name)
    assert str(err.value) == f"{tmp_path}/{message}"


def test_missing_file_and_bad_limit(tmp_path, data_dir):
    with pytest.raises(UsageError, match="nope.jsonl: file not found"):
        load_examples(tmp_path / "nope.jsonl")
    with pytest.raises(UsageError, match="limit must be at least 1"):
        load_examples(data_dir / "train.jsonl", 0)
