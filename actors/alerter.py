"""Alerter actor: every event with a level reaches the operator (DESIGN.md "Live message flow").

Why sinks: today events are logged and kept in a bounded in-memory list the CLI reads to print
readable lines; a Telegram sink (later issue) is one more :class:`AlertSink`. A sink that fails
never stops the others, and the failure itself is logged. Events are deduplicated on
``(source, seq)`` because Ray may deliver a message twice.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Protocol

from actors.messages import Event, Level

if TYPE_CHECKING:
    from actors.alerts.sink import TelegramAlertConfig

log = logging.getLogger("fractal.alerts")
LOG_LEVELS = {Level.INFO: logging.INFO, Level.WARNING: logging.WARNING,
              Level.CRITICAL: logging.CRITICAL}  # fmt: skip


class AlertSink(Protocol):
    """Where events go (log, Telegram, ...). ``deliver`` may raise; the Alerter isolates it."""

    def deliver(self, event: Event) -> None: ...


class LogSink:
    """Python logging, one line per event, at the event's level."""

    def deliver(self, event: Event) -> None:
        log.log(LOG_LEVELS[event.level], "[%s] %s: %s", event.source, event.kind, event.text)


class Alerter:
    """Receives events from every actor; keeps the last ``keep`` for readers (the CLI)."""

    def __init__(
        self,
        sinks: list[AlertSink] | None = None,
        keep: int = 10_000,
        telegram: TelegramAlertConfig | None = None,
    ) -> None:
        """``telegram`` (token and chat id resolved by ``cluster``) adds Telegram delivery; the
        dispatcher logs every event itself, so it replaces the log sink (no double lines)."""
        if sinks is None:
            sinks = [LogSink()] if telegram is None else [_telegram_sink(telegram)]
        self.sinks: list[AlertSink] = list(sinks)
        self._events: deque[tuple[int, Event]] = deque(maxlen=keep)
        self._seen: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._keep = keep
        self._n = 0

    def send(self, event: Event) -> bool:
        """Deliver ``event`` once; False for a duplicate."""
        if event.key in self._seen:
            return False
        self._seen[event.key] = None
        if len(self._seen) > 4 * self._keep:
            self._seen.popitem(last=False)
        self._n += 1
        self._events.append((self._n, event))
        for sink in self.sinks:
            try:
                sink.deliver(event)
            except Exception as exc:  # one broken sink must not silence the others
                log.error("alert sink %s failed on %s: %s", type(sink).__name__, event.kind, exc)
        return True

    def since(self, index: int, limit: int = 1000) -> tuple[list[Event], int]:
        """Events after position ``index`` (0 = from the start) and the new position."""
        out = [e for i, e in self._events if i > index][:limit]
        return out, index + len(out) if out else max(index, 0)

    def close(self) -> None:
        """Stop sinks that run threads (queued alerts stay in their outbox)."""
        for sink in self.sinks:
            closer = getattr(sink, "close", None)
            if callable(closer):
                closer()

    def ping(self) -> int:
        """Liveness probe: this actor's wall clock, ms (queued behind its other messages, so a
        stuck actor stops answering)."""
        return time.time_ns() // 1_000_000

    def count(self, kind: str | None = None) -> int:
        return sum(1 for _, e in self._events if kind is None or e.kind == kind)


def _telegram_sink(config: TelegramAlertConfig) -> AlertSink:
    from actors.alerts.sink import TelegramSink

    return TelegramSink(config)
