"""Idempotence of the order path on the simulator (failure_modes F2, F3, F13)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actors.messages import Signal
from strategies.risk import Limits
from tests.live.graph import order_graph
from tests.live.helpers import entry_intent, venue_fill_size, wait_for

pytestmark = pytest.mark.usefixtures("ray_session")


def _stop_resting(g: Any, symbol: str) -> bool:
    return any(o.symbol == symbol and o.kind == "stop_loss" and o.reduce_only
               for o in g.venue.open_orders())  # fmt: skip


def test_duplicated_intent_places_one_order(tmp_path: Path) -> None:
    import ray

    with order_graph(tmp_path) as g:
        intent = entry_intent("BTC", "buy", 0.01, g.mid(), "dup")
        first = ray.get(g.executor.submit.remote(intent))
        second = ray.get(g.executor.submit.remote(intent))  # Ray delivered it twice
        assert first.positions.get("BTC") == pytest.approx(0.01)
        assert second.positions == first.positions
        assert venue_fill_size(g.venue, intent.cloid) == pytest.approx(0.01)  # not 0.02
        assert ray.get(g.keeper.counts.remote())["fills"] >= 1
        assert ray.get(g.alerter.count.remote("duplicate_intent")) == 1
        assert _stop_resting(g, "BTC")  # the entry is protected on the venue
        # a retried intent (same cloid, new message seq) is refused as well
        retried = intent.model_copy(update={"seq": 2})
        ray.get(g.executor.submit.remote(retried))
        assert venue_fill_size(g.venue, intent.cloid) == pytest.approx(0.01)


def test_a_duplicate_older_than_the_executors_memory_is_refused_by_the_journal(
    tmp_path: Path,
) -> None:
    """The Executor remembers only its last ``recent_cloids`` cloids; a later re-delivery of an
    older intent is refused by the journal (record_intent), never sent twice."""
    import ray

    with order_graph(tmp_path, recent_cloids=1, one_entry_per_symbol=False) as g:
        old = entry_intent("BTC", "buy", 0.01, g.mid(), "old")
        ray.get(g.executor.submit.remote(old))
        newer = entry_intent("BTC", "buy", 0.02, g.mid(), "newer")
        ray.get(g.executor.submit.remote(newer))  # pushes "old" out of the memory
        ray.get(g.executor.submit.remote(old.model_copy(update={"seq": 9})))
        assert venue_fill_size(g.venue, old.cloid) == pytest.approx(0.01)  # not 0.02
        assert ray.get(g.alerter.count.remote("duplicate_intent")) == 1


def test_timeout_after_accept_ends_with_exactly_one_order(tmp_path: Path) -> None:
    import ray

    with order_graph(tmp_path, spec_update={"timeout_s": 1.0}) as g:
        intent = entry_intent("BTC", "sell", 0.01, g.mid(), "timeout")
        g.paper.simulator.faults.inject("timeout_after_accept", count=1, hang_seconds=3)
        state = ray.get(g.executor.submit.remote(intent))
        # the venue accepted and filled it; the reply was lost; the lookup by cloid found it
        assert ray.get(g.keeper.order_status.remote(intent.cloid)) == "filled"
        assert state.positions.get("BTC") == pytest.approx(-0.01)
        assert venue_fill_size(g.venue, intent.cloid) == pytest.approx(0.01)
        assert ray.get(g.alerter.count.remote("order_rejected")) == 0
        wait_for(lambda: _stop_resting(g, "BTC"), 30, "the stop resting on the venue")


def test_duplicated_signal_is_decided_and_sent_once(tmp_path: Path) -> None:
    import ray

    from actors.risk import PortfolioRisk

    with order_graph(tmp_path) as g:
        risk = (
            ray.remote(PortfolioRisk)
            .options(num_cpus=0)
            .remote(Limits(risk_fraction=0.001, max_leverage=1.0), g.executor, g.keeper, g.alerter)
        )
        ray.get(g.executor.attach.remote(risk))
        mid = g.mid()
        sig = Signal(source="runner:t:BTC", seq=5, signal_id="t:BTC:15m:5", strategy="t",
                     symbol="BTC", bar_time_ms=5, side="buy", kind="market", price=None,
                     stop=round(mid * 0.99), target=round(mid * 1.02), reasons={"close": mid})  # fmt: skip
        d1, d2 = ray.get([risk.on_signal.remote(sig), risk.on_signal.remote(sig)])
        assert d1 == d2 and d1.approved and d1.rule == "approved"
        # risk hands the entry over without waiting; the Executor's acknowledgement carries
        # the view with the filled position
        wait_for(lambda: ray.get(risk.portfolio.remote()).positions.get("BTC"), 60,
                 "the executor to acknowledge the entry with its position")  # fmt: skip
        size = ray.get(g.keeper.counts.remote())
        assert size["orders"] >= 1
        fills = [f for f in g.venue.fills_since(0) if f.symbol == "BTC"]
        entry_fills = {f.cloid for f in fills}
        assert len(entry_fills) == 1  # one entry order for two deliveries
        # a new signal on the same symbol is blocked while the position is open, by name
        sig2 = sig.model_copy(update={"seq": 6, "signal_id": "t:BTC:15m:6", "bar_time_ms": 6})
        d3 = ray.get(risk.on_signal.remote(sig2))
        assert (d3.approved, d3.rule) == (False, "position_open")
        ray.kill(risk, no_restart=True)
