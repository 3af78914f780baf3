"""A websocket (or REST reply) that sends garbage: every bad frame or candle is a logged skip,
never a crash; nothing downstream sees a bad bar; the stream goes on; a socket that sends only
garbage counts as silent, so the watchdog reconnects and the missed bars are back-filled."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from actors.messages import Bar
from actors.venues import hl_replies
from actors.venues.hyperliquid import _good_candles
from tests.live.helpers import paper, wait_for

TF = 900_000


class Sink:
    """Stands in for a StrategyRunner handle (``runner.on_bars.remote(bars)``)."""

    def __init__(self) -> None:
        self.bars: list[Bar] = []
        self.on_bars = SimpleNamespace(remote=self.bars.extend)


def candle_row(t: Any, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"t": t, "T": t + TF - 1 if isinstance(t, int) else t, "s": "BTC", "i": "15m", "o": "100.0",
                           "h": "101.0", "l": "99.0", "c": "100.5", "v": "3.0", "n": 7}  # fmt: skip
    row.update(kw)
    return {k: v for k, v in row.items() if v is not ...}


def assert_clean(bars: list[Bar], now_ms: int) -> None:
    times = [b.time_ms for b in bars]
    assert all(b - a == TF for a, b in zip(times, times[1:], strict=False)), times  # once, in order
    for b in bars:
        assert b.time_ms + TF <= now_ms  # closed, never from the future
        assert all(math.isfinite(x) and 0 < x < 1e8 for x in (b.open, b.high, b.low, b.close))
        assert b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high


def test_garbage_frames_are_skipped_and_the_stream_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from actors.feed import DataFeed

    caplog.set_level(logging.WARNING)
    with paper(tmp_path, speed=3600.0) as px:
        sink = Sink()
        feed = DataFeed(px.spec, ["BTC"], "15m", 50, {"BTC": sink}, None, silence_s=30.0)
        try:
            wait_for(lambda: len(sink.bars) >= 4, 60, "live bars")
            first, now = sink.bars[0].time_ms, feed.venue.now_ms()
            frames = [
                "not json {",
                json.dumps({"channel": "nonsense", "data": 1}),  # wrong channel
                json.dumps({"channel": "candle", "data": "x"}),  # unroutable
                json.dumps({"channel": "candle", "data": candle_row(first, o=...)}),  # missing
                json.dumps({"channel": "candle", "data": candle_row(first, c="abc")}),
                json.dumps({"channel": "candle", "data": candle_row("soon")}),
                '{"channel": "candle", "data": '
                + json.dumps(candle_row(first))[:-1]
                + ', "h": Infinity}}',  # JSON's non-finite extension
                json.dumps({"channel": "candle", "data": candle_row(first, h="98.0")}),  # h < l
                json.dumps({"channel": "candle", "data": candle_row(first)}),  # duplicate, old
                json.dumps(
                    {
                        "channel": "candle",  # from the future, absurd prices
                        "data": candle_row(
                            now // TF * TF + 50 * TF, o="1e9", h="1e9", l="1e9", c="1e9"
                        ),
                    }
                ),  # fmt: skip
            ]
            px.simulator.faults.inject("ws_garbage", frames=frames)
            n = len(sink.bars)
            wait_for(lambda: len(sink.bars) >= n + 6, 60, "bars after the garbage")
            assert feed._subs["BTC"].is_alive() and feed._thread.is_alive()
            assert_clean(sink.bars, feed.venue.now_ms())
            assert caplog.text.count("malformed push dropped") >= 5
            assert "candle from the future" in caplog.text
        finally:
            feed.stop()


def test_a_socket_sending_only_garbage_is_reconnected_and_bars_back_filled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from actors.feed import DataFeed

    caplog.set_level(logging.WARNING)
    with paper(tmp_path, speed=3600.0) as px:
        sink = Sink()
        feed = DataFeed(px.spec, ["BTC"], "15m", 50, {"BTC": sink}, None, silence_s=1.5)
        try:
            wait_for(lambda: len(sink.bars) >= 4, 60, "live bars")
            px.simulator.faults.inject("ws_garbage", on=True)
            wait_for(lambda: "stream silent" in caplog.text, 30,
                     "the watchdog to treat a garbage-only socket as silent")  # fmt: skip
            n = len(sink.bars)
            wait_for(lambda: len(sink.bars) >= n + 6, 60, "bars while the socket sends garbage")
            px.simulator.faults.inject("ws_garbage", on=False)
            n = len(sink.bars)
            wait_for(lambda: len(sink.bars) >= n + 4, 60, "bars after the garbage stops")
            assert feed._subs["BTC"].is_alive()
            assert_clean(sink.bars, feed.venue.now_ms())
            assert "malformed push dropped" in caplog.text
        finally:
            feed.stop()


def test_garbled_rest_candles_are_skipped_one_by_one(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    t0 = 1_700_000_100_000 // TF * TF
    good = [candle_row(t0), candle_row(t0 + 2 * TF)]
    bad = [
        "x", None, candle_row(t0 + TF, o=...), candle_row(t0 + TF, c="abc"),
        candle_row(t0 + TF, h="inf"), candle_row(t0 + TF, l="nan"), candle_row(t0 + TF, h="98"),
        candle_row(t0 + TF, v="-1"), candle_row("later"), candle_row(True),
        candle_row(t0 + TF + 1),  # off the bucket grid
    ]  # fmt: skip
    got = _good_candles([good[0], *bad, good[1]], "BTC", "15m", TF)
    assert [c.time_ms for c in got] == [t0, t0 + 2 * TF]
    assert caplog.text.count("candle skipped") == len(bad)


@pytest.mark.parametrize(
    "fields",
    [{"high": math.inf}, {"low": math.nan}, {"high": 98.0}, {"close": 102.0}, {"volume": -1.0}],
)
def test_a_bad_bar_cannot_be_built(fields: dict[str, float]) -> None:
    ok = {"source": "f", "seq": 1, "venue": "paper", "symbol": "BTC", "timeframe": "15m",
          "time_ms": TF, "open": 100.0, "high": 101.0, "low": 99.0, "close": 100.5,
          "volume": 1.0}  # fmt: skip
    Bar(**ok)
    with pytest.raises(ValidationError):
        Bar(**{**ok, **fields})
    with pytest.raises(hl_replies.MalformedReply):
        hl_replies.candle(
            {"t": TF, **{k[0]: str(v) for k, v in {**ok, **fields}.items() if k in
                         ("open", "high", "low", "close", "volume")}}, "BTC", "15m", True)  # fmt: skip


def test_each_live_bar_close_is_announced_to_the_executor_once(tmp_path: Path) -> None:
    """After a close's first live bar goes out, the Executor hears of the close (it reads the
    account while the runners work); back-filled bars and repeats announce nothing."""
    from actors.feed import DataFeed

    with paper(tmp_path, speed=3600.0, symbols=("BTC", "ETH")) as px:
        sinks = {"BTC": Sink(), "ETH": Sink()}
        closes: list[int] = []
        executor = SimpleNamespace(bar_closed=SimpleNamespace(remote=closes.append))
        feed = DataFeed(px.spec, ["BTC", "ETH"], "15m", 50, sinks, None, silence_s=30.0,
                        executor=executor)  # fmt: skip
        try:
            wait_for(lambda: sum(not b.backfilled for b in sinks["BTC"].bars) >= 2, 60, "bars")
        finally:
            feed.stop()
    live = sorted({b.time_ms + TF for s in sinks.values() for b in s.bars if not b.backfilled})
    assert closes == sorted(set(closes))  # each close once, in order
    assert set(closes) <= set(live) and len(closes) >= 2
    assert set(live) - set(closes) <= {live[-1]}  # the newest may race the stop
