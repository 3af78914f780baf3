"""Simulator clock: real time, accelerated replay or manual steps from tests.

Why: the venue's notion of "now" (candle buckets, funding hours, trigger checks, order
timestamps) must be controllable so tests are deterministic and replays can run faster than life.
Listeners are told when manual time moves so the engine processes everything up to the new time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MODES = ("real", "accelerated", "manual")


class Clock:
    """Milliseconds since the epoch in the simulated world."""

    def __init__(self, mode: str = "manual", start_ms: int = 0, speed: float = 1.0) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown clock mode {mode!r}; expected one of {', '.join(MODES)}")
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self.mode = mode
        self.speed = 1.0 if mode == "real" else float(speed)
        self._lock = threading.Lock()
        self._anchor_sim = int(start_ms)
        self._anchor_wall = time.monotonic()
        self._listeners: list[Callable[[int], None]] = []

    def now_ms(self) -> int:
        with self._lock:
            if self.mode == "manual":
                return self._anchor_sim
            elapsed = time.monotonic() - self._anchor_wall
            return self._anchor_sim + int(elapsed * 1000 * self.speed)

    def set_time(self, ms: int) -> None:
        """Jump to an absolute time (never backwards: the venue's time is monotonic)."""
        with self._lock:
            current = self._anchor_sim
            if self.mode != "manual":
                current += int((time.monotonic() - self._anchor_wall) * 1000 * self.speed)
            if ms < current:
                raise ValueError(f"clock cannot go backwards ({ms} < {current})")
            self._anchor_sim = int(ms)
            self._anchor_wall = time.monotonic()
        self._notify()

    def advance(self, seconds: float = 0.0, ms: int | None = None) -> int:
        """Move manual time forward and let listeners catch up; returns the new time."""
        if self.mode != "manual":
            raise RuntimeError("advance() needs clock mode 'manual'")
        delta = int(ms) if ms is not None else int(round(seconds * 1000))
        if delta < 0:
            raise ValueError("advance() cannot go backwards")
        with self._lock:
            self._anchor_sim += delta
            now = self._anchor_sim
        self._notify()
        return now

    def tick(self) -> int:
        """Tell listeners the current time (the server calls this for real/accelerated modes)."""
        self._notify()
        return self.now_ms()

    def add_listener(self, fn: Callable[[int], None]) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[int], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _notify(self) -> None:
        now = self.now_ms()
        for fn in list(self._listeners):
            fn(now)
