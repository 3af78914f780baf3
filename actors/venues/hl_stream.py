"""Candle stream over the SDK's websocket, turning raw pushes into forming and closed candles.

Why a wrapper: Hyperliquid pushes the *current* candle of a subscription again and again; a bar
is closed when a later bucket appears or the venue clock has passed its end. Each bucket is
delivered closed exactly once (never again as forming), so a consumer can act on closed bars
only. The SDK's websocket thread never reconnects (python-sdk #145): the handle reports the age
of the last push so the DataFeed's watchdog can close it and subscribe again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from hyperliquid.websocket_manager import WebsocketManager

from actors.venues import hl_replies
from actors.venues.base import Candle

log = logging.getLogger(__name__)


class CandleStream:
    """One websocket, one candle subscription; ``close`` is idempotent."""

    def __init__(
        self,
        base_url: str,
        symbol: str,
        timeframe: str,
        interval_ms: int,
        on_candle: Callable[[Candle], None],
        now_ms: Callable[[], int],
    ) -> None:
        self.symbol, self.timeframe = symbol, timeframe
        self._interval = interval_ms
        self._on_candle = on_candle
        self._now_ms = now_ms
        self._lock = threading.Lock()
        self._last: dict[str, Any] | None = None  # latest push of the newest bucket
        self._closed_upto = -1  # open time of the newest bucket delivered as closed
        self.last_message_monotonic = time.monotonic()
        self._ws = WebsocketManager(base_url)
        self._ws.daemon = True  # never keep the process alive
        self._ws.ping_sender.daemon = True
        self._ws.start()
        self._ws.subscribe({"type": "candle", "coin": symbol, "interval": timeframe}, self._push)
        self._stopped = False

    def age_s(self) -> float:
        """Seconds since the last push (the watchdog's input)."""
        return time.monotonic() - self.last_message_monotonic

    def is_alive(self) -> bool:
        return not self._stopped and self._ws.is_alive()

    def close(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            self._ws.stop()
        except Exception:  # the socket may already be gone; closing must not fail
            log.debug("candle stream %s %s: close raised", self.symbol, self.timeframe)

    def _push(self, msg: dict[str, Any]) -> None:
        self.last_message_monotonic = time.monotonic()
        try:
            data = msg["data"]
            t = int(data["t"])
        except (KeyError, TypeError, ValueError):
            log.warning("candle stream %s: malformed push dropped", self.symbol)
            return
        out: list[Candle] = []
        with self._lock:
            last = self._last
            if last is not None and int(last["t"]) < t and int(last["t"]) > self._closed_upto:
                out.append(self._candle(last, closed=True))  # a later bucket closes this one
                self._closed_upto = int(last["t"])
            if t <= self._closed_upto:
                pass  # a late push of a bucket already delivered closed
            elif t + self._interval <= self._now_ms():
                out.append(self._candle(data, closed=True))
                self._closed_upto = t
            else:
                out.append(self._candle(data, closed=False))
            if last is None or t >= int(last["t"]):
                self._last = data
        for c in out:
            if c is not None:
                self._on_candle(c)

    def _candle(self, data: dict[str, Any], closed: bool) -> Candle:
        return hl_replies.candle(data, self.symbol, self.timeframe, closed)
