"""A sweep batch (one Ray task's work) without Ray: sma_cross variants go through the fused grid
kernel, and what comes back (stats rows, per-period returns) equals one `run_backtest` per
variant, the function behind `fractal backtest`."""

from __future__ import annotations

import numpy as np
import pytest

from research.backtest.bars import Bars
from research.backtest.config import BacktestConfig
from research.backtest.costs import CostModel
from research.backtest.funding import FundingAlignment
from research.backtest.runner import metrics_from_stats, run_backtest
from research.sweep import batch
from research.sweep.dataset import build
from strategies import sma_cross

N = 4_000
PAIRS = [(2, 9), (3, 9), (5, 20), (5, 60), (10, 60), (1, 4), (7, 300), (20, 41)]
CONFIGS = {
    "all_in_fees_slippage": BacktestConfig(
        sizing="all_in", costs=CostModel(taker_fee=5e-4, slippage_bps=2)
    ),
    "leveraged": BacktestConfig(
        sizing="fraction", fraction=20, leverage=20, costs=CostModel(max_leverage=20)
    ),
    "no_close_at_end": BacktestConfig(sizing="all_in", close_at_end=False),
}


def _candles(seed: int, n: int) -> tuple[Bars, object]:
    import pandas as pd

    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    o = np.concatenate(([100.0], c[:-1])) * np.exp(rng.normal(0, 0.001, n))
    h = np.maximum(o, c) * (1 + np.abs(rng.normal(0, 0.004, n)))
    lo = np.minimum(o, c) * (1 - np.abs(rng.normal(0, 0.004, n)))
    ts = 1_704_067_200_000 + 3_600_000 * np.arange(n, dtype=np.int64)
    frame = pd.DataFrame({"timestamp": ts, "open": o, "high": h, "low": lo, "close": c,
                          "volume": rng.lognormal(3, 1, n)})  # fmt: skip
    return Bars.from_frame(frame, "1h"), frame


@pytest.mark.parametrize("name", list(CONFIGS))
def test_sma_batch_in_the_fused_kernel_equals_run_backtest_per_variant(name: str) -> None:
    cfg = CONFIGS[name]
    bars, frame = _candles(17, N)
    rates = np.random.default_rng(17).normal(1e-4, 3e-4, N)
    rates[::2] = 0.0
    fund = FundingAlignment(rates, N, 0, 3_600_000)
    ds = build(frame, bars, fund, cfg, "BTC", "walk")  # type: ignore[arg-type]
    periods = batch.periods_for(N)
    params = [{"fast": f, "slow": s} for f, s in PAIRS]
    out = batch.evaluate(batch.Job(sma_cross.NAME, params, cfg, periods), ds.arrays, None)
    assert out["stats"].shape == (len(PAIRS), len(out["stats"][0]))
    assert out["period_returns"].shape == (len(PAIRS), periods)
    ends = batch.period_edges(N, periods)[1:]
    for v, p in enumerate(params):
        ref = run_backtest(bars, sma_cross.generate(bars, sma_cross.Params(**p)), cfg, fund)
        got = metrics_from_stats(out["stats"][v], cfg.initial_cash, N, float(ds.arrays["ppy"]))
        assert got["trade_count"] == ref.metrics["trade_count"] > 0
        assert got["total_return"] == pytest.approx(ref.metrics["total_return"], rel=1e-9)
        for key in ("sharpe", "max_drawdown", "fees_paid", "funding_paid"):
            assert got[key] == pytest.approx(ref.metrics[key], rel=1e-9, abs=1e-12), key
        eq = ref.equity.to_numpy()
        end = eq[ends - 1]
        want = end / np.concatenate(([cfg.initial_cash], end[:-1])) - 1.0
        np.testing.assert_allclose(out["period_returns"][v], want, rtol=1e-12, atol=1e-15)
        assert (1 + out["period_returns"][v]).prod() == pytest.approx(
            1 + ref.metrics["total_return"], rel=1e-9
        )


def test_fused_and_engine_routes_agree_bit_for_bit() -> None:
    """The two routes of batch.evaluate on the same job: identical stats and period-end equity
    (the engine route is what every non-sma strategy, and sma_cross with risk sizing, takes)."""
    cfg = CONFIGS["all_in_fees_slippage"]
    bars, frame = _candles(5, N)
    ds = build(frame, bars, None, cfg, "ETH", "walk")  # type: ignore[arg-type]
    job = batch.Job(sma_cross.NAME, [{"fast": f, "slow": s} for f, s in PAIRS], cfg, 64)
    ends = batch.period_edges(N, 64)[1:]
    config = cfg.for_market(None, "ETH")
    fused = batch._sma_fused(sma_cross, ds.arrays, job, config.vector(), ends)
    engine = batch._engine(sma_cross, ds.arrays, None, job, config, ends)
    np.testing.assert_array_equal(fused[0], engine[0])
    np.testing.assert_array_equal(fused[1], engine[1])


def test_risk_sizing_still_fails_as_the_backtest_does() -> None:
    cfg = BacktestConfig(sizing="risk")
    bars, frame = _candles(2, 1_000)
    ds = build(frame, bars, None, cfg, "BTC", "walk")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="risk sizing needs a stop"):
        batch.evaluate(batch.Job(sma_cross.NAME, [{"fast": 5, "slow": 20}], cfg, 16), ds.arrays,
                       None)  # fmt: skip
