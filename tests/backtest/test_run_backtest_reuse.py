"""run_backtest's per-call savings keep its answers: lazy curves, validation reuse."""

from __future__ import annotations

import numpy as np
import pytest

from research.backtest import engine as k
from research.backtest.bars import Bars
from research.backtest.config import BacktestConfig
from research.backtest.result import BacktestResult
from research.backtest.runner import run_backtest
from strategies import sma_cross
from strategies.signals import SignalError, Signals


def _bars(seed: int, n: int) -> Bars:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    o = np.concatenate(([100.0], c[:-1]))
    return Bars.from_arrays(o, np.maximum(o, c) * 1.002, np.minimum(o, c) * 0.998, c)


def test_lazy_curves_equal_the_recorded_run_and_final_equity() -> None:
    b = _bars(3, 3_000)
    sig = sma_cross.generate(b, sma_cross.Params(fast=5, slow=30))
    cfg = BacktestConfig(sizing="all_in")
    r = run_backtest(b, sig, cfg)
    rec = np.empty((k.N_REC, len(b)))
    z = np.zeros(len(b))
    k.simulate(
        b.open, b.high, b.low, b.close, z.reshape(1, -1), z, sig.entry, sig.entry_kind, sig.entry_price,
        sig.stop, sig.target, sig.trail, sig.exit_long, sig.exit_short, cfg.vector(),
        np.zeros(k.N_STATS), np.zeros((0, k.N_TRADE_COLS)), rec,
    )  # fmt: skip
    np.testing.assert_array_equal(r.equity.to_numpy(), rec[k.R_EQUITY])
    np.testing.assert_array_equal(r.cash.to_numpy(), rec[k.R_CASH])
    np.testing.assert_array_equal(r.position.to_numpy(), rec[k.R_POSITION])
    assert r.equity.iloc[-1] == r.metrics["final_equity"]
    assert r.equity is r.equity  # built once
    assert (r.equity.index == b.index).all()
    with pytest.raises(ValueError, match="without per-bar curves"):
        _ = BacktestResult(trades=r.trades, metrics=r.metrics).equity


def test_validation_is_redone_for_another_close_array() -> None:
    """A long market entry with a stop at 99: fine below closes of 100, wrong above 98."""
    n = 5
    sig = Signals.build(n, entry=[0, 1, 0, 0, 0], stop=[np.nan, 99.0, np.nan, np.nan, np.nan])
    ok = Bars.from_arrays(*([np.full(n, 100.0)] * 4))
    low = Bars.from_arrays(*([np.full(n, 98.0)] * 4))
    cfg = BacktestConfig(sizing="fraction", fraction=1.0)
    run_backtest(ok, sig, cfg)
    run_backtest(ok, sig, cfg)  # reused check
    with pytest.raises(SignalError, match="stop on the wrong side at bar 1"):
        run_backtest(low, sig, cfg)
