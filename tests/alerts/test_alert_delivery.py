"""Alert delivery against a fake Bot API on 127.0.0.1: budget, digests, CRITICAL never lost,
429 ``retry_after``, Telegram down and back, a restart with a full outbox, no secrets out."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.alerts.dispatcher import AlertDispatcher, AlertSettings
from actors.alerts.policy import HOUR_MS, Budget
from actors.alerts.telegram import TelegramClient, TelegramRejected
from tests.alerts.fake_bot_api import FakeBotAPI

TOKEN = "123456789:AAExampleExampleExampleExample_-12"
KEY = "0x" + "ab" * 32


class Clock:
    def __init__(self) -> None:
        self.ms = 1_700_000_000_000

    def __call__(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    server = FakeBotAPI(TOKEN)
    yield server
    server.stop()


def make(path: Path, api: FakeBotAPI, clock: Clock, **settings: object) -> AlertDispatcher:
    client = TelegramClient(TOKEN, "-100123", base_url=api.base_url, timeout_s=5)
    return AlertDispatcher(
        path,
        client,
        AlertSettings(**settings),  # type: ignore[arg-type]
        clock=clock,
        secrets=(TOKEN,),
    )


def drain(d: AlertDispatcher, clock: Clock, hours: float = 3.0) -> None:
    """Pump until nothing is waiting, jumping the fake clock to each due time."""
    end = clock.ms + int(hours * HOUR_MS)
    while clock.ms <= end:
        due = d.pump()
        if due is None:
            return
        clock.ms = max(clock.ms, due)
    raise AssertionError("outbox did not drain")


def test_burst_of_100_becomes_one_digest_and_critical_still_goes_first(
    tmp_path: Path, api: FakeBotAPI
) -> None:
    clock = Clock()
    d = make(tmp_path / "outbox.sqlite", api, clock)
    for i in range(100):
        d.submit("INFO", "trade_opened", f"opened #{i}")
    d.pump()
    assert len(api.texts()) == 1 and api.texts()[0].startswith("Digest of 100 alerts")
    assert "opened #0" in api.texts()[0] and "opened #99" in api.texts()[0]
    clock.advance(2)
    d.submit("CRITICAL", "breaker_tripped", "drawdown breaker tripped")
    d.pump()
    assert api.texts()[-1] == "CRITICAL breaker_tripped: drawdown breaker tripped"
    assert d.outbox.counts() == {"coalesced": 100, "sent": 1}


def test_hourly_budget_holds_and_no_critical_is_lost(tmp_path: Path, api: FakeBotAPI) -> None:
    clock = Clock()
    d = make(tmp_path / "outbox.sqlite", api, clock, budget=Budget(per_hour=10, critical_reserve=2))
    for i in range(25):
        d.submit("CRITICAL", "error", f"critical #{i}")
        d.submit("WARNING", "reconciliation_diff", f"diff #{i}")
    sent_at: list[int] = []
    end = clock.ms + 4 * HOUR_MS
    while clock.ms < end:
        before = len(api.texts())
        due = d.pump()
        sent_at += [clock.ms] * (len(api.texts()) - before)
        if due is None:
            break
        clock.ms = max(clock.ms, due)
    texts = api.texts()
    criticals = [t for t in texts if t.startswith("CRITICAL")]
    assert criticals == [f"CRITICAL error: critical #{i}" for i in range(25)]  # all, in order
    for t in sent_at:  # never more than 10 in any sliding hour, never 2 within a second
        assert sum(1 for u in sent_at if t <= u < t + HOUR_MS) <= 10
    assert all(b - a >= 1000 for a, b in zip(sent_at, sent_at[1:], strict=False))
    assert d.outbox.counts().get("pending", 0) == 0
    warnings = "\n".join(t for t in texts if not t.startswith("CRITICAL"))
    assert all(f"diff #{i}" in warnings for i in range(25))  # coalesced, not dropped


def test_retry_after_is_honoured(tmp_path: Path, api: FakeBotAPI) -> None:
    clock = Clock()
    d = make(tmp_path / "outbox.sqlite", api, clock)
    api.fail_next(429, retry_after=30)
    d.submit("WARNING", "stale_data", "BTC feed silent")
    due = d.pump()
    assert due == clock.ms + 30_000 and api.texts() == []
    clock.advance(29)
    assert d.pump() == due and api.requests == 1  # no request before retry_after elapsed
    clock.advance(1)
    assert d.pump() is None and api.texts() == ["WARNING stale_data: BTC feed silent"]


def test_telegram_down_and_back_loses_nothing(tmp_path: Path, api: FakeBotAPI) -> None:
    clock = Clock()
    d = make(tmp_path / "outbox.sqlite", api, clock)
    api.stop()
    d.submit("CRITICAL", "kill_switch", "kill switch: flatten")
    d.submit("INFO", "trade_closed", "BTC closed +12.5 USDC")
    due = d.pump()
    assert due is not None and d.outbox.counts() == {"pending": 2}
    api.start()  # same port
    api.fail_next(500)
    clock.ms = due
    due = d.pump()
    assert due is not None and api.texts() == []
    drain(d, clock)
    assert api.texts() == [
        "CRITICAL kill_switch: kill switch: flatten",
        "INFO trade_closed: BTC closed +12.5 USDC",
    ]


def test_restart_with_a_full_outbox_delivers_everything(tmp_path: Path, api: FakeBotAPI) -> None:
    clock = Clock()
    path = tmp_path / "outbox.sqlite"
    first = make(path, api, clock)
    for i in range(20):
        first.submit("INFO", "signal", f"signal #{i}")
    first.submit("CRITICAL", "error", "venue down")
    first.outbox.close()  # the Alerter dies before pumping anything
    second = make(path, api, clock)
    drain(second, clock)
    texts = api.texts()
    assert texts[0] == "CRITICAL error: venue down"
    assert texts[1].startswith("Digest of 20 alerts") and "signal #19" in texts[1]
    assert second.outbox.counts() == {"sent": 1, "coalesced": 20}


def test_no_secret_reaches_telegram_or_the_log(
    tmp_path: Path, api: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    d = make(tmp_path / "outbox.sqlite", api, clock)
    caplog.set_level(logging.DEBUG)
    d.submit("CRITICAL", "error", f"exchange said: bad signature for key {KEY} via bot{TOKEN}")
    api.stop()
    d.pump()  # a connection error must not echo the URL (it holds the token)
    api.start()
    drain(d, clock)
    assert api.texts() and all(TOKEN not in t and KEY not in t for t in api.texts())
    assert TOKEN not in caplog.text and KEY not in caplog.text
    assert TOKEN not in repr(d.client) and TOKEN not in (
        tmp_path / "outbox.sqlite"
    ).read_bytes().decode("latin-1")


def test_levels_and_switches(tmp_path: Path, api: FakeBotAPI) -> None:
    clock = Clock()
    d = make(
        tmp_path / "outbox.sqlite",
        api,
        clock,
        min_level="WARNING",
        disabled_kinds=frozenset({"reconciliation_diff"}),
    )
    d.submit("INFO", "trade_opened", "not wanted")
    d.submit("WARNING", "reconciliation_diff", "switched off")
    d.submit("CRITICAL", "reconciliation_diff", "critical always goes")
    d.submit("WARNING", "stale_data", "wanted")
    drain(d, clock)
    assert api.texts() == [
        "CRITICAL reconciliation_diff: critical always goes",
        "WARNING stale_data: wanted",
    ]
    assert d.outbox.counts()["log_only"] == 2


def test_bad_token_is_refused_and_alerts_wait(tmp_path: Path, api: FakeBotAPI) -> None:
    clock = Clock()
    client = TelegramClient("987654321:WrongWrongWrongWrongWrong", "-1", base_url=api.base_url)
    d = AlertDispatcher(tmp_path / "o.sqlite", client, clock=clock)
    d.submit("CRITICAL", "error", "x")
    due = d.pump()
    assert due is not None and due > clock.ms and d.outbox.counts() == {"pending": 1}
    with pytest.raises(TelegramRejected, match="401"):
        client.send("direct")
    with pytest.raises(ValueError, match="bot token"):
        TelegramClient("not-a-token", "-1")


def test_without_telegram_alerts_go_to_the_log_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    d = AlertDispatcher(tmp_path / "o.sqlite", None)
    caplog.set_level(logging.INFO, logger="fractal.alerts")
    d.submit("WARNING", "stale_data", "ETH feed silent")
    assert d.pump() is None and "ETH feed silent" in caplog.text
    assert d.outbox.counts() == {"log_only": 1}


def test_run_loop_delivers_on_submit_and_stops(tmp_path: Path, api: FakeBotAPI) -> None:
    d = make(tmp_path / "o.sqlite", api, Clock())
    d.clock = lambda: 1_800_000_000_000  # a fixed time: budget allows the first message
    stop = threading.Event()
    worker = threading.Thread(target=d.run, args=(stop,))
    worker.start()
    d.submit("CRITICAL", "error", "wake up")
    assert api.received.wait(timeout=30)
    stop.set()
    d.stop()
    worker.join(timeout=10)
    assert not worker.is_alive() and api.texts() == ["CRITICAL error: wake up"]
