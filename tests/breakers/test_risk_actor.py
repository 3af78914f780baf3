"""PortfolioRisk with breakers: a persisted trip halts entries by name; a drawdown of the
reported equity trips `drawdown` automatically (persisted + CRITICAL event)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from actors.messages import Signal
from actors.state.breakers import BreakerStore, read_events, read_states
from strategies.risk import Limits
from tests.live.graph import order_graph

pytestmark = pytest.mark.usefixtures("ray_session")


def test_tripped_breaker_rejects_by_name_and_drawdown_trips_itself(tmp_path: Path) -> None:
    import ray

    from actors.risk import PortfolioRisk

    data_dir = tmp_path / "store"
    BreakerStore(data_dir).trip("volatility", "test")
    with order_graph(tmp_path) as g:
        risk = (
            ray.remote(PortfolioRisk)
            .options(num_cpus=0)
            .remote(Limits(risk_fraction=0.001, max_leverage=1.0), g.executor, g.keeper,
                    g.alerter, data_dir=data_dir)
        )  # fmt: skip
        mid = g.mid()
        sig = Signal(source="runner:t:BTC", seq=5, signal_id="t:BTC:15m:5", strategy="t",
                     symbol="BTC", bar_time_ms=5, side="buy", kind="market", price=None,
                     stop=round(mid * 0.99), target=round(mid * 1.02), reasons={"close": mid})  # fmt: skip
        d = ray.get(risk.on_signal.remote(sig))
        assert (d.approved, d.rule) == (False, "breaker:volatility")
        assert ray.get(g.keeper.counts.remote())["orders"] == 0

        state = ray.get(risk.portfolio.remote())
        ray.get(risk.on_portfolio.remote(replace(state, equity=10_000.0)))
        ray.get(risk.on_portfolio.remote(replace(state, equity=8_000.0)))  # -20% > 10%
        assert read_states(data_dir)["drawdown"].state == "tripped"
        assert [e["action"] for e in read_events(data_dir)[0] if e["breaker"] == "drawdown"] == [
            "trip"
        ]
        assert ray.get(g.alerter.count.remote("breaker_trip")) == 1
        ray.kill(risk, no_restart=True)
