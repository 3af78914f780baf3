"""What a live paper run relies on: every closed candle pushed in order even when one clock
step closes several bars, a replay that starts at the configured start_ms inside the shipped
data, and a clear error for a start outside it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from actors.venues.simulator import Simulator, SimulatorConfig, run_simulator
from tests.conftest import MARKET
from tests.sim.conformance.conftest import VenueUnderTest

MIN = 60_000


class Candles:
    """Collects candle frames from the SDK's websocket thread."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._cond = threading.Condition()

    def __call__(self, msg: dict[str, Any]) -> None:
        with self._cond:
            self.rows.append(msg["data"])
            self._cond.notify_all()

    def wait_for_t(self, t: int) -> None:
        with self._cond:
            ok = self._cond.wait_for(lambda: any(r["t"] >= t for r in self.rows), timeout=10)
        assert ok, f"no candle with t >= {t}; got {[r['t'] for r in self.rows]}"


@pytest.mark.parametrize("interval", ["1m", "5m"])
def test_one_clock_step_pushes_every_closed_candle_in_order(
    venue: VenueUnderTest, interval: str
) -> None:
    sim = venue.controls()
    step = 5 * MIN if interval == "1m" else 15 * MIN
    info = venue.info(ws=True)
    got = Candles()
    info.subscribe({"type": "candle", "coin": "ETH", "interval": interval}, got)
    snapshot_t = sim.venue.now - 1  # the snapshot is the bucket holding now - 1
    got.wait_for_t(0)
    start = sim.venue.now
    sim.clock.advance(ms=step)  # closes several bars at once
    now = sim.venue.now
    ms = 60_000 if interval == "1m" else 300_000
    got.wait_for_t((now - 1) // ms * ms)
    truth = {r["t"]: r for r in info.candles_snapshot("ETH", interval, start - ms, now)}
    seen = [r["t"] for r in got.rows]
    assert seen == sorted(seen)  # oldest first, never back in time
    buckets = [t for t in truth if t + ms <= now]  # the buckets closed by now
    assert buckets and set(buckets) <= set(seen), (buckets, seen)
    for t in buckets:  # the last push of each closed bucket is its final, complete candle
        last = [r for r in got.rows if r["t"] == t][-1]
        assert last == truth[t]
    assert snapshot_t // ms * ms <= seen[0]


def test_replay_starts_at_start_ms_and_runs_at_speed(tmp_path: Path) -> None:
    start = 1_753_200_000_000  # inside the shipped 1m data, not on an hour
    cfg = SimulatorConfig(
        symbols=["BTC"],
        clock="accelerated",
        speed=600,
        start_ms=start,
        tick_interval_s=0.02,
        state_dir=tmp_path,
        market_dir=MARKET,
    )
    with run_simulator(cfg) as sim:
        assert start <= sim.clock.now_ms() < start + 600_000  # well under a wall second in
        moved = threading.Event()
        sim.clock.add_listener(lambda now: moved.set() if now >= start + 5 * MIN else None)
        assert moved.wait(10), "accelerated clock did not reach start + 5 min"
        assert sim.market is not None
        with sim.lock:
            assert sim.venue.marks["BTC"] == sim.market.price("BTC", sim.venue.now)


@pytest.mark.parametrize("start", [0, 4_102_444_800_000])  # 1970 and 2100
def test_start_outside_the_shipped_data_is_named(tmp_path: Path, start: int) -> None:
    cfg = SimulatorConfig(symbols=["BTC"], start_ms=start, state_dir=tmp_path, market_dir=MARKET)
    with pytest.raises(
        ValueError, match=r"start_ms .* outside the shipped BTC data \(\d+ to \d+\)"
    ):
        Simulator(cfg)


def _px(x: float, sz_decimals: int) -> float:
    """The SDK's rounding (5 significant figures, 6 - szDecimals decimals)."""
    return round(float(f"{x:.5g}"), 6 - sz_decimals)


def test_stop_loss_rests_then_fires_on_the_replay(venue: VenueUnderTest) -> None:
    """The paper-run pattern: enter, rest a reduce-only stop (its own order, grouping na), let
    the replay clock move the price through it; the position closes at the best bid of the
    book re-centred on the trigger price."""
    from hyperliquid.utils.types import Cloid

    sim = venue.controls()
    w = venue.new_wallet()
    ex, info = venue.exchange(w), venue.info()
    assert ex.market_open("ETH", True, 0.1)["status"] == "ok"
    mark = float(info.all_mids()["ETH"])
    trigger = _px(mark * 0.999, 4)
    sl = {"trigger": {"triggerPx": trigger, "isMarket": True, "tpsl": "sl"}}
    cloid = Cloid.from_int(4242)
    reply = ex.order("ETH", False, 0.1, _px(trigger * 0.95, 4), sl, reduce_only=True, cloid=cloid)
    assert "resting" in reply["response"]["data"]["statuses"][0], reply
    (stop,) = info.frontend_open_orders(w.address)
    assert (stop["orderType"], stop["reduceOnly"], float(stop["triggerPx"])) == (
        "Stop Market",
        True,
        trigger,
    )
    for _ in range(1440):  # at most a replayed day, one bar at a time
        sim.step_bar()
        if info.query_order_by_cloid(w.address, cloid)["order"]["status"] != "open":
            break
    assert info.query_order_by_cloid(w.address, cloid)["order"]["status"] == "filled"
    assert info.user_state(w.address)["assetPositions"] == []
    fill = info.user_fills(w.address)[0]
    assert (fill["dir"], fill["cloid"]) == ("Close Long", str(cloid))
    assert trigger * 0.999 <= float(fill["px"]) < trigger  # one spread below the trigger
    assert fill in info.user_fills_by_time(w.address, fill["time"], fill["time"])


def test_manual_clock_moves_are_on_disk_at_once(venue: VenueUnderTest) -> None:
    """Time is state too: a restart after a crash must resume where the caller moved the clock
    (before, a move with no bar close within a second of the last save was not written)."""
    from actors.venues.simulator import state

    sim = venue.controls()
    assert sim.cfg.state_dir is not None
    for _ in range(3):  # sub-minute steps: no bar closes, nothing but the time changes
        now = sim.clock.advance(seconds=7)
        saved = state.load(sim.cfg.state_dir)
        assert saved is not None and saved["now"] == now
