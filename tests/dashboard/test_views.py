"""The dashboard's figures, computed from the store read-only, equal independent computations;
a missing or damaged store is a message, never an exception."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from actors.reports import figures
from actors.reports.views import (
    kpis,
    load_live,
    orders_table,
    positions_table,
    signals_table,
    trades_table,
)
from actors.state import journal_path
from tests.dashboard.stores import known_journal
from tests.state.helpers import fill


def test_live_figures_equal_the_store(_isolated_data_dir: Path) -> None:
    want = known_journal(_isolated_data_dir)
    v = load_live(_isolated_data_dir)
    assert v.store == "ok", v.message
    k = dict(kpis(v))
    assert k["Realised P&L"] == f"-${abs(want['realized']):,.2f}"
    assert v.unrealized_pnl == pytest.approx(want["unrealized"])
    assert k["Orders / fills"] == f"{want['orders']:.0f} / {want['fills']:.0f}"
    assert k["Win rate"] == "50.0%" and k["Equity"] == "$1,050.00"
    rets = np.array([(10 - 0.2) / 100, (-10 - 0.1) / 100])
    assert k["Sharpe (per trade)"] == f"{rets.mean() / rets.std(ddof=1):,.2f}"
    assert k["Max drawdown"] == f"{(1100 - 990) / 1100 * 100:.2f}%"
    pos = positions_table(v)
    assert [(p["symbol"], p["side"], p["stop"]) for p in pos] == [("SOL", "long", 95.0)]
    assert pos[0]["venue vs journal"] == "agrees"
    orders = orders_table(v)
    assert [(o["symbol"], o["purpose"], o["trigger"]) for o in orders] == [("SOL", "stop", 95.0)]
    sig = {s["bar time"][:16]: s["outcome"] for s in signals_table(v)}
    assert len(sig) == want["signals"]
    assert sig["2025-07-02 04:00"] == "blocked: breaker:kill"
    assert sig["2025-07-02 01:00"] == "acted on (order sent)"
    trades = trades_table(v)
    assert [t["strategy"] for t in trades] == ["beta", "alpha"]  # newest first
    assert sum(t["P&L ($)"] for t in trades) == pytest.approx(want["closed"], abs=0.01)


def test_figures_carry_the_store_values(_isolated_data_dir: Path) -> None:
    known_journal(_isolated_data_dir)
    v = load_live(_isolated_data_dir)
    eq = figures.equity_figure(v.equity)
    assert list(eq.data[0].y) == [1000.0, 1100.0, 990.0, 1050.0]
    dd = figures.drawdown_figure(v.equity)
    assert min(dd.data[0].y) == pytest.approx(-(1100 - 990) / 1100 * 100)
    cum = figures.cumulative_pnl_figure(v.trades)
    assert cum.data[0].y[-1] == pytest.approx(sum(t.pnl for t in v.trades))
    comp = figures.strategy_comparison(figures.pnl_by_strategy(v.trades, v.strategy_of))
    assert dict(zip(comp.data[0].x, comp.data[0].y, strict=True)) == {
        "alpha": pytest.approx(9.8),
        "beta": pytest.approx(-10.1),
    }
    assert eq.layout.template.layout.paper_bgcolor == "white"  # the one theme


def test_missing_store_is_a_message(_isolated_data_dir: Path) -> None:
    v = load_live(_isolated_data_dir)
    assert v.store == "missing" and "nothing has run yet" in v.message
    assert not journal_path(_isolated_data_dir).exists()  # reading never creates it


@pytest.mark.parametrize(
    "garbage", [b"not a database" * 100, b"SQLite format 3\x00" + b"\xff" * 4096]
)
def test_corrupt_store_is_a_message_and_left_alone(
    _isolated_data_dir: Path, garbage: bytes
) -> None:
    path = journal_path(_isolated_data_dir)
    path.parent.mkdir(parents=True)
    path.write_bytes(garbage)
    v = load_live(_isolated_data_dir)
    assert v.store == "corrupt" and "cannot be read" in v.message and str(path) in v.message
    assert path.read_bytes() == garbage


def test_sharpe_of_returns_without_spread_is_undefined_not_huge() -> None:
    """Three fee-only losses have (almost) identical returns: the old ratio read -69,540,421."""
    from actors.state.ledger import metrics

    fills_ = [fill(f"t{i}{s}", side=s, price=100.0, fee=0.0165, t=i * 10 + (s == "sell"))
              for i in range(3) for s in ("buy", "sell")]  # fmt: skip
    from actors.state.ledger import derive

    _, trades = derive(fills_)
    assert len(trades) == 3
    assert math.isnan(float(metrics(trades)["sharpe"]))


def test_system_health_uptime_and_staleness(_isolated_data_dir: Path) -> None:
    import time

    from actors.reports.views import actors_table, feeds_table, seed_table
    from tests.dashboard.stores import heartbeat

    known_journal(_isolated_data_dir)
    v = load_live(_isolated_data_dir)
    assert v.system is not None and v.system.status == "none"  # no run recorded yet
    heartbeat(_isolated_data_dir, ("BTC", "ETH"))
    now = time.time_ns() // 1_000_000
    v = load_live(_isolated_data_dir, now_ms=now)
    assert v.system is not None and v.system.status == "live" and v.system.ok, v.system
    states = {r["actor"]: r["state"] for r in actors_table(v)}
    assert states == dict.fromkeys(
        ["DataFeed", "StrategyRunner BTC", "StrategyRunner ETH", "PortfolioRisk", "Executor",
         "StateKeeper", "Alerter"], "alive")  # fmt: skip
    feeds = feeds_table(v)
    assert [(f["symbol"], f["websocket"]) for f in feeds] == [("BTC", "connected"),
                                                               ("ETH", "connected")]  # fmt: skip
    assert feeds[0]["last bar (open, venue clock)"].startswith("2025-07-01 23:45")
    items = dict(v.health)
    assert items["live system"].startswith("running on paper")
    assert "only" in items["uptime, last 30 days (wall clock)"]  # seconds of history
    up = next(r for r in seed_table(v.seed) if r["metric"].startswith("uptime"))
    assert up["result"] == "unknown" and "100.00%" in up["value"]  # too short to judge
    later = load_live(_isolated_data_dir, now_ms=now + 10 * 60_000)  # ten minutes, no beat
    assert later.system is not None and later.system.status == "stale"
    assert "DOWN or hung" in dict(later.health)["live system"]
    assert all(r["state"].startswith("unknown") for r in actors_table(later))


def test_funding_in_pnl(_isolated_data_dir: Path) -> None:
    from actors.messages import Funding
    from actors.state.journal import Journal
    from tests.dashboard.stores import T0, H

    want = known_journal(_isolated_data_dir)
    with Journal(journal_path(_isolated_data_dir)) as j:
        j.record_funding([Funding(source="f", seq=i, symbol="SOL", time_ms=T0 + (5 + i) * H,
                                  amount=a, rate=1e-5, size=1.0)
                          for i, a in enumerate((-0.25, -0.5, 0.125))])  # fmt: skip
    v = load_live(_isolated_data_dir)
    k = dict(kpis(v))
    assert v.funding == pytest.approx(-0.625) and k["Funding"] == "-$0.62"
    net = want["realized"] - 0.625
    assert k["Net P&L (realised + funding)"] == f"-${abs(net):,.2f}"
    assert v.unrealized_pnl == pytest.approx(want["unrealized"] + 0.625)  # equity paid it
