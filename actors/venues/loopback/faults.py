"""Fault switches for the loopback servers, armed by tests (as for the Hyperliquid simulator).

Kinds: ``http_5xx(count, path)`` (path ``/exchange`` = requests that change the account,
``/info`` = reads, ``*`` = any), ``timeout_after_accept(count, hang_seconds)`` (the request is
applied, then the reply is held back), ``rate_limit(weight_per_min)`` (0 = every request gets the
venue's 429), ``malformed_reply(count, body)`` (HTTP 200 with ``body``), ``maintenance(count)``
(the venue's maintenance reply), ``reject(message, count)`` (the next orders are refused with the
venue's margin error carrying ``message``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

KINDS = ("http_5xx", "timeout_after_accept", "rate_limit", "malformed_reply", "maintenance",
         "reject")  # fmt: skip


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.http_5xx: dict[str, int] = {}
        self.timeouts = 0
        self.hang_seconds = 5.0
        self.per_min: int | None = None
        self._hits: deque[float] = deque()
        self.malformed: list[bytes] = []
        self.maintenance = 0

    def inject(self, kind: str, **params: Any) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {', '.join(KINDS)}")
        with self._lock:
            if kind == "http_5xx":
                path = str(params.get("path", "/exchange"))
                self.http_5xx[path] = self.http_5xx.get(path, 0) + int(params.get("count", 1))
            elif kind == "timeout_after_accept":
                self.timeouts += int(params.get("count", 1))
                self.hang_seconds = float(params.get("hang_seconds", self.hang_seconds))
            elif kind == "rate_limit":
                self.per_min = int(params.get("weight_per_min", 1200))
                self._hits.clear()
            elif kind == "malformed_reply":
                body = params.get("body", b"<html>")
                self.malformed += [bytes(body)] * int(params.get("count", 1))
            elif kind == "maintenance":
                self.maintenance += int(params.get("count", 1))

    def take_5xx(self, write: bool) -> bool:
        with self._lock:
            for path in ("/exchange" if write else "/info", "*"):
                if self.http_5xx.get(path, 0) > 0:
                    self.http_5xx[path] -= 1
                    return True
            return False

    def take_maintenance(self) -> bool:
        with self._lock:
            if self.maintenance > 0:
                self.maintenance -= 1
                return True
            return False

    def take_timeout(self, write: bool) -> bool:
        with self._lock:
            if write and self.timeouts > 0:
                self.timeouts -= 1
                return True
            return False

    def take_malformed(self) -> bytes | None:
        with self._lock:
            return self.malformed.pop(0) if self.malformed else None

    def over_limit(self) -> bool:
        with self._lock:
            if self.per_min is None:
                return False
            now = time.monotonic()
            while self._hits and self._hits[0] <= now - 60:
                self._hits.popleft()
            if len(self._hits) >= self.per_min:
                return True
            self._hits.append(now)
            return False
