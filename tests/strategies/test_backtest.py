"""The strategies through the backtest engine: real trades with stops on the right side, and no
edge on a driftless random walk (docs/smc.md §5: look-ahead would show up as PF >> 1)."""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from research.backtest.bars import Bars
from research.backtest.config import BacktestConfig
from research.backtest.costs import CostModel
from research.backtest.runner import run_backtest
from strategies import bos_orderblock as bo
from strategies import liquidity_sweep as ls
from strategies.signals import LIMIT, MARKET, Signals
from strategies.smc.pipeline import detect
from tests.bench.synthetic import random_walk
from tests.strategies.helpers import BTC_15M, shipped

WALK_BARS = 100_000


@pytest.mark.parametrize("module", [ls, bo], ids=lambda m: m.NAME)
def test_real_data_trades_with_stops_and_targets_on_the_right_side(module: ModuleType) -> None:
    if not BTC_15M.exists():
        pytest.skip(f"shipped data missing: {BTC_15M}")
    df = shipped()
    sig = module.generate(df)
    res = run_backtest(Bars.from_frame(df, "15m"), sig, BacktestConfig())
    trades = res.trades
    assert len(trades) >= 50
    for t in trades.itertuples():
        s = t.entry_bar - 1  # every entry order rests one bar (entry_ttl = 1)
        side = 1 if t.side == "long" else -1
        assert sig.entry[s] == side
        stop, target = sig.stop[s], sig.target[s]
        assert (t.entry_price - stop) * side > 0, t
        assert (target - t.entry_price) * side > 0, t
        if sig.entry_kind[s] == LIMIT:  # filled at the limit, or better at a gap open
            assert (sig.entry_price[s] - t.entry_price) * side >= 0
        else:
            assert sig.entry_kind[s] == MARKET
        if t.exit_reason == "stop_loss":
            assert (stop - t.exit_price) * side >= 0  # at the stop or worse, never better
        if t.exit_reason == "take_profit":
            assert t.exit_price == pytest.approx(target) or (t.exit_price - target) * side > 0
    reasons = set(trades.exit_reason)
    assert {"stop_loss", "take_profit"} <= reasons


@cache
def _walk() -> tuple[pd.DataFrame, pd.DataFrame, Bars]:
    w = random_walk(WALK_BARS)
    idx = pd.DatetimeIndex(pd.to_datetime(w["timestamp"], unit="ms", utc=True), name="time")
    df = pd.DataFrame({k: w[k] for k in ("open", "high", "low", "close", "volume")}, index=idx)
    bars = Bars.from_arrays(
        w["open"], w["high"], w["low"], w["close"], timeframe="1m", ts=w["timestamp"]
    )
    return df, detect(df), bars


def _pf(sig: Signals) -> tuple[float, int]:
    _, _, bars = _walk()
    m = run_backtest(bars, sig, BacktestConfig(costs=CostModel.zero())).metrics
    return m["profit_factor"], int(m["trade_count"])


WALK_CASES: list[tuple[ModuleType, dict[str, Any]]] = [
    (ls, {}),
    (ls, {"target_mode": "liquidity"}),
    (bo, {}),
    (bo, {"target_mode": "structure", "entry_level": "mid"}),
]


@pytest.mark.parametrize(
    ("module", "kw"), WALK_CASES, ids=[f"{m.NAME}-{i}" for i, (m, _) in enumerate(WALK_CASES)]
)
def test_no_edge_on_the_seed_42_random_walk(module: ModuleType, kw: dict[str, Any]) -> None:
    df, det, _ = _walk()
    pf, n = _pf(module.generate(df, module.Params(**kw), detections=det))
    # ~1.5k-2.5k trades: the sampling error of PF is ~4 %, so this band is several sigma wide
    assert n >= 1000
    assert 0.85 <= pf <= 1.18, (pf, n)


def test_negative_control_one_bar_of_look_ahead_shows_an_edge() -> None:
    """Acting on row t+1 at bar t (one bar early) must show up; otherwise the test above could
    not catch look-ahead."""
    df, det, _ = _walk()
    sig = bo.generate(df, detections=det)
    early = {f: np.roll(getattr(sig, f), -1) for f in ("entry", "entry_kind", "entry_price")}
    early |= {f: np.roll(getattr(sig, f), -1) for f in ("stop", "target")}
    early["entry"][-1] = 0
    pf, n = _pf(Signals.build(len(sig), **early))
    assert n >= 500 and pf > 1.5, (pf, n)
