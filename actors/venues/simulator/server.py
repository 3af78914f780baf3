"""The loopback server: one aiohttp app (POST /info, POST /exchange, GET /ws) on 127.0.0.1,
running its own event loop in a background thread, plus the handle tests drive.

Why a thread: tests and `fractal sim` both need a blocking API (`with run_simulator(...)`),
while the server must keep serving websockets and clock ticks in the background.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from actors.venues.simulator import errors, exchange_api, ticks
from actors.venues.simulator import state as state_io
from actors.venues.simulator.clock import Clock
from actors.venues.simulator.config import SimulatorConfig
from actors.venues.simulator.engine import Venue
from actors.venues.simulator.exchange_api import BadRequest
from actors.venues.simulator.faults import Faults
from actors.venues.simulator.info_api import handle_info, info_weight
from actors.venues.simulator.replay import build_market, check_start, default_start
from actors.venues.simulator.ws import SIM_KEY, WsHub, candle_frames, event_frames

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 30.0


class Simulator:
    """Venue + clock + faults + server thread. Use run_simulator() in tests."""

    def __init__(self, cfg: SimulatorConfig) -> None:
        self.cfg = cfg
        self.lock = threading.RLock()
        self.market = build_market(cfg)
        saved = state_io.load(cfg.state_dir) if cfg.state_dir is not None else None
        if saved is None and cfg.start_ms is not None and self.market is not None:
            check_start(self.market, cfg.start_ms)
        # a saved state resumes at its own time: start_ms only starts a fresh replay
        start = int(saved["now"]) if saved else (cfg.start_ms or default_start(self.market))
        self.venue = Venue(
            self.market, cfg.symbols, start, cfg.accounts, cfg.coin_meta, cfg.book_level_usd
        )
        if saved:
            state_io.restore(self.venue, saved)
            for addr, usdc in cfg.accounts.items():
                if addr not in self.venue.accounts:
                    self.venue.add_account(addr, usdc)
        self._store = state_io.StateStore(cfg.state_dir) if cfg.state_dir is not None else None
        if self._store is not None:
            self._store.checkpoint(self.venue)  # the journal starts empty on this venue object
        self.clock = Clock(cfg.clock, self.venue.now, cfg.speed)
        self.clock.add_listener(self._on_clock)
        self.faults = Faults(cfg.rate_limit_per_min)
        self.faults.on_ws_drop = self._drop_ws
        self.faults.on_ws_garbage = self._ws_garbage
        self.faults.on_venue = self._venue_fault
        self.hub = WsHub(self.faults)
        for kind, params in cfg.faults.items():
            self.faults.inject(kind, **(params or {}))
        self.port = cfg.port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._persisted_at = 0.0
        self._candle_sent: dict[tuple[str, str], int] = {}  # (coin, interval) -> last pushed t

    # ----- lifecycle ------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Simulator:
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="hl-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError("simulator did not start within 30 s")
        if self._error is not None:
            raise RuntimeError(f"simulator failed to start: {self._error}") from self._error
        return self

    def stop(self) -> None:
        """Stop serving (websockets closed, port released), join the server thread, persist.
        Safe to call twice; a server thread that does not end is an error, never ignored."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is not None and loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed: the thread is ending
                loop.call_soon_threadsafe(stop.set)
            thread.join(timeout=STOP_TIMEOUT_S)
            if thread.is_alive():
                raise RuntimeError(
                    f"simulator server thread did not stop within {STOP_TIMEOUT_S} s"
                )
        self._thread = None
        self.checkpoint()
        if self._store is not None:
            self._store.close()  # reopened by the next persist or restart

    def restart(self) -> None:
        """Stop, rebuild the venue from the persisted state, serve again on the same port."""
        if self.cfg.state_dir is None:
            raise RuntimeError("restart keeping state needs SimulatorConfig.state_dir")
        self.stop()
        saved = state_io.load(self.cfg.state_dir)
        with self.lock:
            self.venue = Venue(
                self.market,
                self.cfg.symbols,
                int(saved["now"]) if saved else self.venue.now,
                {},
                self.cfg.coin_meta,
                self.cfg.book_level_usd,
            )
            if saved:
                state_io.restore(self.venue, saved)
            self.checkpoint()  # the new venue object's change tracking starts here
        self.start()

    def persist(self) -> None:
        """Make every change so far durable (one journal line, fsynced) before any reply."""
        if self._store is not None:
            with self.lock:
                self._store.append(self.venue)
            self._persisted_at = time.monotonic()

    def checkpoint(self) -> None:
        """A full snapshot (compacts the journal): at start, restart and stop."""
        if self._store is not None:
            with self.lock:
                self._store.checkpoint(self.venue)
            self._persisted_at = time.monotonic()

    # ----- test-facing controls -------------------------------------------------------------
    def step_bar(self) -> int:
        """Manual clock: advance to the next bar close of any coin; returns the new time."""
        with self.lock:
            now = self.venue.now
            nexts = (
                [self.market.next_bar_close(c, now) for c in self.cfg.symbols]
                if self.market is not None
                else []
            )
            targets = [t for t in nexts if t is not None]
        target = min(targets) if targets else now + 60_000
        self.clock.advance(ms=target - now)
        return target

    def set_book(
        self, coin: str, bids: list[tuple[float, float]], asks: list[tuple[float, float]]
    ) -> None:
        with self.lock:
            self._coin(coin)
            ticks.set_book(self.venue, coin, bids, asks)
        self._after_change(wait=True)

    def clear_book(self, coin: str) -> None:
        with self.lock:
            self._coin(coin)
            ticks.clear_book(self.venue, coin)
        self._after_change(wait=True)

    def add_account(self, address: str, usdc: float) -> None:
        with self.lock:
            self.venue.add_account(address, usdc)
        self.persist()

    def _coin(self, coin: str) -> None:
        if coin not in self.venue.asset_of:
            raise ValueError(f"unknown coin {coin!r}; simulator has {self.venue.coins}")

    # ----- internals ------------------------------------------------------------------------
    def _on_clock(self, now: int) -> None:
        with self.lock:
            ticks.advance_to(self.venue, now)
        # manual time moves only from a caller's thread: it waits for the pushes; the ticker
        # of real/accelerated clocks does not
        self._after_change(wait=self.clock.mode == "manual")

    def _venue_fault(self, kind: str, params: dict[str, Any]) -> None:
        with self.lock:
            if kind == "partial_fill":
                frac = float(params.get("fraction", 0.5))
                if not 0 < frac < 1:
                    raise ValueError(f"partial_fill fraction must be in (0, 1), got {frac}")
                self.venue.partial_fill_fraction = frac
            elif kind == "reject":
                self.venue.reject_next += [str(params["message"])] * int(params.get("count", 1))
            elif kind == "batch_error":
                self.venue.batch_error_next += [str(params["message"])] * int(
                    params.get("count", 1)
                )
            elif kind == "clear":
                self.venue.partial_fill_fraction = None
                self.venue.reject_next.clear()
                self.venue.batch_error_next.clear()

    def _drop_ws(self) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self.hub.drop_all(), self._loop).result(timeout=10)

    def _ws_garbage(self, texts: list[str]) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self.hub.send_raw(texts), self._loop).result(
                timeout=10
            )

    def _after_change(self, wait: bool = False) -> None:
        """Persist and push websocket frames for whatever the engine recorded. With `wait`, the
        frames are on the sockets when this returns, so a test control (set_book, step_bar,
        manual clock.advance) is ordered before anything the caller does next."""
        if wait or self.venue.events or time.monotonic() - self._persisted_at > 1.0:
            self.persist()  # a caller's control (manual time, book) is always kept
        loop = self._loop
        if loop is None or not loop.is_running():
            return
        if wait and threading.current_thread() is not self._thread:
            try:
                asyncio.run_coroutine_threadsafe(self._flush(), loop).result(STOP_TIMEOUT_S)
            except (RuntimeError, concurrent.futures.TimeoutError):
                raise RuntimeError("the simulator stopped while pushing websocket frames") from None
            return
        with contextlib.suppress(RuntimeError):  # closed between the check and the call
            loop.call_soon_threadsafe(self._schedule_flush)

    def _schedule_flush(self) -> None:
        asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        with self.lock:
            events, self.venue.events = self.venue.events, []
            subscribed: set[tuple[str, ...]] = set()
            for client in self.hub.clients:
                subscribed |= client.subs
            frames = event_frames(self.venue, events, subscribed)
            moved = {k for kind, k, _ in events if kind == "market"}
            wanted: dict[str, set[str]] = {}
            for client in self.hub.clients:
                for key in client.subs:
                    if key[0] == "candle" and key[1] in moved:
                        wanted.setdefault(key[1], set()).add(key[2])
            for coin, intervals in wanted.items():
                frames += candle_frames(self.venue, coin, intervals, self._candle_sent)
        stale = self.faults.stale_coins
        if stale:  # market-data pushes of these coins freeze; user channels keep flowing
            frames = [(k, f) for k, f in frames if not _is_market_frame(k, stale)]
        await self.hub.publish(frames)

    def snapshot_frames(self, key: tuple[str, ...]) -> list[Any]:
        """Frames sent right after a subscription (the venue's snapshots)."""
        from actors.venues.simulator import views

        with self.lock:
            v = self.venue
            if key[0] == "userFills":
                return [
                    {
                        "channel": "userFills",
                        "data": {
                            "user": key[1],
                            "isSnapshot": True,
                            "fills": views.user_fills(v, key[1]),
                        },
                    }
                ]
            if key[0] == "l2Book" and key[1] in v.asset_of:
                return [{"channel": "l2Book", "data": views.l2_book(v, key[1])}]
            if key[0] == "allMids":
                return [{"channel": "allMids", "data": {"mids": views.all_mids(v)}}]
            if key[0] == "candle" and key[1] in v.asset_of:
                frames = candle_frames(v, key[1], {key[2]})
                subscribers = sum(key in c.subs for c in self.hub.clients)
                if frames and (subscribers <= 1 or (key[1], key[2]) not in self._candle_sent):
                    # later pushes continue from this candle (unless others already follow one)
                    self._candle_sent[(key[1], key[2])] = frames[-1][1]["data"]["t"]
                return [f for _, f in frames]
        return []

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced to start()
            self._error = exc
            self._ready.set()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())  # ticker's worker threads
            loop.close()
            self._loop = None

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        app = web.Application(client_max_size=2**20)
        app[SIM_KEY] = self
        app.router.add_post("/info", self._info)
        app.router.add_post("/exchange", self._exchange)
        app.router.add_get("/ws", self.hub.handler)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.cfg.host, self.port, reuse_address=True)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self._ready.set()
        ticker = asyncio.ensure_future(self._ticker()) if self.clock.mode != "manual" else None
        await self._stop.wait()
        if ticker is not None:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
        await self.hub.drop_all()
        await runner.cleanup()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.tick_interval_s)
            await asyncio.to_thread(self.clock.tick)

    async def _prelude(self, path: str) -> web.Response | None:
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        if self.faults.take_5xx(path):
            return web.Response(status=500, text="Internal Server Error", content_type="text/plain")
        return None

    async def _read_json(self, request: web.Request) -> Any:
        try:
            return json.loads(await request.text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadRequest(errors.DESERIALIZE) from None

    async def _info(self, request: web.Request) -> web.Response:
        early = await self._prelude("/info")
        if early is not None:
            return early
        try:
            body = await self._read_json(request)
            if not self.faults.charge(info_weight(body, None)):
                return _rate_limited()
            with self.lock:
                ticks.advance_to(self.venue, self.clock.now_ms())
                if self.venue.events:  # the replay moved something (fills, funding): keep it
                    self.persist()
                reply = handle_info(self.venue, body)
            extra = info_weight(body, reply) - info_weight(body, None)
            if extra:
                self.faults.charge(extra, force=True)
        except BadRequest as bad:
            return web.Response(status=422, text=str(bad), content_type="text/plain")
        await self._flush()
        return web.json_response(reply)

    async def _exchange(self, request: web.Request) -> web.Response:
        early = await self._prelude("/exchange")
        if early is not None:
            return early
        try:
            body = await self._read_json(request)
            n = (
                len(body.get("action", {}).get("orders", []))
                if isinstance(body, dict) and isinstance(body.get("action"), dict)
                else 0
            )
            if not self.faults.charge(1 + n // 40):
                return _rate_limited()
            req = exchange_api.prepare(body)  # a 422 leaves the venue untouched
        except BadRequest as bad:
            return web.Response(status=422, text=str(bad), content_type="text/plain")
        try:
            with self.lock:
                try:
                    ticks.advance_to(self.venue, self.clock.now_ms())
                    reply = exchange_api.apply(self.venue, req, int(time.time() * 1000))
                finally:
                    self.persist()  # whatever was applied is durable before anyone hears of it
        except Exception:
            # a simulator bug part-way through an action: the client must treat it as unknown
            # (a 5xx), look the order up and see whatever was applied and persisted
            log.exception("simulator failed applying an /exchange action")
            await self._flush()
            return web.Response(status=500, text="Internal Server Error", content_type="text/plain")
        await self._flush()
        if self.faults.take_timeout():
            # accepted and applied, but the client never gets the reply
            with contextlib.suppress(asyncio.TimeoutError):
                assert self._stop is not None
                await asyncio.wait_for(self._stop.wait(), timeout=self.faults.hang_seconds)
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=504, text="timeout")
        return web.json_response(reply)


def _rate_limited() -> web.Response:
    """text/plain so the SDK raises ClientError(429) instead of crashing on a JSON body."""
    return web.Response(status=429, text=errors.RATE_LIMITED, content_type="text/plain")


def _is_market_frame(key: tuple[str, ...], stale: set[str]) -> bool:
    if key[0] == "allMids":
        return True
    return key[0] in ("l2Book", "trades", "bbo", "candle") and key[1] in stale


@contextlib.contextmanager
def run_simulator(cfg: SimulatorConfig) -> Iterator[Simulator]:
    """Start a simulator in a background thread; stop it (thread joined) on exit."""
    sim = Simulator(cfg)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()
