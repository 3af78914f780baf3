"""Research and live decide alike: one stream of real bars (BTC, ETH, SOL 15m, shipped) runs
through the portfolio backtest and, bar by bar as the DataFeed would publish it, through the
PortfolioRisk actor's decision logic (actors.risk_core.RiskCore); every decision must match."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from actors.risk_core import RiskCore
from research.backtest.portfolio import PortfolioBacktest, SymbolData
from strategies import liquidity_sweep
from strategies.breakers import ALL_BREAKERS, Thresholds
from strategies.portfolio_risk import PortfolioLimits
from strategies.risk import Limits
from tests.conftest import MARKET

TF = 900_000
BARS = 3000


def _data() -> dict[str, SymbolData]:
    out = {}
    for sym in ("BTC", "ETH", "SOL"):
        df = pd.read_csv(MARKET / "hyperliquid_perp_2025" / f"hyperliquid_{sym}USDC_15m.csv.gz")
        df = df.iloc[-BARS:]
        df.index = pd.to_datetime(df["timestamp"], unit="ms", utc=True)
        sig = liquidity_sweep.generate(df, liquidity_sweep.Params())
        out[sym] = SymbolData(df["timestamp"].to_numpy(np.int64), *(
            df[c].to_numpy(np.float64) for c in ("open", "high", "low", "close")), signals=sig)  # fmt: skip
    return out


@pytest.mark.parametrize(("bar_ms", "method", "thresholds"), [
    (TF, "historical", Thresholds()),  # the live defaults
    (4 * TF, "parametric", Thresholds()),
    (TF, "historical", Thresholds(loss_streak=1000, atr_multiple=2.5)),  # volatility first
])  # fmt: skip
def test_backtest_and_live_logic_decide_alike(bar_ms: int, method: str,
                                              thresholds: Thresholds) -> None:  # fmt: skip
    """Every decision and every circuit-breaker trip: the backtest's against RiskCore's, fed
    the same bars, marked equity and closed round trips (the breakers' evidence)."""
    limits = Limits(risk_fraction=0.01, max_open_positions=2, max_leverage=3.0,
                    max_drawdown_pct=10.0, portfolio=PortfolioLimits(
                        correlation_window=200, var_method=method, var_horizon_bars=24,
                        var_limit_pct=4.0, max_symbol_exposure_pct=150.0,
                        max_total_exposure_pct=250.0, max_leverage=3.0))  # fmt: skip
    data = _data()
    res = PortfolioBacktest(data, limits, TF, bar_ms, record_states=True,
                            thresholds=thresholds).run()  # fmt: skip
    assert res.states is not None
    by_time = defaultdict(list)
    for d in res.decisions:
        by_time[d.time_ms].append(d)
    bt_trips = defaultdict(list)
    for trip in res.breaker_trips:
        bt_trips[trip.time_ms].append((trip.name, trip.values))
    closed = sorted((int(tr["closed_ms"]), float(tr["pnl"])) for tr in res.trades)

    core = RiskCore(limits, thresholds, TF, bar_ms)
    rows = {s: list(zip(d.time_ms.tolist(), d.high.tolist(), d.low.tolist(), d.close.tolist(),
                        strict=True)) for s, d in data.items()}  # fmt: skip
    cursor = dict.fromkeys(rows, 0)
    compared = 0
    tripped: list[str] = []  # live: tripped stays tripped (nobody resumes in this stream)
    for t, state in res.states:
        new = {}
        for s, r in rows.items():  # what the feed has published by the close of bar t
            k = cursor[s]
            while cursor[s] < len(r) and r[cursor[s]][0] <= t:
                cursor[s] += 1
            new[s] = r[k : cursor[s]]
        grown = core.add_bars(new)
        # the live trip checks (PortfolioRisk._watch and _check_loss_streak), in its order
        found = core.equity_trips(state, t) + core.volatility_trips(grown)
        streak = core.loss_streak_trip([c for c in closed if c[0] <= t], -1)
        found += [streak] if streak is not None else []
        live_new = []
        for trip in found:
            if trip.name not in tripped and trip.name not in [n for n, _ in live_new]:
                live_new.append((trip.name, trip.values))
        tripped += [n for n, _ in live_new]
        assert live_new == bt_trips.get(t, []), (t, live_new, bt_trips.get(t))
        breakers = tuple(n for n in ALL_BREAKERS if n in tripped)
        for d in by_time.get(t, []):
            assert d.state.breakers == breakers, (t, d.state.breakers, breakers)
            live = core.decide(d.proposal, replace(d.state, breakers=breakers), t)
            assert live == d.decision, (t, d.proposal, live, d.decision)
            compared += 1
    rules = {d.decision.rule for d in res.decisions}
    assert compared == len(res.decisions) > 50
    assert res.trades, "the book traded"
    # the stream exercised the portfolio rules, not only approvals
    assert {"correlation", "max_open_positions"} & rules and len(rules) >= 4, rules
    # this stream trips breakers mid-way (loss streak / volatility), so decisions before and
    # after a trip are compared, and entries after it are refused by the breaker's rule
    assert res.breaker_trips, "no breaker tripped: the comparison would not cover them"
    assert any(r.startswith("breaker:") for r in rules), rules
    json_trips = res.summary(10_000.0)["breaker_trips"]
    assert [(x["time_ms"], x["breaker"]) for x in json_trips] == [
        (x.time_ms, x.name) for x in res.breaker_trips]  # fmt: skip


def test_cli_portfolio_backtest(_isolated_data_dir: object) -> None:
    import json

    from typer.testing import CliRunner

    from cluster.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["backtest", "--strategy", "liquidity_sweep", "--symbols", "BTC,ETH",
                              "--portfolio", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["symbols"] == ["BTC", "ETH"] and out["signals"] == sum(
        out["decisions_by_rule"].values())  # fmt: skip
    assert out["fees_paid"] > 0 and out["funding_paid"] != 0  # costs on by default
    assert isinstance(out["breaker_trips"], list)  # the live breakers apply (and are listed)
    bad = runner.invoke(app, ["backtest", "--strategy", "liquidity_sweep", "--symbols", "BTC"])
    assert bad.exit_code == 2 and "--portfolio" in bad.output
    one = runner.invoke(app, ["backtest", "--strategy", "liquidity_sweep", "--symbols", "BTC",
                              "--portfolio"])  # fmt: skip
    assert one.exit_code == 2 and "two or more" in one.output
