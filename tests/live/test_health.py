"""Heartbeats: the driver's probes reach every actor, the StateKeeper journals them, and the
read-only view judges them — alive, NOT ANSWERING (stuck), DOWN (dead), stale (no heartbeat:
the process is gone) and stopped — with the driver's clock injected (no sleeping)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from actors.state import journal_path
from actors.state.health import read_health
from actors.state.runs import read_runs, run_ended, run_started
from actors.state.schema import connect

pytestmark = pytest.mark.usefixtures("ray_session")
S = 1000


class Actor:
    """Answers probes; ``hang`` makes the next probe wait until ``release``."""

    def __init__(self) -> None:
        self._gate = threading.Event()
        self._gate.set()

    def ping(self) -> int:
        self._gate.wait(120)
        return 0

    def hang(self) -> None:
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()


class Feed(Actor):
    def health(self) -> dict[str, Any]:
        return {"time_ms": 0, "venue_ms": 1_751_400_000_000, "silence_s": 30.0,
                "last_bar_ms": {"BTC": 1_751_399_100_000},
                "streams": {"BTC": {"state": "reconnecting", "last_message_ms": 5 * S,
                                    "reconnects": 2}}}  # fmt: skip


@dataclass
class System:
    feed: Any
    runners: dict[str, Any]
    risk: Any
    executor: Any
    keeper: Any
    alerter: Any


def _health(data: Path, now_ms: int) -> Any:
    conn = connect(journal_path(data), readonly=True)
    try:
        return read_health(conn, now_ms)
    finally:
        conn.close()


def test_probes_journaled_and_judged(tmp_path: Path) -> None:
    import ray

    from actors.health import HealthMonitor
    from actors.keeper import StateKeeper

    data = tmp_path / "data"
    run_id = run_started(data, "paper")
    remote = ray.remote(Actor).options(num_cpus=0, max_concurrency=2)
    keeper = ray.remote(StateKeeper).options(num_cpus=0, max_concurrency=4).remote(data, 3600.0)
    system = System(
        feed=ray.remote(Feed).options(num_cpus=0, max_concurrency=2).remote(),
        runners={"BTC": remote.remote(), "ETH": remote.remote()}, risk=remote.remote(),
        executor=remote.remote(), keeper=keeper, alerter=remote.remote(),
    )  # fmt: skip
    clock = [1_000_000 * S]
    mon = HealthMonitor(system, run_id, interval_s=10.0, clock=lambda: clock[0])
    try:
        mon.start(wait_s=60)
        ray.get(mon._write)
        h = _health(data, clock[0])
        assert h.status == "live", h.summary
        assert {a["actor"]: a["state"] for a in h.actors} == {
            "DataFeed": "alive", "StrategyRunner BTC": "alive", "StrategyRunner ETH": "alive",
            "PortfolioRisk": "alive", "Executor": "alive", "StateKeeper": "alive",
            "Alerter": "alive",
        }  # fmt: skip
        assert h.feeds[0]["symbol"] == "BTC" and h.feeds[0]["websocket"] == "reconnecting"
        assert h.feeds[0]["reconnects"] == "2"
        assert "2025-07-01 19:45:00" in h.feeds[0]["last bar (open, venue clock)"]
        # the risk actor gets stuck, the ETH runner dies; 4 heartbeats later (40 s) both show
        ray.get(system.risk.hang.remote())
        ray.kill(system.runners["ETH"], no_restart=True)
        for _ in range(4):
            clock[0] += 10 * S
            mon.tick(force=True)
            ray.get(mon._write)
            live = [ref for n, (ref, _) in mon.pending.items() if n != "PortfolioRisk"]
            ray.wait(live, num_returns=len(live), timeout=60)
        h = _health(data, clock[0])
        states = {a["actor"]: a["state"] for a in h.actors}
        assert states["PortfolioRisk"].startswith("NOT ANSWERING"), states
        assert states["StrategyRunner ETH"].startswith("DOWN: "), states
        assert states["StrategyRunner BTC"] == states["Executor"] == "alive", states
        assert not h.ok
        # no heartbeat for longer than 3 periods: the whole system is stale, whatever it said
        stale = _health(data, clock[0] + 31 * S)
        assert stale.status == "stale" and "DOWN or hung" in stale.summary
        assert all(a["state"].startswith("unknown") for a in stale.actors)
        seen = read_runs(data)[-1]
        assert seen["last_seen_ms"] == clock[0] and seen["end_ms"] is None
        assert seen["venue_first_ms"] == seen["venue_last_ms"] == 1_751_400_000_000
        run_ended(data, run_id, clean=True)
        stopped = _health(data, clock[0] + 3600 * S)
        assert stopped.status == "stopped" and "stopped cleanly" in stopped.summary
    finally:
        ray.get(system.risk.release.remote())
        ray.get(keeper.close.remote())
        for h in (system.feed, system.runners["BTC"], system.risk, system.executor,
                  system.alerter, keeper):  # fmt: skip
            ray.kill(h, no_restart=True)


def test_no_run_and_a_run_without_heartbeat(tmp_path: Path) -> None:
    from actors.state.journal import Journal

    data = tmp_path / "data"
    Journal(journal_path(data)).close()
    assert _health(data, 0).status == "none"
    run_started(data, "paper")
    h = _health(data, 2**41)
    assert h.status == "stale" and "never" in h.summary
