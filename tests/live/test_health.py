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
from tests.live.helpers import wait_for

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

    def pid(self) -> int:
        import os

        return os.getpid()

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


def _system(data: Path, max_restarts: int = 0) -> System:
    """Probe-answering stand-ins for every actor but the StateKeeper, which is real."""
    import ray

    from actors.keeper import StateKeeper

    remote = ray.remote(Actor).options(num_cpus=0, max_concurrency=2, max_restarts=max_restarts)
    keeper = ray.remote(StateKeeper).options(num_cpus=0, max_concurrency=4).remote(data, 3600.0)
    return System(
        feed=ray.remote(Feed).options(num_cpus=0, max_concurrency=2).remote(),
        runners={"BTC": remote.remote(), "ETH": remote.remote()}, risk=remote.remote(),
        executor=remote.remote(), keeper=keeper, alerter=remote.remote(),
    )  # fmt: skip


def _health(data: Path, now_ms: int) -> Any:
    conn = connect(journal_path(data), readonly=True)
    try:
        return read_health(conn, now_ms)
    finally:
        conn.close()


def test_probes_journaled_and_judged(tmp_path: Path) -> None:
    import ray

    from actors.health import HealthMonitor

    data = tmp_path / "data"
    run_id = run_started(data, "paper")
    system = _system(data)
    keeper = system.keeper
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


def _restart(handle: Any) -> None:
    """SIGKILL-equivalent; returns once Ray has restarted it (its next call answers)."""
    import ray
    from ray.exceptions import ActorUnavailableError

    old = ray.get(handle.pid.remote())
    ray.kill(handle, no_restart=False)  # asynchronous: the old process may still answer
    for _ in range(10_000):
        try:
            if ray.get(handle.pid.remote(), timeout=120) != old:
                return
        except ActorUnavailableError:  # met the process while it died
            continue
    raise AssertionError("the actor was not restarted")


def test_a_crash_loop_or_an_actor_dead_for_good_stops_the_system(tmp_path: Path) -> None:
    """Ray restarts actors without limit (a lifetime budget runs out on a 24/7 system); the
    driver stops on a crash loop (restarts counted from Ray's own actor table) or on an actor
    Ray will not restart. Negative control: the same restarts spread wider than the window."""
    import ray

    from actors.health import HealthMonitor

    data = tmp_path / "data"
    run_id = run_started(data, "paper")
    system = _system(data, max_restarts=-1)
    keeper = system.keeper
    clock = [1_000_000 * S]
    mon = HealthMonitor(system, run_id, interval_s=10.0, clock=lambda: clock[0],
                        loop_restarts=2, loop_window_s=600.0)  # fmt: skip
    try:
        mon.start(wait_s=60)
        assert mon.stop_reason() is None and mon.restarts["StrategyRunner BTC"] == 0
        # ETH: two restarts 700 s apart (wider than the window): no crash loop
        for _ in range(2):
            _restart(system.runners["ETH"])
            clock[0] += 700 * S
            mon.tick(force=True)
        assert mon.restarts["StrategyRunner ETH"] == 2
        assert mon.stop_reason() is None
        # BTC: two restarts within 20 s: a crash loop, named
        for _ in range(2):
            _restart(system.runners["BTC"])
            clock[0] += 10 * S
            mon.tick(force=True)
        why = mon.stop_reason()
        assert why is not None and why.startswith("StrategyRunner BTC restarted 2 times"), why
        assert mon.payload()["actors"]["StrategyRunner BTC"]["restarts"] == 2
        # an actor Ray will not restart: named first
        ray.kill(system.risk, no_restart=True)
        clock[0] += 10 * S
        mon.tick(force=True)
        assert str(mon.stop_reason()).startswith("PortfolioRisk is dead"), mon.stop_reason()
    finally:
        ray.get(keeper.close.remote())
        for h in (system.feed, *system.runners.values(), system.risk, system.executor,
                  system.alerter, keeper):  # fmt: skip
            ray.kill(h, no_restart=True)


def test_the_driver_loop_halts_with_a_critical_event_on_the_monitors_verdict(
    tmp_path: Path,
) -> None:
    """`fractal live`'s loop returns the monitor's stop reason at once (no deadline reached) and
    the CRITICAL ``system_halt`` event reaches the Alerter and the journal. Negative control:
    without a verdict the loop runs to its deadline and returns None."""
    import ray

    from actors.alerter import Alerter
    from actors.keeper import StateKeeper
    from cluster.cli_live import _loop

    class Verdict:
        def __init__(self, why: str | None) -> None:
            self.why = why

        def tick(self) -> bool:
            return True

        def stop_reason(self) -> str | None:
            return self.why

    @dataclass
    class Live:
        alerter: Any
        keeper: Any
        desk: Any = None

    data = tmp_path / "data"
    live = Live(
        alerter=ray.remote(Alerter).options(num_cpus=0).remote(),
        keeper=ray.remote(StateKeeper).options(num_cpus=0, max_concurrency=4).remote(data, 3600.0),
    )
    try:
        stop = threading.Event()
        assert _loop(ray, live, stop, 0.5, Verdict(None)) is None
        why = _loop(ray, live, stop, 3600.0, Verdict("Executor restarted 5 times"))
        assert why == "Executor restarted 5 times"
        events, _ = ray.get(live.alerter.since.remote(0))
        halts = [e for e in events if e.kind == "system_halt"]
        assert len(halts) == 1 and halts[0].level.value == "CRITICAL"
        assert "Executor restarted 5 times" in halts[0].text

        def halts_journaled() -> int:
            conn = connect(journal_path(data), readonly=True)
            try:
                return len(conn.execute("SELECT 1 FROM events WHERE kind='system_halt'").fetchall())
            finally:
                conn.close()

        assert wait_for(halts_journaled, 60, "the halt event in the journal") == 1
    finally:
        ray.get(live.keeper.close.remote())
        for h in (live.alerter, live.keeper):
            ray.kill(h, no_restart=True)
