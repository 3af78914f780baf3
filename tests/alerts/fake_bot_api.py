"""A local fake of the Telegram Bot API (``sendMessage`` only) on 127.0.0.1 for tests.

It records every accepted message, can answer the next N requests with 429 + ``retry_after``
or 500, and can be stopped and started again on the same port ("Telegram down and back").
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeBotAPI:
    def __init__(self, token: str, port: int = 0) -> None:
        self.token = token
        self.messages: list[dict[str, Any]] = []
        self.requests = 0
        self.received = threading.Event()  # set on every accepted message
        self.paths: list[str] = []
        self._faults: list[tuple[int, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = port
        self.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, status: int, count: int = 1, retry_after: int | None = None) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": "fake error"}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
            body["description"] = f"Too Many Requests: retry after {retry_after}"
        with self._lock:
            self._faults.extend([(status, body)] * count)

    def texts(self) -> list[str]:
        with self._lock:
            return [m["text"] for m in self.messages]

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake.requests += 1
                    fake.paths.append(self.path)
                    fault = fake._faults.pop(0) if fake._faults else None
                    if fault is None and self.path == f"/bot{fake.token}/sendMessage":
                        fake.messages.append(payload)
                        fake.received.set()
                        status = 200
                        body: dict[str, Any] = {
                            "ok": True,
                            "result": {"message_id": len(fake.messages), "text": payload["text"]},
                        }
                    elif fault is None:
                        status, body = 401, {"ok": False, "description": "Unauthorized"}
                    else:
                        status, body = fault
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=10)
            self._server = None
