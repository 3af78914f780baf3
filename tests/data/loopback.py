"""A tiny aiohttp server on 127.0.0.1 (ephemeral port) in a background thread, for fetcher tests.

Handlers are plain functions ``(Request) -> Reply``; every request is logged so tests can
assert exactly what a fetcher asked for. Start/stop wait on events, never on sleeps.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    content_type: str = "application/json"

    def payload(self) -> str:
        if self.content_type == "application/json":
            return json.dumps(self.body)
        return str(self.body)


Handler = Callable[[Request], Reply]


@dataclass
class LoopbackServer:
    """Serves ``routes[(METHOD, path)]``; unknown routes answer 404 and are logged too."""

    routes: dict[tuple[str, str], Handler]
    log: list[Request] = field(default_factory=list)
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.text()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        req = Request(request.method, request.path, dict(request.query), body)
        self.log.append(req)
        handler = self.routes.get((request.method, request.path))
        reply = handler(req) if handler else Reply(404, "not found", "text/plain")
        return web.Response(
            status=reply.status, text=reply.payload(), content_type=reply.content_type
        )

    def start(self) -> LoopbackServer:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            runner = web.AppRunner(app, access_log=None)
            try:
                loop.run_until_complete(runner.setup())
                site = web.TCPSite(runner, "127.0.0.1", 0)
                loop.run_until_complete(site.start())
                self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            except BaseException as err:  # surface start-up failures to the test
                errors.append(err)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="loopback-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("loopback server did not start within 10 s")
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
