"""A venue wrapper that remembers when the venue failed (for the ``exchange_failures`` breaker).

Why a wrapper and not counters at each call site: every venue call of the Executor (orders,
look-ups, fills, positions, reconciliation) can meet a 5xx, a 429 or a timeout; counting at the
one place they all pass through cannot miss one. Only :class:`VenueUnavailable` counts — an
outcome the venue could not tell us — never a definite rejection of an order.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from actors.venues.base import VenueUnavailable


class FailureCountingVenue:
    """Delegates every attribute to ``venue``; a call raising VenueUnavailable is recorded
    (wall ms) before the error propagates unchanged."""

    def __init__(self, venue: Any, keep: int = 256,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self._venue = venue
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: deque[int] = deque(maxlen=keep)

    def failures(self) -> tuple[int, ...]:
        """Wall ms of the recent failures, oldest first."""
        with self._lock:
            return tuple(self._failures)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._venue, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attr(*args, **kwargs)
            except VenueUnavailable:
                with self._lock:
                    self._failures.append(int(self._clock() * 1000))
                raise

        return call
