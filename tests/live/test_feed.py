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

    def on_bar(self, bar: object) -> None:
        self.bars.append((bar.time_ms, bar.backfilled))  # type: ignore[attr-defined]

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
