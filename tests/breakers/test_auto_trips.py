"""Automatic circuit-breaker trips through the PortfolioRisk actor, fed as the live system feeds
it: fills in the journal (loss streak), the DataFeed's bars (volatility), the Executor's venue
(exchange failures), the reported equity with a peak persisted across a restart (drawdown).
Each trip is persisted, logged in circuit_breaker_events.log and sent as a CRITICAL event; a
trip cancels resting entries and, when configured, closes every position."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from actors.messages import Fill, OrderIntent, Signal, make_cloid
from actors.state.breakers import read_events, read_states
from strategies.breakers import Thresholds
from strategies.risk import Limits
from tests.live.graph import Graph, order_graph
from tests.live.helpers import entry_intent, wait_for

pytestmark = pytest.mark.usefixtures("ray_session")
LIMITS = Limits(risk_fraction=0.001, max_leverage=1.0)


class FakeFeed:
    """The DataFeed's ``ohlc_since`` over a fixed bar list (what the feed's history holds)."""

    def __init__(self, rows: dict[str, list[tuple[int, float, float, float]]]) -> None:
        self.rows = rows

    def ohlc_since(self, after: dict[str, int]) -> dict[str, list[tuple[int, float, float, float]]]:
        return {s: [r for r in rs if r[0] > after.get(s, -1)] for s, rs in self.rows.items()}


def _risk(g: Graph, data_dir: Path, **kw: Any) -> Any:
    import ray

    from actors.risk import PortfolioRisk

    kw.setdefault("thresholds", Thresholds())
    return (
        ray.remote(PortfolioRisk)
        .options(num_cpus=0)
        .remote(kw.pop("limits", LIMITS), g.executor, g.keeper, g.alerter, data_dir=data_dir, **kw)
    )  # fmt: skip


@contextmanager
def _graph(tmp_path: Path, **executor_kw: Any) -> Iterator[Graph]:
    with order_graph(tmp_path, **executor_kw) as g:
        yield g


def _tripped_once(g: Graph, data_dir: Path, name: str) -> dict[str, Any]:
    """The breaker is tripped in the store, its one trip line is in the events log, and a
    CRITICAL breaker_trip event reached the Alerter."""
    import ray

    assert read_states(data_dir)[name].state == "tripped"
    lines = [e for e in read_events(data_dir)[0] if e["breaker"] == name]
    assert [e["action"] for e in lines] == ["trip"]
    wait_for(lambda: ray.get(g.alerter.count.remote("breaker_trip")) >= 1, 30, "the CRITICAL event")
    return lines[0]


def _signal(g: Graph, n: int, symbol: str = "BTC") -> Signal:
    mid = g.mid(symbol)
    return Signal(source=f"runner:t:{symbol}", seq=n, signal_id=f"t:{symbol}:15m:{n}",
                  strategy="t", symbol=symbol, bar_time_ms=g.venue.now_ms(), side="buy",
                  kind="market", price=None, stop=round(mid * 0.99), target=round(mid * 1.02),
                  reasons={"close": mid})  # fmt: skip


def test_loss_streak_trips_from_the_journal_and_counts_afresh_after_resume(tmp_path: Path) -> None:
    import ray

    from actors.state.breakers import BreakerStore

    data_dir = tmp_path / "data"
    with _graph(tmp_path) as g:
        fills = []
        for k in range(5):  # five losing round trips of 1 BTC: buy 100, sell 99 (fee 0.1)
            for j, (side, px) in enumerate((("buy", 100.0), ("sell", 99.0))):
                fills.append(Fill(source="test", seq=10 * k + j, trade_id=f"t{k}{j}", cloid=None,
                                  venue_order_id=f"o{k}{j}", symbol="ETH", side=side, size=1.0,
                                  price=px, fee=0.1, time_ms=1_000 * (2 * k + j + 1)))  # fmt: skip
        for f in fills[:8]:  # four losses: no trip
            ray.get(g.keeper.record_fill.remote(f))
        risk = _risk(g, data_dir)
        ray.get(risk.portfolio.remote())
        assert read_states(data_dir)["loss_streak"].state == "armed"
        for f in fills[8:]:
            ray.get(g.keeper.record_fill.remote(f))
        state = ray.get(risk.portfolio.remote())  # a position closes: the actor looks at trades
        ray.get(risk.on_portfolio.remote(replace(state, positions={"ETH": 1.0})))
        ray.get(risk.on_portfolio.remote(state))
        line = _tripped_once(g, data_dir, "loss_streak")
        assert line["values"]["streak"] == 5.0 and line["values"]["after_ms"] == 10_000.0
        store = BreakerStore(data_dir)
        store.request_resume("loss_streak", "code-123456")
        store.confirm("code-123456")
        ray.kill(risk, no_restart=True)
        again = _risk(g, data_dir)  # a restart re-reads the journal: the old streak is spent
        ray.get(again.portfolio.remote())
        assert read_states(data_dir)["loss_streak"].state == "armed"
        ray.kill(again, no_restart=True)


def test_volatility_trips_on_the_feeds_bars(tmp_path: Path) -> None:
    import ray

    data_dir = tmp_path / "data"
    with _graph(tmp_path) as g:
        # bars at the venue's price level: the first signal's entry is marked with them
        rng = np.random.default_rng(3)
        close = np.cumprod(1 + rng.normal(0, 0.001, 700))
        close *= g.mid() / close[-1]
        high, low = close * 1.001, close * 0.999
        high[-10:], low[-10:] = close[-10:] * 1.03, close[-10:] * 0.97  # ATR ~ 20x its baseline
        rows = [(900_000 * i, float(h), float(lo), float(c)) for i, (h, lo, c)
                in enumerate(zip(high, low, close, strict=True))]  # fmt: skip
        calm = ray.remote(FakeFeed).options(num_cpus=0).remote({"BTC": rows[:-10]})
        risk = _risk(g, data_dir, feed=calm)
        d = ray.get(risk.on_signal.remote(_signal(g, 1)))
        assert read_states(data_dir)["volatility"].state == "armed", d
        stormy = ray.remote(FakeFeed).options(num_cpus=0).remote({"BTC": rows})
        ray.kill(risk, no_restart=True)
        risk = _risk(g, data_dir, feed=stormy)
        d = ray.get(risk.on_signal.remote(_signal(g, 2)))
        assert (d.approved, d.rule) == (False, "breaker:volatility"), read_events(data_dir)
        line = _tripped_once(g, data_dir, "volatility")
        assert line["values"]["ratio"] > 3.0 and "BTC" in line["reason"]
        ray.kill(risk, no_restart=True)


def test_exchange_failures_counted_by_the_executor_trip(tmp_path: Path) -> None:
    import ray

    data_dir = tmp_path / "data"
    with _graph(tmp_path) as g:
        risk = _risk(g, data_dir, thresholds=Thresholds(exchange_failures=3))
        ray.get(g.executor.attach.remote(risk))
        g.paper.simulator.faults.inject("http_5xx", count=6, path="/info")
        wait_for(lambda: len(ray.get(g.executor.portfolio.remote()).venue_failures) >= 3, 60,
                 "three venue failures seen by the executor")  # fmt: skip
        wait_for(lambda: read_states(data_dir)["exchange_failures"].state == "tripped", 60,
                 "the exchange_failures trip")  # fmt: skip
        line = _tripped_once(g, data_dir, "exchange_failures")
        assert line["values"]["failures"] >= 3
        ray.kill(risk, no_restart=True)


def test_drawdown_peak_survives_a_restart(tmp_path: Path) -> None:
    import ray

    data_dir = tmp_path / "data"
    with _graph(tmp_path) as g:
        risk = _risk(g, data_dir)
        state = ray.get(risk.portfolio.remote())
        ray.get(risk.on_portfolio.remote(replace(state, equity=20_000.0)))
        wait_for(lambda: ray.get(g.keeper.get_meta.remote("equity_peak")), 30, "the saved peak")
        ray.kill(risk, no_restart=True)
        restarted = _risk(g, data_dir)  # in memory the peak would now be 17,500
        # a view as new as the one the restart read (an older one is ignored as overtaken)
        state = ray.get(restarted.portfolio.remote())
        ray.get(restarted.on_portfolio.remote(replace(state, equity=17_500.0)))
        line = _tripped_once(g, data_dir, "drawdown")
        assert line["values"]["peak"] == 20_000.0 and line["values"]["drawdown_pct"] == 12.5
        ray.kill(restarted, no_restart=True)


def _resting_entry(g: Graph) -> OrderIntent:
    mid = g.mid()
    sid = "test:BTC:rest"
    return OrderIntent(source="test", seq=2, intent_id=f"{sid}:entry",
                       cloid=make_cloid("test", "BTC", sid, "entry"), signal_id=sid,
                       symbol="BTC", side="buy", size=0.001, kind="limit",
                       price=round(mid * 0.8), purpose="entry", stop=round(mid * 0.7))  # fmt: skip


@pytest.mark.parametrize("close_positions", [False, True])
def test_trip_cancels_resting_entries_and_optionally_flattens(
    tmp_path: Path, close_positions: bool
) -> None:
    import ray

    data_dir = tmp_path / "data"
    with _graph(tmp_path, one_entry_per_symbol=False) as g:
        mid = g.mid()
        ray.get(g.executor.submit.remote(entry_intent("BTC", "buy", 0.001, mid, "open")))
        wait_for(lambda: ray.get(g.executor.poll_now.remote()).positions.get("BTC"), 60,
                 "the BTC position")  # fmt: skip
        rest = _resting_entry(g)
        assert ray.get(g.executor.submit.remote(rest)) is not None
        resting = [o for o in g.venue.open_orders() if o.cloid == rest.cloid]
        assert resting, "the limit entry rests on the venue"
        risk = _risk(g, data_dir, thresholds=Thresholds(close_positions=close_positions))
        state = ray.get(risk.portfolio.remote())
        ray.get(risk.on_portfolio.remote(replace(state, equity=10_000.0, positions={},
                                                 entries={}, unrealized={})))  # fmt: skip
        ray.get(risk.on_portfolio.remote(replace(state, equity=8_000.0, positions={},
                                                 entries={}, unrealized={})))  # fmt: skip
        _tripped_once(g, data_dir, "drawdown")
        wait_for(lambda: not [o for o in g.venue.open_orders() if o.cloid == rest.cloid], 60,
                 "the resting entry to be canceled")  # fmt: skip
        protective = [o for o in g.venue.open_orders() if o.reduce_only]
        if close_positions:
            wait_for(lambda: not [p for p in g.venue.positions() if p.size], 60, "flat")
            wait_for(lambda: not [o for o in g.venue.open_orders() if o.reduce_only], 60,
                     "the stops of the closed position to be canceled")  # fmt: skip
        else:
            assert [p.symbol for p in g.venue.positions() if p.size] == ["BTC"]
            assert protective, "the stop stays on the venue"
        ray.kill(risk, no_restart=True)


def test_kill_breaker_makes_the_executor_send_nothing_until_resumed(tmp_path: Path) -> None:
    import ray

    from actors.state.breakers import BreakerStore

    data_dir = tmp_path / "data"
    store = BreakerStore(data_dir)
    store.trip("kill", "drill")
    with _graph(tmp_path) as g:
        risk = _risk(g, data_dir)  # comes up HALTED and relays the kill switch to the executor
        d = ray.get(risk.on_signal.remote(_signal(g, 1)))
        assert (d.approved, d.rule) == (False, "breaker:kill")
        wait_for(lambda: ray.get(g.alerter.count.remote("kill_switch")) >= 1, 30, "the relay")
        direct = entry_intent("BTC", "buy", 0.001, g.mid(), "bypass")  # even bypassing risk
        ray.get(g.executor.submit.remote(direct))
        assert ray.get(g.keeper.order_status.remote(direct.cloid)) == "rejected"
        assert [f for f in g.venue.fills_since(0) if f.cloid == direct.cloid] == []
        assert g.venue.open_orders() == []
        store.request_resume("kill", "code-kill-1")
        store.confirm("code-kill-1")
        d = ray.get(risk.on_signal.remote(_signal(g, 2)))
        assert d.approved, d
        wait_for(lambda: [f for f in g.venue.fills_since(0) if f.side == "buy"], 60,
                 "the entry after the resume to fill")  # fmt: skip
        ray.kill(risk, no_restart=True)
