"""Fault switches the server consults on every request (set from tests or config).

Why counters rather than flags for most faults: a test usually wants "the next /exchange call
gets a 500", then normal service, so each injection arms a number of occurrences.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

KINDS = (
    "latency",
    "http_5xx",
    "timeout_after_accept",
    "rate_limit",
    "ws_drop",
    "ws_silent",
    "ws_garbage",
    "partial_fill",
    "reject",
    "batch_error",
    "stale_book",
)


class Faults:
    def __init__(self, rate_limit_per_min: int | None = None) -> None:
        self._lock = threading.Lock()
        self.latency_ms = 0.0
        self.http_5xx: dict[str, int] = {}
        self.timeout_after_accept = 0
        self.hang_seconds = 5.0
        self.rate_limit_per_min = rate_limit_per_min
        self.ws_silent = False
        self.ws_garbled = False  # every candle push garbled (the socket stays up)
        self.stale_coins: set[str] = set()
        self._weights: deque[tuple[float, int]] = deque()
        self.on_ws_drop: Callable[[], None] | None = None
        self.on_ws_garbage: Callable[[list[str]], None] | None = None
        self.on_venue: Callable[[str, dict[str, Any]], None] | None = None

    def inject(self, kind: str, **params: Any) -> None:
        """Arm a fault. kinds: latency(ms), http_5xx(count, path), timeout_after_accept(count,
        hang_seconds), rate_limit(weight_per_min), ws_drop, ws_silent(on), ws_garbage(frames: raw
        text frames sent once to every socket; on: garble every candle push), partial_fill(fraction),
        reject(message, count), batch_error(message, count), stale_book(coin or coins): market-data
        pushes freeze (allMids, l2Book, bbo, trades, candle) while the socket stays up."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {', '.join(KINDS)}")
        with self._lock:
            if kind == "latency":
                self.latency_ms = float(params.get("ms", 100))
            elif kind == "http_5xx":
                path = params.get("path", "/exchange")
                self.http_5xx[path] = self.http_5xx.get(path, 0) + int(params.get("count", 1))
            elif kind == "timeout_after_accept":
                self.timeout_after_accept += int(params.get("count", 1))
                self.hang_seconds = float(params.get("hang_seconds", self.hang_seconds))
            elif kind == "rate_limit":
                self.rate_limit_per_min = int(params.get("weight_per_min", 1200))
                self._weights.clear()
            elif kind == "ws_silent":
                self.ws_silent = bool(params.get("on", True))
            elif kind == "ws_garbage" and "on" in params:
                self.ws_garbled = bool(params["on"])
            elif kind == "stale_book":
                coins = params.get("coins", [params.get("coin", "BTC")])
                self.stale_coins |= {str(c) for c in coins}
        if kind == "ws_drop" and self.on_ws_drop is not None:
            self.on_ws_drop()
        if kind == "ws_garbage" and params.get("frames") and self.on_ws_garbage is not None:
            self.on_ws_garbage([str(f) for f in params["frames"]])
        if kind in ("partial_fill", "reject", "batch_error") and self.on_venue is not None:
            self.on_venue(kind, params)

    def clear(self) -> None:
        with self._lock:
            self.latency_ms = 0.0
            self.http_5xx.clear()
            self.timeout_after_accept = 0
            self.ws_silent = False
            self.ws_garbled = False
            self.stale_coins.clear()
            self._weights.clear()
        if self.on_venue is not None:
            self.on_venue("clear", {})

    def take_5xx(self, path: str) -> bool:
        with self._lock:
            n = self.http_5xx.get(path, 0)
            if n > 0:
                self.http_5xx[path] = n - 1
                return True
            return False

    def take_timeout(self) -> bool:
        with self._lock:
            if self.timeout_after_accept > 0:
                self.timeout_after_accept -= 1
                return True
            return False

    def charge(self, weight: int, now: float | None = None, force: bool = False) -> bool:
        """Account `weight` against the per-minute IP budget; False = over the limit (429).
        `force` books weight found after the reply (extra candles/fills) without refusing."""
        with self._lock:
            if self.rate_limit_per_min is None:
                return True
            t = time.monotonic() if now is None else now
            while self._weights and self._weights[0][0] <= t - 60:
                self._weights.popleft()
            used = sum(w for _, w in self._weights)
            if used + weight > self.rate_limit_per_min and not force:
                return False
            self._weights.append((t, weight))
            return True
