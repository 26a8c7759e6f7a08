"""An Ollama stand-in: a real HTTP server on 127.0.0.1 speaking Ollama's /api/tags and /api/chat.

Ollama itself cannot run here, so this stand-in answers the way Ollama does
(non-streaming chat with a `format` JSON schema, errors as {"error": ...}),
and can be told to misbehave: be slow, trickle its answer, fail with HTTP 500, answer malformed
JSON, or answer JSON outside the schema.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

MODEL = "llama3.1:8b"


@dataclass(kw_only=True)
class OllamaStandIn:
    url: str = ""
    # How the next /api/chat calls answer, in order; when empty: "good".
    behaviours: list[str] = field(default_factory=list)
    good_answer: dict = field(default_factory=lambda: {"score": 8, "reasons": ["calm nature footage"], "tags": ["Nature", "calm"]})
    # When set, a good answer is made from the request (e.g. to reorder the ids it names).
    answer_for: Callable[[dict], dict] | None = None
    slow_seconds: float = 1.0
    chat_requests: list[dict] = field(default_factory=list)
    tags_requests: int = 0
    models: list[str] = field(default_factory=lambda: [MODEL])

    def next_behaviour(self) -> str:
        return self.behaviours.pop(0) if self.behaviours else "good"


def _handler(state: OllamaStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _trickle(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            try:
                for _ in range(200):  # bounded: 10 s at most, the client hangs up long before
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass

        def do_GET(self) -> None:
            if self.path != "/api/tags":
                self._send(404, b"404 page not found", "text/plain")
                return
            state.tags_requests += 1
            models = [
                {"name": name, "model": name, "modified_at": "2026-01-01T00:00:00Z", "size": 4920753328,
                 "digest": "46e0c10c039e019119339687c3c1757cc81b9da49709a3b3924863ba87ca666e",
                 "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                             "parameter_size": "8.0B", "quantization_level": "Q4_K_M"}}
                for name in state.models
            ]  # fmt: skip
            self._send(200, json.dumps({"models": models}).encode())

        def do_POST(self) -> None:
            if self.path != "/api/chat":
                self._send(404, b"404 page not found", "text/plain")
                return
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.chat_requests.append(request)
            if request.get("model") not in state.models:
                self._send(404, json.dumps({"error": f"model '{request.get('model')}' not found"}).encode())
                return
            behaviour = state.next_behaviour()
            if behaviour == "slow":
                time.sleep(state.slow_seconds)
            if behaviour == "trickle":  # an answer one byte at a time, each well within the read timeout
                self._trickle()
                return
            if behaviour == "error500":
                self._send(500, json.dumps({"error": "llama runner process has terminated: signal: killed"}).encode())
                return
            content = {
                "good": json.dumps(state.answer_for(request) if state.answer_for else state.good_answer),
                "slow": json.dumps(state.answer_for(request) if state.answer_for else state.good_answer),
                "malformed": '{"score": 7, "reasons": ["cut off',
                "off_schema": json.dumps({"score": "very high", "why": "nice"}),
                "out_of_range": json.dumps({"score": 42, "reasons": ["x"], "tags": []}),
            }[behaviour]
            self._send(200, json.dumps({
                "model": request["model"], "created_at": "2026-01-01T00:00:00.000000Z",
                "message": {"role": "assistant", "content": content},
                "done_reason": "stop", "done": True, "total_duration": 1_000_000, "load_duration": 100_000,
                "prompt_eval_count": 60, "prompt_eval_duration": 200_000, "eval_count": 30, "eval_duration": 600_000,
            }).encode())  # fmt: skip

    return Handler


@pytest.fixture
def ollama() -> Iterator[OllamaStandIn]:
    state = OllamaStandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
