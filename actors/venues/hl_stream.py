"""Candle stream: forming candles from the SDK's websocket, closed candles confirmed over REST.

Why both: Hyperliquid's candle channel pushes the *current* bucket again and again and never
says "closed"; the last push of a bucket may miss its final trades, and a replay may not push at
the exact bucket end at all. So the websocket only feeds forming candles (``closed=False``), and
a small timer thread waits for each bucket's end on the venue clock, then reads the closed
buckets over REST (the venue's final OHLCV) and delivers each exactly once, in order, never again
as forming. The SDK's websocket thread never reconnects (python-sdk #145): ``age_s`` reports the
time since the last push so the DataFeed's watchdog can close the stream and subscribe again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from hyperliquid.websocket_manager import WebsocketManager

from actors.venues import hl_replies
from actors.venues.base import Candle, VenueError

log = logging.getLogger(__name__)

RETRY_WALL_S = (0.05, 5.0)  # re-ask after 50 ms when a bucket is not closed yet, doubling to 5 s


class CandleStream:
    """One websocket subscription plus one closing thread; ``close`` is idempotent."""

    def __init__(
        self,
        base_url: str,
        symbol: str,
        timeframe: str,
        interval_ms: int,
        on_candle: Callable[[Candle], None],
        now_ms: Callable[[], int],
        closed_between: Callable[[int, int], list[Candle]],
        speed: float = 1.0,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.symbol, self.timeframe = symbol, timeframe
        self._step = interval_ms
        self._on_candle = on_candle
        self._now_ms = now_ms
        self._closed_between = closed_between
        self._speed = speed
        self._on_close = on_close
        self._emit_lock = threading.Lock()
        self._stop = threading.Event()
        self._next = (now_ms() // interval_ms) * interval_ms  # first bucket to deliver closed
        self.last_message_monotonic = time.monotonic()
        self.last_message_ms: int | None = None  # wall time of the last good push (health)
        self._ws = WebsocketManager(base_url)
        self._ws.daemon = True  # never keep the process alive
        self._ws.ping_sender.daemon = True
        self._ws.start()
        self._ws.subscribe({"type": "candle", "coin": symbol, "interval": timeframe}, self._push)
        self._closer = threading.Thread(
            target=self._close_loop, name=f"candles-{symbol}-{timeframe}", daemon=True
        )
        self._closer.start()

    def age_s(self) -> float:
        """Seconds since the last websocket push (the watchdog's input)."""
        return time.monotonic() - self.last_message_monotonic

    def is_alive(self) -> bool:
        return not self._stop.is_set() and self._ws.is_alive() and self._closer.is_alive()

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        try:
            self._ws.stop()
        except Exception:  # the socket may already be gone; closing must not fail
            log.debug("candle stream %s %s: websocket close raised", self.symbol, self.timeframe)
        if threading.current_thread() is not self._closer:
            self._closer.join(timeout=10)
        if self._on_close is not None:
            self._on_close()

    # ----- forming candles (websocket thread) -------------------------------------------------
    def _push(self, msg: dict[str, Any]) -> None:
        """A forming candle. Only a well-formed one counts as a sign of life: a socket that
        sends nothing but garbage is as dead as a silent one, and the watchdog must reconnect
        it. (Frames the SDK cannot route — not JSON, an unknown channel, no ``data`` — never
        get here: the SDK's callback raises and websocket-client logs and drops them.)"""
        try:
            c = hl_replies.candle(msg["data"], self.symbol, self.timeframe, closed=False)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("candle stream %s %s: malformed push dropped (%s)", self.symbol,
                        self.timeframe, exc)  # fmt: skip
            return
        if self._from_future(c.time_ms):
            log.warning("candle stream %s %s: candle from the future (%d) dropped", self.symbol,
                        self.timeframe, c.time_ms)  # fmt: skip
            return
        self.last_message_monotonic = time.monotonic()
        self.last_message_ms = time.time_ns() // 1_000_000
        with self._emit_lock:
            if c.time_ms >= self._next and not self._stop.is_set():
                self._deliver(c)

    def _from_future(self, time_ms: int) -> bool:
        """A bucket opening after the venue's current one (the clock unreadable: not judged)."""
        try:
            return time_ms > self._now_ms() + self._step
        except VenueError:
            return False

    # ----- closed candles (closing thread) ----------------------------------------------------
    def _close_loop(self) -> None:
        retry = RETRY_WALL_S[0]
        while not self._stop.is_set():
            end = self._next + self._step
            try:
                now = self._now_ms()
            except VenueError as exc:
                log.warning("candle stream %s: venue clock unavailable (%s)", self.symbol, exc)
                self._stop.wait(1.0)
                continue
            if now < end:
                self._stop.wait(max((end - now) / 1000 / self._speed, 0.0) + 0.005)
                continue
            try:
                closed = self._closed_between(self._next, now + 1)
            except VenueError as exc:
                log.warning("candle stream %s: closed-bar read failed (%s)", self.symbol, exc)
                self._stop.wait(1.0)
                continue
            if not closed:  # the venue has not closed it yet, a data gap, or the data ended
                self._stop.wait(retry)
                retry = min(retry * 2, RETRY_WALL_S[1])
                continue
            retry = RETRY_WALL_S[0]
            with self._emit_lock:
                for c in closed:
                    if c.time_ms >= self._next and not self._stop.is_set():
                        self._deliver(c)
                        self._next = c.time_ms + self._step

    def _deliver(self, c: Candle) -> None:
        try:
            self._on_candle(c)
        except Exception:  # a consumer bug must not kill the stream
            log.exception("candle stream %s %s: on_candle raised", self.symbol, self.timeframe)
