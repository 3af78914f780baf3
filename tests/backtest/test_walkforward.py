"""Walk-forward folds and the in-sample best's out-of-sample report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.backtest.bars import Bars
from research.backtest.config import BacktestConfig
from research.backtest.runner import run_grid
from research.validation.walkforward import (
    Fold,
    grid_evaluator,
    walk_forward,
    walk_forward_splits,
)
from strategies import sma_cross


def test_anchored_folds_grow_from_bar_zero_and_tile_the_end() -> None:
    folds = walk_forward_splits(1000, 4)
    assert [(f.is_start, f.is_stop, f.oos_start, f.oos_stop) for f in folds] == [
        (0, 200, 200, 400), (0, 400, 400, 600), (0, 600, 600, 800), (0, 800, 800, 1000),
    ]  # fmt: skip


def test_rolling_folds_keep_the_in_sample_length_and_respect_the_embargo() -> None:
    folds = walk_forward_splits(1003, 3, "rolling", oos_size=150, embargo=10)
    # OOS blocks end at bar 1003; IS ends 10 bars before each OOS start, 543 bars long
    assert [(f.is_start, f.is_stop, f.oos_start, f.oos_stop) for f in folds] == [
        (0, 543, 553, 703), (150, 693, 703, 853), (300, 843, 853, 1003),
    ]  # fmt: skip
    for f in folds:
        assert f.oos_start - f.is_stop == 10 and f.is_stop - f.is_start == 543
    short = walk_forward_splits(1003, 3, "rolling", oos_size=150, is_size=100)
    assert [(f.is_start, f.is_stop) for f in short] == [(453, 553), (603, 703), (753, 853)]


def test_no_fold_ever_trains_on_its_own_test_range() -> None:
    for mode in ("anchored", "rolling"):
        for n, k, e in ((97, 3, 0), (5000, 7, 13), (64, 1, 5)):
            for f in walk_forward_splits(n, k, mode, embargo=e):  # type: ignore[arg-type]
                assert 0 <= f.is_start < f.is_stop <= f.oos_start - e < f.oos_stop <= n


def test_bad_split_requests_are_named() -> None:
    with pytest.raises(ValueError, match="n_folds"):
        walk_forward_splits(100, 0)
    with pytest.raises(ValueError, match="no in-sample bars"):
        walk_forward_splits(100, 4, oos_size=25)
    with pytest.raises(ValueError, match="embargo"):
        walk_forward_splits(100, 2, embargo=-1)
    with pytest.raises(ValueError, match="is_size"):
        walk_forward_splits(100, 2, "rolling", is_size=500)
    with pytest.raises(ValueError, match="mode"):
        walk_forward_splits(100, 2, "expanding")  # type: ignore[arg-type]


def _table(scores: dict[tuple[int, int], list[float]]):  # type: ignore[no-untyped-def]
    def evaluate(start: int, stop: int) -> pd.DataFrame:
        return pd.DataFrame({"sharpe": scores[(start, stop)], "trades": [1.0] * 3})

    return evaluate


def test_the_in_sample_best_is_judged_out_of_sample() -> None:
    folds = [Fold(0, 0, 10, 10, 20), Fold(1, 0, 20, 20, 30)]
    scores = {
        (0, 10): [0.1, 0.9, 0.3], (10, 20): [0.5, -0.2, 0.1],  # fold 0: best 1 fails OOS
        (0, 20): [0.2, 0.1, 0.8], (20, 30): [0.0, 0.1, 0.4],  # fold 1: best 2 is best OOS
    }  # fmt: skip
    r = walk_forward(_table(scores), folds)
    assert [f.best for f in r.folds] == [1, 2]
    assert [f.oos_metrics["sharpe"] for f in r.folds] == [-0.2, 0.4]
    assert [f.survived for f in r.folds] == [False, True]
    assert [f.oos_rank for f in r.folds] == pytest.approx([1 / 3, 1.0])
    assert r.efficiency == pytest.approx(((-0.2 + 0.4) / 2) / ((0.9 + 0.8) / 2))
    assert r.survival_rate == 0.5 and r.n_trials == 6
    assert "does NOT survive" in r.verdict()
    assert list(r.frame()["oos_sharpe"]) == [-0.2, 0.4]


def test_walk_forward_rejects_inconsistent_evaluations() -> None:
    def bad(start: int, stop: int) -> pd.DataFrame:
        return pd.DataFrame({"sharpe": [1.0] * (2 if start == 0 else 3)})

    with pytest.raises(ValueError, match="same non-zero number"):
        walk_forward(bad, [Fold(0, 0, 10, 10, 20)])
    with pytest.raises(ValueError, match="no 'calmar' column"):
        walk_forward(_table({(0, 10): [1, 2, 3], (10, 20): [1, 2, 3]}),
                     [Fold(0, 0, 10, 10, 20)], objective="calmar")  # fmt: skip


def test_grid_evaluator_runs_each_range_flat_on_sliced_signals() -> None:
    rng = np.random.default_rng(1)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, 3000)))
    o = np.concatenate(([100.0], c[:-1]))
    b = Bars.from_arrays(o, np.maximum(o, c) * 1.001, np.minimum(o, c) * 0.999, c, timeframe="1h")
    fast, slow = np.array([5, 10, 20]), np.array([30, 60, 120])
    e, x = sma_cross.generate_grid(b, fast, slow)
    cfg = BacktestConfig(sizing="all_in")
    ev = grid_evaluator(b, {"entry": e, "exit_long": x}, cfg)
    part = ev(1000, 2000)
    sub = Bars.from_arrays(o[1000:2000], b.high[1000:2000], b.low[1000:2000], c[1000:2000],
                           timeframe="1h", ts=b.ts[1000:2000])  # fmt: skip
    want = run_grid(sub, {"entry": e[:, 1000:2000], "exit_long": x[:, 1000:2000]}, cfg)
    np.testing.assert_array_equal(part.to_numpy(), want.to_numpy())
    r = walk_forward(ev, walk_forward_splits(3000, 3))
    assert len(r.folds) == 3 and r.n_variants == 3
    with pytest.raises(ValueError, match="outside"):
        ev(2500, 3500)


def test_grid_returns_are_each_variants_equity_returns() -> None:
    from research.backtest.runner import grid_returns, run_backtest
    from strategies.metrics import bar_returns
    from strategies.overfitting import pbo_cscv
    from strategies.signals import Signals

    rng = np.random.default_rng(2)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, 2000)))
    o = np.concatenate(([100.0], c[:-1]))
    b = Bars.from_arrays(o, np.maximum(o, c) * 1.001, np.minimum(o, c) * 0.999, c, timeframe="1h")
    fast, slow = np.array([5, 10, 20, 8]), np.array([30, 60, 120, 50])
    e, x = sma_cross.generate_grid(b, fast, slow)
    cfg = BacktestConfig(sizing="all_in")
    m1 = grid_returns(b, {"entry": e, "exit_long": x}, cfg)
    m24 = grid_returns(b, {"entry": e, "exit_long": x}, cfg, every=24)
    assert m1.shape == (2000, 4) and m24.shape == (83, 4)
    for v in range(4):
        eq = run_backtest(b, Signals.build(2000, entry=e[v], exit_long=x[v]), cfg).equity
        np.testing.assert_array_equal(m1[:, v], bar_returns(np.r_[1e4, eq.to_numpy()]))
        # daily returns compound to the equity at the last sampled close
        assert np.prod(1 + m24[:, v]) == pytest.approx(eq.iloc[83 * 24 - 1] / 1e4, rel=1e-12)
    assert 0.0 <= pbo_cscv(m24, n_splits=4).pbo <= 1.0
    with pytest.raises(ValueError, match="every"):
        grid_returns(b, {"entry": e, "exit_long": x}, cfg, every=0)
