"""The paper venue's lean HTTP session fails exactly as requests would (the venue's failure
handling keys on requests' exceptions), never resends a POST, and refuses what requests refuses."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import requests

from actors.venues.loopback_http import LoopbackSession


@contextmanager
def _server(answer: Callable[[socket.socket, bytes], None]) -> Iterator[tuple[str, list[bytes]]]:
    """A one-thread HTTP server on 127.0.0.1 that hands each request to ``answer``."""
    seen: list[bytes] = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(next((ln.split(b":")[1] for ln in head.split(b"\r\n")
                                   if ln.lower().startswith(b"content-length")), b"0"))  # fmt: skip
                while len(body) < length:
                    body += conn.recv(65536)
                seen.append(body)
                answer(conn, body)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.getsockname()[1]}", seen
    finally:
        stop.set()
        srv.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        srv.close()
        t.join(5)
        assert not t.is_alive()


def _reply(status: int, body: bytes) -> Callable[[socket.socket, bytes], None]:
    def answer(conn: socket.socket, _: bytes) -> None:
        conn.sendall(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n%s" % (status, len(body), body))  # fmt: skip

    return answer


def test_a_post_sends_json_and_reads_the_reply() -> None:
    with _server(_reply(200, b'{"ok": 1}')) as (url, seen):
        r = LoopbackSession().post(url + "/info", json={"type": "meta", "n": 1.5}, timeout=5)
    assert (r.status_code, r.ok, r.json()) == (200, True, {"ok": 1})
    assert json.loads(seen[0]) == {"type": "meta", "n": 1.5}


@pytest.mark.parametrize("status", [429, 500])
def test_an_error_status_is_returned_for_the_sdk_to_raise(status: int) -> None:
    with _server(_reply(status, b"busy")) as (url, _):
        r = LoopbackSession().post(url + "/exchange", json={}, timeout=5)
    assert (r.status_code, r.ok, r.text) == (status, False, "busy")
    with pytest.raises(ValueError):  # not JSON: the SDK turns this into {"error": ...}
        r.json()


def test_a_connection_dropped_mid_request_is_a_connection_error_and_never_resent() -> None:
    with (  # the server reads the request and closes without an answer
        _server(lambda conn, _: None) as (url, seen),
        pytest.raises(requests.exceptions.ConnectionError),
    ):
        LoopbackSession().post(url + "/exchange", json={"a": 1}, timeout=5)
    assert len(seen) == 1  # a POST whose outcome is unknown is looked up, never sent twice


def test_a_reply_that_never_comes_is_a_read_timeout() -> None:
    gate = threading.Event()

    def hang(conn: socket.socket, _: bytes) -> None:
        gate.wait(5)

    with _server(hang) as (url, seen):
        with pytest.raises(requests.exceptions.ReadTimeout):
            LoopbackSession().post(url + "/exchange", json={"a": 1}, timeout=0.2)
        gate.set()
    assert len(seen) == 1


def test_nobody_listening_is_a_connection_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # closed on exit: nothing listens there
    with pytest.raises(requests.exceptions.ConnectionError):
        LoopbackSession().post(f"http://127.0.0.1:{dead}/info", json={}, timeout=2)


def test_a_payload_requests_would_refuse_is_refused_before_anything_is_sent() -> None:
    with (
        _server(_reply(200, b"{}")) as (url, seen),
        pytest.raises(requests.exceptions.InvalidJSONError),
    ):
        LoopbackSession().post(url + "/exchange", json={"px": float("nan")}, timeout=5)
    assert seen == []


def test_two_threads_posting_at_once_keep_their_connections(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The Executor places on one thread while its upkeep cancels on another, through one client:
    the pool must take both connections back (a pool of one logged "pool is full" and dropped
    a keep-alive connection on every overlap)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    both_in = threading.Barrier(2)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            both_in.wait(5)  # the two requests are in flight at the same time
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    serving = threading.Thread(target=srv.serve_forever, daemon=True)
    serving.start()
    session, answers = LoopbackSession(), []
    url = f"http://127.0.0.1:{srv.server_address[1]}/exchange"
    try:
        with caplog.at_level("WARNING", logger="urllib3"):
            posts = [threading.Thread(target=lambda: answers.append(session.post(url, json={}, timeout=5)))
                     for _ in range(2)]  # fmt: skip
            for t in posts:
                t.start()
            for t in posts:
                t.join(10)
    finally:
        srv.shutdown()
        srv.server_close()
        serving.join(5)
    assert [a.json() for a in answers] == [{}, {}]
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]
