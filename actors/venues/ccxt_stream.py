"""Candle updates for the CCXT venues by polling REST in a background thread.

Why polling: ccxt's websocket clients (ccxt.pro) are asyncio and per-exchange; REST candles are
the same rows the back-fill reads, so a bar delivered live equals the one read later. Each
closed bar is delivered once, oldest first, before any forming update of a later bar; a poll
that fails (VenueUnavailable) is logged and retried on the next tick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from actors.venues.base import Candle, VenueError

log = logging.getLogger(__name__)


class PollingCandleStream:
    def __init__(
        self,
        closed: Callable[[int, int], list[Candle]],  # (start_ms, end_ms) -> closed candles
        forming: Callable[[int], Candle | None],  # open time -> the forming candle, if any
        now_ms: Callable[[], int],
        step_ms: int,
        on_candle: Callable[[Candle], None],
        poll_s: float,
    ) -> None:
        self._closed, self._forming, self._now = closed, forming, now_ms
        self._step, self._on, self._poll = step_ms, on_candle, poll_s
        self._stop = threading.Event()
        self._last: int | None = None  # open time of the newest closed bar delivered
        self.last_message_ms: int | None = None  # wall time of the last answered poll (health)
        self._thread = threading.Thread(target=self._run, name="ccxt-candles", daemon=True)
        self._thread.start()

    def _tick(self) -> None:
        now = self._now()
        start = (
            self._last + self._step
            if self._last is not None
            else now - now % self._step - self._step * 3
        )
        closed = self._closed(start, now + self._step)
        self.last_message_ms = time.time_ns() // 1_000_000
        for c in closed:
            if self._last is None or c.time_ms > self._last:
                self._on(c)
                self._last = c.time_ms
        forming_t = (self._last + self._step) if self._last is not None else now - now % self._step
        if forming_t + self._step > now:  # still forming at the venue clock
            forming = self._forming(forming_t)
            if forming is not None:
                self._on(forming)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except VenueError as exc:
                log.warning("candle poll failed (retrying): %s", exc)
            except Exception:  # a bug in a callback must not kill the stream silently
                log.exception("candle poll crashed (retrying)")
            self._stop.wait(self._poll)

    def close(self) -> None:
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)
