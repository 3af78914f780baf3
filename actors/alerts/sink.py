"""The Alerter's Telegram sink: live-system events -> operator alerts through the dispatcher.

Why a mapping: the actors emit fine-grained events (every order resting, every fill); the phone
gets what an operator acts on — trade opened, trade closed with P&L, stop-loss hit, breaker
tripped/resumed, kill switch, reconciliation differences, critical errors, the daily summary.
Routine INFO events stay in the log. The dispatcher runs in a daemon thread owned by the sink;
its outbox is SQLite, so an alert queued before a crash is delivered after the restart.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from actors.alerts.dispatcher import AlertDispatcher, AlertSettings
from actors.alerts.policy import Budget
from actors.alerts.telegram import TelegramClient
from actors.messages import Event, Level

log = logging.getLogger("fractal.alerts")
OUTBOX_RELPATH = Path("state") / "alerts.sqlite"
# INFO events worth a message; anything WARNING or CRITICAL always goes to the dispatcher
NOTABLE_INFO = frozenset({"trade_opened", "trade_closed", "stop_loss_hit", "breaker_resumed",
                          "daily_report", "kill_switch", "reconciliation_diff"})  # fmt: skip


@dataclass(frozen=True)
class TelegramAlertConfig:
    """Resolved by ``cluster`` from the settings (actors read no environment)."""

    token: SecretStr
    chat_id: str
    data_dir: Path
    min_level: str = "INFO"
    per_hour: int = 10
    disabled_kinds: frozenset[str] = field(default_factory=frozenset)
    base_url: str = "https://api.telegram.org"


def alert_kind(event: Event) -> tuple[Level, str]:
    """The operator-facing (level, kind) of a live-system event."""
    kind, text = event.kind.lower(), event.text
    if kind == "fill":
        if "(entry)" in text:
            return event.level, "trade_opened"
        if "(stop)" in text or "(adopt_stop)" in text:
            return max(event.level, Level.WARNING, key=_rank), "stop_loss_hit"
    if kind == "position_closed":
        return event.level, "trade_closed"
    if "kill" in kind:
        return Level.CRITICAL, "kill_switch"
    if "breaker" in kind:
        resumed = "resum" in kind or "reset" in kind
        return event.level, "breaker_resumed" if resumed else "breaker_tripped"
    return event.level, kind


def _rank(level: Level) -> int:
    return {Level.INFO: 0, Level.WARNING: 1, Level.CRITICAL: 2}[level]


class TelegramSink:
    """An ``AlertSink`` that submits to an :class:`AlertDispatcher` delivering in a thread."""

    def __init__(self, config: TelegramAlertConfig) -> None:
        token = config.token.get_secret_value()
        client = TelegramClient(token, config.chat_id, base_url=config.base_url)
        settings = AlertSettings(
            min_level=config.min_level,
            disabled_kinds=config.disabled_kinds,
            budget=Budget(per_hour=config.per_hour),
        )
        self.dispatcher = AlertDispatcher(
            config.data_dir / OUTBOX_RELPATH, client, settings, secrets=(token,)
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="telegram-alerts", daemon=True
        )  # fmt: skip
        self._thread.start()

    def _run(self) -> None:
        try:
            self.dispatcher.run(self._stop)
        except Exception as exc:  # never let delivery kill silently: say so in the log
            log.critical("Telegram alert delivery stopped: %s", type(exc).__name__)

    def deliver(self, event: Event) -> None:
        level, kind = alert_kind(event)
        text = f"[{event.source}] {event.text}"
        if level == Level.INFO and kind not in NOTABLE_INFO:
            log.info("[%s] %s: %s", event.source, event.kind, event.text)
            return
        self.dispatcher.submit(level.value, kind, text)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the delivery thread (what is still queued stays in the outbox)."""
        self._stop.set()
        self.dispatcher.stop()
        self._thread.join(timeout_s)
        self.dispatcher.close()
