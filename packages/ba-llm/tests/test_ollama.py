"""The ollama backend against a loopback server speaking Ollama's /api/chat and /api/tags."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import CONCEPTS

from ba_io import validate
from ba_llm import generate
from ba_llm.backends import OllamaBackend
from ba_llm.errors import BackendError
from ba_llm.models import parse_spec
from ba_llm.prompt import render_messages

ANSWER = "title: Bakery orders\ndescription: Online orders for a bakery.\n"


class FakeOllama(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.models = ["tiny:latest"]
        self.drop = 0  # close the socket without a reply this many times
        self.fail_503 = 0  # answer 503 this many times
        self.delay = 0.0
        self.requests: list[dict] = []
        self.answer = ANSWER

    def handle_error(self, request, client_address):  # dropped sockets are on purpose
        pass

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: FakeOllama

    def log_message(self, *args):  # keep pytest output quiet
        pass

    def _json(self, status: int, obj: dict) -> None:
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != "/api/tags":
            return self._json(404, {"error": "not found"})
        self._json(
            200,
            {
                "models": [
                    {
                        "name": m,
                        "model": m,
                        "modified_at": "2025-01-01T00:00:00.000000Z",
                        "size": 98362432,
                        "digest": "b179c9523d0e",
                        "details": {
                            "parent_model": "",
                            "format": "gguf",
                            "family": "llama",
                            "families": ["llama"],
                            "parameter_size": "135M",
                            "quantization_level": "Q4_1",
                        },
                    }
                    for m in self.server.models
                ]
            },
        )

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        req = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/api/chat":
            return self._json(404, {"error": "not found"})
        srv = self.server
        if srv.drop > 0:
            srv.drop -= 1
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if srv.fail_503 > 0:
            srv.fail_503 -= 1
            return self._json(503, {"error": "server busy"})
        srv.requests.append(req)
        model = req.get("model", "")
        if model not in srv.models and f"{model}:latest" not in srv.models:
            return self._json(404, {"error": f"model '{model}' not found"})
        if srv.delay:
            time.sleep(srv.delay)
        n = req.get("options", {}).get("num_predict", 768)
        self._json(
            200,
            {
                "model": model,
                "created_at": "2025-01-01T00:00:00.000000Z",
                "message": {"role": "assistant", "content": srv.answer},
                "done": True,
                "done_reason": "length" if n < 10 else "stop",
                "total_duration": 5_000_000,
                "load_duration": 1_000_000,
                "prompt_eval_count": 26,
                "prompt_eval_duration": 1_000_000,
                "eval_count": min(n, 20),
                "eval_duration": 3_000_000,
            },
        )


@pytest.fixture
def server(monkeypatch):
    srv = FakeOllama()
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    monkeypatch.setenv("OLLAMA_HOST", srv.host)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield srv
    srv.shutdown()
    srv.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_generate_through_ollama(server, test_prompt):
    rows = generate("ollama:tiny", CONCEPTS[:2], test_prompt, max_new_tokens=64, progress=False)
    assert [r["text"] for r in rows] == [ANSWER, ANSWER]
    for r in rows:
        assert validate(r, "prediction") == []
        assert (r["prompt_tokens"], r["completion_tokens"], r["finish_reason"]) == (26, 20, "stop")
        assert r["backend"] == "ollama" and r["model"] == "ollama:tiny"
    req = server.requests[0]
    assert req["model"] == "tiny" and req["stream"] is False
    assert req["messages"] == render_messages(test_prompt, CONCEPTS[0]["concept"])
    assert req["options"] == {"num_predict": 64, "temperature": 0, "top_k": 1, "repeat_penalty": 1}


def test_sampling_options_and_length(server, test_prompt):
    rows = generate(
        "ollama:tiny",
        CONCEPTS[:1],
        test_prompt,
        max_new_tokens=5,
        greedy=False,
        temperature=0.8,
        top_p=0.9,
        seed=3,
        progress=False,
    )
    opts = server.requests[0]["options"]
    assert (opts["temperature"], opts["top_p"], opts["seed"], opts["repeat_penalty"]) == (0.8, 0.9, 3, 1)
    assert rows[0]["finish_reason"] == "length"


def test_a_looping_answer_is_cut_and_its_copy_dropped_as_in_every_backend(server, test_prompt):
    from ba_llm.stopping import cut_loop, drop_repeated_requirements

    item = "  - id: NFR00{n}\n    description: The app shall be easy to use for everyone.\n    priority: Low\n"
    server.answer = "non_functional_requirements:\n" + "".join(item.format(n=n) for n in range(1, 7))
    rows = generate("ollama:tiny", CONCEPTS[:1], test_prompt, max_new_tokens=64, progress=False)
    assert rows[0]["finish_reason"] == "loop"
    cut = cut_loop(server.answer).text
    assert cut.count("easy to use") == 2
    assert rows[0]["text"] == drop_repeated_requirements(cut)[0] and rows[0]["text"].count("easy to use") == 1
    assert rows[0]["dropped"] == [{"id": "NFR002", "repeats": "NFR001", "text": item.format(n=2).rstrip()}]
    assert validate(rows[0], "prediction") == []


def test_model_not_pulled_at_load(server):
    with pytest.raises(BackendError) as exc:
        OllamaBackend(parse_spec("ollama:missing"))
    assert "ollama pull missing" in str(exc.value) and server.host in str(exc.value)


def test_model_not_found_reply_from_chat(server, test_prompt):
    b = OllamaBackend(parse_spec("ollama:gone"), check=False)
    with pytest.raises(BackendError, match="`ollama pull gone`"):
        generate(b, CONCEPTS[:1], test_prompt, progress=False)


def test_dropped_connection_is_retried(server, test_prompt):
    server.drop = 1
    b = OllamaBackend(parse_spec("ollama:tiny"), backoff_s=0.01)
    rows = generate(b, CONCEPTS[:1], test_prompt, progress=False)
    assert rows[0]["text"] == ANSWER and server.drop == 0


def test_5xx_is_retried_then_reported(server, test_prompt):
    server.fail_503 = 2
    b = OllamaBackend(parse_spec("ollama:tiny"), backoff_s=0.01)
    assert generate(b, CONCEPTS[:1], test_prompt, progress=False)[0]["text"] == ANSWER
    server.fail_503 = 3
    with pytest.raises(BackendError, match="HTTP 503"):
        generate(b, CONCEPTS[:1], test_prompt, progress=False)


def test_unreachable_server(monkeypatch):
    host = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("OLLAMA_HOST", host)
    with pytest.raises(BackendError) as exc:
        OllamaBackend(parse_spec("ollama:tiny"), backoff_s=0.01)
    msg = str(exc.value)
    assert host in msg and "ollama serve" in msg and "\n" not in msg


def test_timeout(server, test_prompt):
    server.delay = 1.0
    b = OllamaBackend(parse_spec("ollama:tiny"), timeout=0.2, backoff_s=0.01)
    with pytest.raises(BackendError, match="within 0.2 s"):
        generate(b, CONCEPTS[:1], test_prompt, progress=False)
