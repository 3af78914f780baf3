"""DataFeed on the simulator: closed bars in order, each once, through a silent websocket
(watchdog: re-subscribe and back-fill) and a dropped one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.live.helpers import paper, wait_for

pytestmark = pytest.mark.usefixtures("ray_session")
TF = 900_000


class Collector:
    def __init__(self) -> None:
        self.bars: list[tuple[int, bool]] = []

    def on_bars(self, bars: list[object]) -> None:
        self.bars += [(b.time_ms, b.backfilled) for b in bars]  # type: ignore[attr-defined]

    def get(self) -> list[tuple[int, bool]]:
        return list(self.bars)


def test_bars_in_order_once_through_silence_and_drops(tmp_path: Path) -> None:
    import ray

    from actors.alerter import Alerter
    from actors.feed import DataFeed

    with paper(tmp_path, speed=3600.0) as px:
        sink = ray.remote(Collector).options(num_cpus=0).remote()
        alerter = ray.remote(Alerter).options(num_cpus=0).remote()
        feed = (
            ray.remote(DataFeed)
            .options(num_cpus=0, max_concurrency=4)
            .remote(px.spec, ["BTC"], "15m", 200, {"BTC": sink}, alerter, 1.5)
        )
        try:
            assert len(ray.get(feed.history_bars.remote("BTC", None, 2**62))) == 200  # warm-up
            wait_for(lambda: len(ray.get(sink.get.remote())) >= 8, 60, "live bars")
            h = ray.get(feed.health.remote())  # what the heartbeat carries to the dashboard
            assert h["streams"]["BTC"]["state"] == "connected" and h["streams"]["BTC"][
                "reconnects"] == 0 and h["streams"]["BTC"]["last_message_ms"] is not None  # fmt: skip
            assert h["last_bar_ms"]["BTC"] >= max(t for t, _ in ray.get(sink.get.remote()))
            px.simulator.faults.inject("ws_silent", on=True)
            wait_for(lambda: ray.get(alerter.count.remote("stream_silent")) >= 1, 30,
                     "the watchdog to notice the silent stream")  # fmt: skip
            h = ray.get(feed.health.remote())
            assert h["streams"]["BTC"]["reconnects"] >= 1
            assert h["streams"]["BTC"]["state"] in ("reconnecting", "silent"), h  # no push since
            n = len(ray.get(sink.get.remote()))
            wait_for(lambda: len(ray.get(sink.get.remote())) >= n + 8, 60, "bars while silent")
            px.simulator.faults.inject("ws_silent", on=False)
            px.simulator.faults.inject("ws_drop")
            n = len(ray.get(sink.get.remote()))
            wait_for(lambda: len(ray.get(sink.get.remote())) >= n + 8, 60, "bars after a drop")
            wait_for(lambda: ray.get(feed.health.remote())["streams"]["BTC"]["state"] == "connected",
                     30, "the stream to report connected again")  # fmt: skip
            bars = ray.get(sink.get.remote())
            times = [t for t, _ in bars]
            assert all(b - a == TF for a, b in zip(times, times[1:], strict=False)), times
            assert any(not backfilled for _, backfilled in bars)  # fresh bars are tradable
        finally:
            ray.get(feed.stop.remote(), timeout=30)
            for h in (feed, sink, alerter):
                ray.kill(h, no_restart=True)


class BatchCollector:
    """One actor standing in for a RunnerGroup: records each message's bars."""

    def __init__(self) -> None:
        self.batches: list[list[tuple[str, int]]] = []

    def on_bars(self, bars: list[object]) -> None:
        self.batches.append([(b.symbol, b.time_ms) for b in bars])  # type: ignore[attr-defined]

    def get(self) -> list[list[tuple[str, int]]]:
        return list(self.batches)


def test_a_bar_close_goes_to_a_shared_runner_actor_as_one_message(tmp_path: Path) -> None:
    """Two symbols hosted by one actor: each close reaches it once, with both symbols' bars (the
    feed reads their candles at once and sends one message per runner actor)."""
    import ray

    from actors.feed import DataFeed

    with paper(tmp_path, speed=3600.0, symbols=("BTC", "ETH")) as px:
        group = ray.remote(BatchCollector).options(num_cpus=0).remote()
        feed = (
            ray.remote(DataFeed)
            .options(num_cpus=0, max_concurrency=4)
            .remote(px.spec, ["BTC", "ETH"], "15m", 200, {"BTC": group, "ETH": group})
        )
        try:
            wait_for(lambda: len(ray.get(group.get.remote())) >= 6, 60, "six publications")
            batches = ray.get(group.get.remote())
            for batch in batches:
                by_symbol = {s: [t for s2, t in batch if s2 == s] for s in ("BTC", "ETH")}
                assert by_symbol["BTC"] == by_symbol["ETH"], batch  # the same closes, together
                assert by_symbol["BTC"] == sorted(set(by_symbol["BTC"])), batch
                assert [s for s, _ in batch] == sorted(s for s, _ in batch), batch  # BTC, ETH
            times = [t for batch in batches for s, t in batch if s == "BTC"]
            assert all(b - a == TF for a, b in zip(times, times[1:], strict=False)), times
        finally:
            ray.get(feed.stop.remote(), timeout=30)
            for h in (feed, group):
                ray.kill(h, no_restart=True)
