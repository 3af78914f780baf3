"""Crash on the order path (failure_modes §3): the Executor's process is SIGKILLed at a named point
(no timing involved); Ray reruns its constructor, which rebuilds from the journal and the venue.
Afterwards: at most one venue order per intent (exactly one when the venue accepted it), the
journal equals the venue, every position has a stop resting on the venue."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.crash import CrashPlan
from tests.live.graph import order_graph
from tests.live.helpers import entry_intent, portfolio_after_restart, venue_fill_size, wait_for

pytestmark = pytest.mark.usefixtures("ray_session")


def _submit_and_die(g: object, intent: object) -> None:
    import ray
    from ray.exceptions import RayActorError

    with pytest.raises(RayActorError):
        ray.get(g.executor.submit.remote(intent))  # type: ignore[attr-defined]


def test_crash_after_the_intent_is_journaled_before_the_venue_call(tmp_path: Path) -> None:
    """Issue #15: exactly one order per intent. The restarted actor finds no order by cloid and
    the intent is fresh, so it re-sends it with the same cloid (actors.recovery)."""
    import ray

    marker = tmp_path / "k2.marker"
    # the replay runs at 60x: a Ray restart of a few wall seconds is minutes of market time, so
    # the freshness window is widened to 30 market minutes (the default, 1 minute, would abandon)
    with order_graph(tmp_path, crash=CrashPlan("K2", marker), resend_within_ms=1_800_000) as g:
        intent = entry_intent("BTC", "buy", 0.01, g.mid(), "k2")
        _submit_and_die(g, intent)
        assert marker.exists()
        state = portfolio_after_restart(g.executor)  # the restarted actor, rebuilt
        assert ray.get(g.keeper.intent.remote(intent.cloid)) == intent  # persisted before send
        assert venue_fill_size(g.venue, intent.cloid) == pytest.approx(0.01)  # sent once
        assert ray.get(g.keeper.order_status.remote(intent.cloid)) == "filled"
        assert state.positions == pytest.approx({"BTC": 0.01})
        stops = [o for o in g.venue.open_orders() if o.kind == "stop_loss" and o.reduce_only]
        assert len(stops) == 1 and stops[0].remaining == pytest.approx(0.01)
        # a second delivery of the same intent is not sent again
        ray.get(g.executor.submit.remote(intent))
        assert venue_fill_size(g.venue, intent.cloid) == pytest.approx(0.01)


def test_crash_after_the_venue_call_before_the_reply_is_journaled(tmp_path: Path) -> None:
    import ray

    marker = tmp_path / "k4.marker"
    with order_graph(tmp_path, crash=CrashPlan("K4", marker)) as g:
        intent = entry_intent("BTC", "sell", 0.01, g.mid(), "k4")
        _submit_and_die(g, intent)
        state = portfolio_after_restart(g.executor)
        # the venue filled it once; the rebuilt executor found it by cloid and journaled it
        assert venue_fill_size(g.venue, intent.cloid) == pytest.approx(0.01)
        assert ray.get(g.keeper.order_status.remote(intent.cloid)) == "filled"
        venue_pos = {p.symbol: p.size for p in g.venue.positions()}
        journal_pos = {s: p.size for s, p in ray.get(g.keeper.positions.remote()).items()
                       if p.size != 0}  # fmt: skip
        assert journal_pos == pytest.approx(venue_pos) == {"BTC": -0.01}
        assert state.positions == pytest.approx({"BTC": -0.01})
        stops = [o for o in g.venue.open_orders() if o.kind == "stop_loss" and o.reduce_only]
        assert len(stops) == 1 and stops[0].remaining == pytest.approx(0.01)
        assert stops[0].trigger_price == pytest.approx(intent.stop)
        # a restart again changes nothing (F6): reconciliation is clean, no new order
        report = ray.get(g.executor.reconcile_now.remote())
        assert report["clean"] and not report["blocking"]
        assert venue_fill_size(g.venue, intent.cloid) == pytest.approx(0.01)
        wait_for(lambda: ray.get(g.executor.portfolio.remote()).reconciled, 10, "reconciled")
