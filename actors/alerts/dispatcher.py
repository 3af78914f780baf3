"""Alert delivery: events in, Telegram messages out, within the budget, nothing lost.

The Alerter actor owns one :class:`AlertDispatcher`. ``submit`` logs the event and queues it in
the persisted outbox; ``pump`` delivers what the policy allows *now* and returns when to pump
again; ``run`` loops on a ``threading.Event`` (woken by ``submit`` or stop), so there is no
polling and no sleep-based synchronisation. With no Telegram configured, alerts go to the log
only. The clock is injected so tests drive hours of budget in microseconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from actors.alerts.outbox import Outbox
from actors.alerts.policy import HOUR_MS, LEVEL_RANK, TELEGRAM_MAX_CHARS, Budget, plan
from actors.alerts.telegram import (
    Delivered,
    RetryLater,
    TelegramClient,
    TelegramRejected,
    redact,
)

log = logging.getLogger("fractal.alerts")
PAUSE_KEY = "not_before_ms"
CONFIG_ERROR_BACKOFF_MS = 300_000
LOG_LEVELS = {"INFO": logging.INFO, "WARNING": logging.WARNING, "CRITICAL": logging.CRITICAL}


@dataclass(frozen=True)
class AlertSettings:
    """What reaches the phone: a minimum level, per-event switches and the hourly budget."""

    min_level: str = "INFO"
    disabled_kinds: frozenset[str] = field(default_factory=frozenset)
    budget: Budget = field(default_factory=Budget)

    def __post_init__(self) -> None:
        if self.min_level not in LEVEL_RANK:
            raise ValueError(
                f"alert level must be one of INFO, WARNING, CRITICAL: {self.min_level}"
            )

    def wants(self, level: str, kind: str) -> bool:
        """CRITICAL always goes out; other levels obey the minimum level and the switches."""
        if level == "CRITICAL":
            return True
        return LEVEL_RANK[level] >= LEVEL_RANK[self.min_level] and kind not in self.disabled_kinds


def wall_ms() -> int:
    return int(time.time() * 1000)


class AlertDispatcher:
    def __init__(
        self,
        outbox_path: Path,
        client: TelegramClient | None,
        settings: AlertSettings | None = None,
        clock: Callable[[], int] = wall_ms,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.outbox = Outbox(outbox_path)
        self.client = client
        self.settings = settings or AlertSettings()
        self.clock = clock
        self._secrets = secrets
        self._wake = threading.Event()
        self._lock = threading.Lock()

    def submit(self, level: str, kind: str, text: str) -> int:
        """Log the event and queue it for Telegram if configured and wanted; returns its row id."""
        if level not in LEVEL_RANK:
            raise ValueError(f"unknown alert level {level!r}")
        clean = redact(text, *self._secrets)[: TELEGRAM_MAX_CHARS - 20]
        log.log(LOG_LEVELS[level], "[%s] %s", kind, clean)
        deliver = self.client is not None and self.settings.wants(level, kind)
        with self._lock:
            row = self.outbox.add(level, kind, f"{level} {kind}: {clean}", self.clock(), deliver)
        self._wake.set()
        return row

    def pump(self) -> int | None:
        """Send every message the policy allows now; returns the epoch ms to pump again (None:
        nothing is waiting)."""
        if self.client is None:
            return None
        while True:
            with self._lock:
                now = self.clock()
                sent, critical = self.outbox.send_times(now - HOUR_MS)
                pause = int(self.outbox.get_meta(PAUSE_KEY) or 0)
                step = plan(self.outbox.pending(), sent, critical, now, self.settings.budget, pause)
            if step.send is None:
                return step.wake_ms
            try:
                result = self.client.send(step.send.text)
            except TelegramRejected as err:
                log.error("Telegram refused an alert, check the bot configuration: %s", err)
                self._pause(now + CONFIG_ERROR_BACKOFF_MS)
                return now + CONFIG_ERROR_BACKOFF_MS
            if isinstance(result, RetryLater):
                log.warning("Telegram delivery deferred %.0f s: %s", result.after_s, result.reason)
                until = now + int(result.after_s * 1000)
                self._pause(until)
                return until
            assert isinstance(result, Delivered)
            with self._lock:
                self.outbox.mark_sent(step.send.ids, now, step.send.critical, result.message_id)

    def _pause(self, until_ms: int) -> None:
        with self._lock:
            self.outbox.set_meta(PAUSE_KEY, str(until_ms))

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set: wait for the next due time or a new submit."""
        while not stop.is_set():
            due = self.pump()
            timeout = None if due is None else max(0.0, (due - self.clock()) / 1000)
            self._wake.wait(timeout if timeout is None else min(timeout, 3600.0))
            self._wake.clear()

    def stop(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self.outbox.close()
        if self.client is not None:
            self.client.close()
