"""A real HTTP server on 127.0.0.1 that speaks OpenAI's Chat Completions protocol, for tests.

``POST /v1/chat/completions`` answers with a completion whose text ``reply(request)`` gives.
Behaviours per model name, so one server covers every case a client must survive:
  - ``ok``: answers at once;
  - ``slow``: answers after ``slow_seconds``;
  - ``flaky``: 429 (with Retry-After 0) for the first two calls of each prompt, then answers;
  - ``broken``: 500 for ever;
  - ``loading``: 503 until ``loading_seconds`` after the server started, then answers (a
    server still loading its model);
  - ``garbage``: 200 with a body that is not JSON.
Every request is recorded (headers and JSON body) for the test to inspect.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


class ChatServer:
    """Start with ``with ChatServer() as server:``; ``server.base_url`` ends in /v1."""

    def __init__(self, reply: Callable[[dict], str] | None = None,
                 slow_seconds: float = 2.0, loading_seconds: float = 1.0) -> None:
        self.reply = reply or (lambda request: 'The answer is {"answer": "red"}')
        self.slow_seconds = slow_seconds
        self.loading_seconds = loading_seconds
        self.started = time.monotonic()
        self.requests: list[dict[str, Any]] = []
        self.calls: Counter = Counter()
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> "ChatServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] = {}) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                request = json.loads(self.rfile.read(length) or b"{}")
                model = request.get("model", "ok")
                key = json.dumps(request.get("messages"), sort_keys=True)
                with server.lock:
                    server.requests.append({"path": self.path, "headers": dict(self.headers),
                                            "body": request})
                    server.calls[model, key] += 1
                    count = server.calls[model, key]
                if not self.path.endswith("/chat/completions"):
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                if model == "broken":
                    self._send(500, b'{"error": {"message": "internal error"}}')
                    return
                if model == "loading" and \
                        time.monotonic() - server.started < server.loading_seconds:
                    self._send(503, b'{"error": {"message": "loading the model"}}')
                    return
                if model == "flaky" and count <= 2:
                    self._send(429, b'{"error": {"message": "rate limited"}}',
                               {"Retry-After": "0"})
                    return
                if model == "garbage":
                    self._send(200, b"this is not json{")
                    return
                if model == "slow":
                    time.sleep(server.slow_seconds)
                text = server.reply(request)
                body = {"id": "chatcmpl-test", "object": "chat.completion",
                        "created": int(time.time()), "model": model,
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": text}}],
                        "usage": {"prompt_tokens": 11, "completion_tokens": 7,
                                  "total_tokens": 18}}
                self._send(200, json.dumps(body).encode())

        return Handler
