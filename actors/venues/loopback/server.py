"""One loopback exchange on 127.0.0.1: an aiohttp app in its own thread and event loop.

Why a thread (as the Hyperliquid simulator): tests and ccxt's synchronous client both need a
blocking handle while the server answers in the background. The port is chosen by the OS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from actors.venues.loopback.engine import Engine
from actors.venues.loopback.faults import Faults
from actors.venues.loopback.markets import load_markets

log = logging.getLogger(__name__)

DEFAULT_START_MS = 1_743_465_600_000  # 2025-04-01 00:00 UTC: inside every shipped 5m file
STOP_TIMEOUT_S = 30.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Dialect(Protocol):
    name: str

    def routes(self, app: web.Application) -> None: ...
    def is_write(self, request: web.Request) -> bool: ...
    def rate_limited(self) -> web.Response: ...
    def maintenance(self) -> web.Response: ...
    def reject_code(self) -> str: ...


def make_dialect(exchange: str, engine: Engine, key: str, secret: str, password: str) -> Dialect:
    if exchange == "binanceusdm":
        from actors.venues.loopback.binance_api import BinanceApi

        return BinanceApi(engine, key, secret)
    if exchange == "bybit":
        from actors.venues.loopback.bybit_api import BybitApi

        return BybitApi(engine, key, secret)
    if exchange == "okx":
        from actors.venues.loopback.okx_api import OkxApi

        return OkxApi(engine, key, secret, password)
    raise ValueError(f"no loopback dialect for {exchange!r}; available: binanceusdm, bybit, okx")


class LoopbackServer:
    """A running loopback venue; ``base_url`` is what ccxt's URLs are pointed at."""

    def __init__(
        self,
        exchange: str,
        *,
        market_dir: Path,
        symbols: list[str],
        api_key: str,
        secret: str,
        password: str = "",
        speed: float = 1.0,
        start_ms: int = DEFAULT_START_MS,
        wallet: float = 10_000.0,
    ) -> None:
        self.exchange = exchange
        self.engine = Engine(load_markets(market_dir, symbols), start_ms, speed, wallet)
        self.faults = Faults()
        self.dialect = make_dialect(exchange, self.engine, api_key, secret, password)
        self.port = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (method, path, query) log

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inject(self, kind: str, **params: Any) -> None:
        if kind == "reject":
            message = str(params.get("message", "Margin is insufficient."))
            code = self.dialect.reject_code()
            self.engine.reject_next += [(code, message)] * int(params.get("count", 1))
            return
        self.faults.inject(kind, **params)

    # ----- lifecycle --------------------------------------------------------------------------
    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._run, name=f"loopback-{self.exchange}",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError("loopback server did not start within 30 s")
        if self._error is not None:
            raise RuntimeError(f"loopback server failed to start: {self._error}") from self._error
        return self

    def stop(self) -> None:
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is not None and loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
            thread.join(timeout=STOP_TIMEOUT_S)
            if thread.is_alive():
                raise RuntimeError(f"loopback server thread did not stop in {STOP_TIMEOUT_S} s")
        self._thread = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start() or logged
            self._error = exc
            self._ready.set()
            if not isinstance(exc, asyncio.CancelledError):
                log.exception("loopback server stopped with an error")
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        app = web.Application(middlewares=[self._middleware])
        self.dialect.routes(app)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        write = self.dialect.is_write(request)
        self.requests.append((request.method, request.path, dict(request.query)))
        if self.faults.over_limit():
            return self.dialect.rate_limited()
        if self.faults.take_maintenance():
            return self.dialect.maintenance()
        if self.faults.take_5xx(write):
            return web.Response(status=502, text="<html>502 Bad Gateway</html>",
                                content_type="text/html")  # fmt: skip
        reply = await handler(request)
        if self.faults.take_timeout(write):
            assert self._stop is not None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.faults.hang_seconds)
            return web.Response(status=504, text="timeout")
        body = self.faults.take_malformed()
        if body is not None:
            return web.Response(status=200, body=body, content_type="application/json")
        return reply


@contextlib.contextmanager
def run_loopback(exchange: str, **kwargs: Any) -> Iterator[LoopbackServer]:
    """Start a loopback venue (``LoopbackServer`` arguments) and stop it on exit."""
    server = LoopbackServer(exchange, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()
