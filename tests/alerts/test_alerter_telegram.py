"""The live system's Alerter delivers through Telegram (fake Bot API on 127.0.0.1): a CRITICAL
event arrives, routine INFO stays in the log, event kinds map to operator alerts, no secret
leaks; without a token and chat id the Alerter keeps logging only."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from actors.alerter import Alerter, LogSink
from actors.alerts.sink import OUTBOX_RELPATH, TelegramAlertConfig, TelegramSink, alert_kind
from actors.messages import Event, Level
from cluster.cli_live import telegram_config
from cluster.settings import load_settings
from tests.alerts.fake_bot_api import FakeBotAPI

TOKEN = "123456789:AAExampleExampleExampleExample_-12"
KEY = "0x" + "cd" * 32


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    server = FakeBotAPI(TOKEN)
    yield server
    server.stop()


def _event(seq: int, level: Level, kind: str, text: str) -> Event:
    return Event(source="executor", seq=seq, level=level, kind=kind, text=text)


def test_alerter_delivers_a_critical_event_without_secrets(
    api: FakeBotAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = TelegramAlertConfig(token=SecretStr(TOKEN), chat_id="-100123", data_dir=tmp_path,
                              base_url=api.base_url)  # fmt: skip
    caplog.set_level(logging.DEBUG)
    alerter = Alerter(telegram=cfg)
    try:
        assert [type(s) for s in alerter.sinks] == [TelegramSink]
        alerter.send(_event(1, Level.INFO, "order_resting", "BTC stop resting"))  # log only
        assert alerter.send(_event(2, Level.CRITICAL, "unprotected",
                                   f"BTC unprotected; venue said {TOKEN} key {KEY}"))  # fmt: skip
        assert api.received.wait(timeout=30)
    finally:
        alerter.close()
    texts = api.texts()
    assert len(texts) == 1 and texts[0].startswith("CRITICAL unprotected")
    assert "BTC unprotected" in texts[0]
    outbox = (tmp_path / OUTBOX_RELPATH).read_bytes()
    for secret in (TOKEN, KEY, KEY[2:]):
        assert secret not in texts[0] and secret not in caplog.text
        assert secret.encode() not in outbox
    assert TOKEN not in repr(cfg)


@pytest.mark.parametrize(
    ("kind", "level", "text", "want"),
    [
        ("fill", Level.INFO, "fill buy 0.1 BTC @ 100 (entry), fee 0.10", (Level.INFO, "trade_opened")),
        ("fill", Level.INFO, "fill sell 0.1 BTC @ 90 (stop), realised P&L -10.00",
         (Level.WARNING, "stop_loss_hit")),
        ("position_closed", Level.INFO, "BTC position closed; P&L +5", (Level.INFO, "trade_closed")),
        ("breaker_tripped", Level.WARNING, "daily loss", (Level.WARNING, "breaker_tripped")),
        ("breaker_resumed", Level.INFO, "resumed", (Level.INFO, "breaker_resumed")),
        ("kill_switch", Level.WARNING, "kill", (Level.CRITICAL, "kill_switch")),
        ("reconciliation_diff", Level.WARNING, "diff", (Level.WARNING, "reconciliation_diff")),
        ("fill", Level.INFO, "fill sell 0.1 BTC @ 110 (target), realised P&L +10.00",
         (Level.INFO, "fill")),
    ],
)  # fmt: skip
def test_event_kinds_map_to_operator_alerts(
    kind: str, level: Level, text: str, want: tuple[Level, str]
) -> None:
    assert alert_kind(_event(1, level, kind, text)) == want


def test_settings_wire_telegram_only_when_token_and_chat_are_set(
    _isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert telegram_config(load_settings(), _isolated_data_dir) is None
    assert [type(s) for s in Alerter().sinks] == [LogSink]  # today's behaviour
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    assert telegram_config(load_settings(), _isolated_data_dir) is None  # no chat id yet
    monkeypatch.setenv("TELEGRAM_CHAT_ID", "-100123")
    monkeypatch.setenv("ALERT_MIN_LEVEL", "warning")
    monkeypatch.setenv("ALERTS_PER_HOUR", "20")
    monkeypatch.setenv("ALERT_DISABLED_KINDS", "trade_opened, breaker_resumed")
    cfg = telegram_config(load_settings(), _isolated_data_dir)
    assert cfg is not None and cfg.chat_id == "-100123" and cfg.min_level == "WARNING"
    assert cfg.per_hour == 20 and cfg.disabled_kinds == {"trade_opened", "breaker_resumed"}
    assert cfg.token.get_secret_value() == TOKEN and TOKEN not in repr(cfg)
