"""Fused sma_cross grid == the general path (generate_grid + run_grid), summary for summary."""

from __future__ import annotations

import numpy as np
import pytest

from research.backtest.bars import Bars
from research.backtest.config import BacktestConfig
from research.backtest.costs import CostModel
from research.backtest.funding import FundingAlignment
from research.backtest.runner import _inputs, run_backtest, run_grid
from research.backtest.sma_grid import run_sma_grid, simulate_pairs
from strategies import sma_cross
from strategies.signals import SignalError

FAST = np.array([2, 3, 5, 5, 10, 1, 7])
SLOW = np.array([9, 9, 20, 60, 60, 4, 300])


def _market(seed: int, n: int, vol: float = 0.004) -> Bars:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, vol, n)))
    o = np.concatenate(([100.0], c[:-1])) * np.exp(rng.normal(0, vol / 4, n))
    h = np.maximum(o, c) * (1 + np.abs(rng.normal(0, vol, n)))
    lo = np.minimum(o, c) * (1 - np.abs(rng.normal(0, vol, n)))
    return Bars.from_arrays(o, h, lo, c, timeframe="1h")


def _funding(seed: int, n: int) -> FundingAlignment:
    rates = np.random.default_rng(seed).normal(1e-4, 3e-4, n)
    rates[::3] = 0.0  # bars without a print
    return FundingAlignment(rates, n, 0, 3_600_000)


def _funding_4h(seed: int, n: int) -> FundingAlignment:
    """Prints inside the bars too (4h bars, hourly prints), both signs."""
    rng = np.random.default_rng(seed)
    inside = rng.normal(1e-4, 3e-4, (3, n))
    up = np.where(inside > 0, inside, 0.0).sum(axis=0)
    down = np.where(inside < 0, inside, 0.0).sum(axis=0)
    return FundingAlignment(rng.normal(1e-4, 3e-4, n), 4 * n, 0, 3_600_000, up, down)


CONFIGS = {
    "all_in_fees": BacktestConfig(sizing="all_in", costs=CostModel(taker_fee=5e-4)),
    "zero_cost": BacktestConfig(sizing="all_in", costs=CostModel.zero()),
    "atr_slippage": BacktestConfig(
        sizing="fraction", fraction=0.5, costs=CostModel(slippage_bps=3, slippage_atr=0.2)
    ),
    # 20x on a volatile walk: liquidations happen (asserted below)
    "leveraged": BacktestConfig(
        sizing="fraction", fraction=20, leverage=20, costs=CostModel(max_leverage=20)
    ),
    "lots_no_close": BacktestConfig(sizing="all_in", size_step=0.5, close_at_end=False),
    # BNB's tiers bind (10x to 3M of notional, 5x above): sizing cap and tiered liquidation
    "tiered": BacktestConfig(
        initial_cash=2e6,
        sizing="fraction",
        fraction=10,
        leverage=10,
        costs=CostModel.for_symbol("BNB"),
    ),  # fmt: skip
}


def _general(b: Bars, cfg: BacktestConfig | list[BacktestConfig], fund: FundingAlignment | None):
    e, x = sma_cross.generate_grid(b, FAST, SLOW)
    return run_grid(b, {"entry": e, "exit_long": x}, cfg, fund)


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize(("block", "chunks"), [(2048, None), (1, 2), (7, 3), (300, 1)])
def test_fused_equals_general_path_bit_for_bit(name: str, block: int, chunks: int | None) -> None:
    """Same trades, same summary stats: every metric equal exactly, across block boundaries
    (block=1 puts one at every bar) and however the variants are split into tasks."""
    b = _market(7, 3_000)
    fund = _funding(7, 3_000)
    cfg = CONFIGS[name]
    want = _general(b, cfg, fund)
    got = run_sma_grid(b, FAST, SLOW, cfg, fund, block=block, chunks=chunks)
    assert list(got.columns) == list(want.columns)
    np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
    assert want["trade_count"].min() > 0
    if name == "leveraged":
        assert want["liquidations"].sum() > 0
    if name == "tiered":  # the tiers bind: one flat 10x tier gives other results
        flat10 = cfg.model_copy(update={"costs": CostModel(max_leverage=10)})
        assert (_general(b, flat10, fund)["final_equity"] != want["final_equity"]).all()
    if name == "atr_slippage":
        assert (want["funding_paid"] != 0).all()


@pytest.mark.parametrize("name", ["all_in_fees", "leveraged"])
def test_fused_equals_general_path_with_prints_inside_bars(name: str) -> None:
    b = _market(5, 2_000)
    fund = _funding_4h(5, 2_000)
    want = _general(b, CONFIGS[name], fund)
    got = run_sma_grid(b, FAST, SLOW, CONFIGS[name], fund, block=300, chunks=2)
    np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
    at_open_only = _general(b, CONFIGS[name], FundingAlignment(fund.rates, 2_000, 0, 3_600_000))
    assert (want["funding_paid"] != at_open_only["funding_paid"]).all()


def test_fused_equals_single_runs_and_per_variant_configs() -> None:
    b = _market(11, 2_000)
    cfgs = [CONFIGS["all_in_fees"], CONFIGS["leveraged"]] * 3 + [CONFIGS["zero_cost"]]
    got = run_sma_grid(b, FAST, SLOW, cfgs, block=64)
    np.testing.assert_array_equal(got.to_numpy(), _general(b, cfgs, None).to_numpy())
    for v in (0, 4, 6):
        p = sma_cross.Params(fast=int(FAST[v]), slow=int(SLOW[v]))
        one = run_backtest(b, sma_cross.generate(b, p), cfgs[v]).metrics
        assert got.iloc[v]["final_equity"] == one["final_equity"]
        assert got.iloc[v]["trade_count"] == one["trade_count"]
        assert got.iloc[v]["sharpe"] == one["sharpe"]


@pytest.mark.parametrize("name", ["all_in_fees", "leveraged", "lots_no_close"])
@pytest.mark.parametrize(("block", "chunks"), [(2048, 1), (7, 3), (1, 2)])
def test_period_end_equity_equals_the_engine_equity_curve(
    name: str, block: int, chunks: int
) -> None:
    """The per-period output the sweep statistics read: each variant's equity at bar e - 1 for
    every period end e, bit-identical to run_backtest's per-bar equity there, whether an end
    falls inside a block, on a block boundary, at 0 (the starting cash), twice, or at n; and
    the summaries are unchanged by the cuts."""
    n = 1_500
    b = _market(3, n)
    fund = _funding(3, n)
    cfg = CONFIGS[name]
    ends = np.array([0, 1, 7, 7, 14, 100, 333, 334, 700, 1_023, 1_024, 1_400, n - 1, n])
    rates, slip_abs = _inputs(b, cfg, fund)
    arrays = (b.open, b.high, b.low, b.close, rates, slip_abs)
    cv = cfg.vector()[None, :]
    stats, eq = simulate_pairs(arrays, FAST, SLOW, cv, ends, block=block, chunks=chunks)
    plain, none = simulate_pairs(arrays, FAST, SLOW, cv, None, block=block, chunks=chunks)
    np.testing.assert_array_equal(stats, plain)
    assert eq.shape == (FAST.size, ends.size) and none.shape == (FAST.size, 0)
    for v in range(FAST.size):
        p = sma_cross.Params(fast=int(FAST[v]), slow=int(SLOW[v]))
        curve = run_backtest(b, sma_cross.generate(b, p), cfg, fund).equity.to_numpy()
        want = np.where(ends > 0, curve[np.maximum(ends - 1, 0)], cfg.initial_cash)
        np.testing.assert_array_equal(eq[v], want)
    assert len({tuple(r) for r in eq}) == FAST.size  # the variants' curves differ
    with pytest.raises(ValueError, match="period ends"):
        simulate_pairs(arrays, FAST, SLOW, cv, np.array([5, 3]))
    with pytest.raises(ValueError, match="period ends"):
        simulate_pairs(arrays, FAST, SLOW, cv, np.array([n + 1]))


def test_sma_block_by_block_is_bit_identical_to_sma() -> None:
    x = np.random.default_rng(0).lognormal(11, 0.1, 10_000)
    out = np.empty(10_000)
    state = np.zeros(2)
    for a in range(0, 10_000, 333):
        sma_cross.sma_into(x, 57, a, min(a + 333, 10_000), state, out[a:])
    np.testing.assert_array_equal(out, sma_cross.sma(x, 57))


def test_bad_input_is_named() -> None:
    b = _market(1, 200)
    with pytest.raises(SignalError, match="risk sizing"):
        run_sma_grid(b, [5], [20], BacktestConfig(sizing="risk"))
    with pytest.raises(ValueError, match="variant 1: fast=20, slow=20"):
        run_sma_grid(b, [5, 20], [20, 20])
    with pytest.raises(ValueError, match="variant 0: fast=0"):
        run_sma_grid(b, [0], [20])
    with pytest.raises(ValueError, match="same length"):
        run_sma_grid(b, [5, 6], [20])
    with pytest.raises(ValueError, match="integer"):
        run_sma_grid(b, [5.5], [20])
    with pytest.raises(ValueError, match="3 configs for 2 variants"):
        run_sma_grid(b, [5, 6], [20, 30], [BacktestConfig(sizing="all_in")] * 3)
    with pytest.raises(ValueError, match="block"):
        run_sma_grid(b, [5], [20], BacktestConfig(sizing="all_in"), block=0)
