"""Pure metric and sizing functions on hand-computed inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from strategies import metrics as m
from strategies import sizing as z


def test_periods_per_year_for_24_7_markets() -> None:
    assert m.periods_per_year("15m") == 365 * 24 * 4
    assert m.periods_per_year("1h") == 8760
    assert m.periods_per_year("1d") == 365
    assert m.timeframe_minutes("1w") == 10080
    for bad in ("15x", "0m", "", "m15"):
        with pytest.raises(ValueError, match="unknown timeframe"):
            m.timeframe_minutes(bad)


def test_sharpe_and_sortino_by_hand() -> None:
    r = np.array([0.01, -0.01, 0.02, 0.0])
    mean = 0.005
    sd = math.sqrt(((0.005**2) + (0.015**2) + (0.015**2) + (0.005**2)) / 3)
    assert m.sharpe(r, 100) == pytest.approx(mean / sd * 10)
    dd = math.sqrt(0.01**2 / 4)
    assert m.sortino(r, 100) == pytest.approx(mean / dd * 10)
    assert m.sharpe(np.array([0.01]), 100) == 0.0
    assert m.sharpe(np.zeros(5), 100) == 0.0
    assert m.sortino(np.array([0.01, 0.02]), 100) == 0.0
    assert m.sortino(np.array([]), 100) == 0.0


def test_cagr_and_calmar() -> None:
    assert m.cagr(100, 121, 2, 1) == pytest.approx(0.1)  # two years, +21 %
    assert m.cagr(100, 0, 10, 1) == -1.0
    assert m.cagr(100, 150, 0, 1) == 0.0
    assert m.cagr(100, 1e6, 1, 10_000) == math.inf
    with pytest.raises(ValueError, match="start equity"):
        m.cagr(0, 1, 1, 1)
    assert m.calmar(0.2, 0.1) == pytest.approx(2.0)
    assert m.calmar(0.2, 0.0) == 0.0


def test_max_drawdown_depth_and_duration() -> None:
    eq = np.array([100, 120, 90, 100, 130, 117, 117])
    dd, bars = m.max_drawdown(eq)
    assert dd == pytest.approx(0.25)  # 120 -> 90
    assert bars == 2  # bars 2, 3 under 120; bars 5, 6 under 130 are also 2
    assert m.max_drawdown(np.array([])) == (0.0, 0)
    assert m.bar_returns(np.array([1.0])).size == 0


def test_trade_stats() -> None:
    s = m.trade_stats(np.array([10.0, -5.0, 20.0, -5.0]))
    assert s["win_rate"] == 0.5 and s["profit_factor"] == pytest.approx(3.0)
    assert s["expectancy"] == pytest.approx(5.0)
    assert m.trade_stats(np.array([1.0]))["profit_factor"] == math.inf
    assert m.trade_stats(np.array([]))["profit_factor"] == 0.0


def test_summary_keys() -> None:
    out = m.summary(np.array([100.0, 110.0]), np.array([10.0]), initial_equity=100.0, ppy=365,
                    exposure_bars=1, fees=1.0, funding=-2.0)  # fmt: skip
    assert out["total_return"] == pytest.approx(0.1) and out["funding_paid"] == 2.0
    assert out["exposure"] == 0.5 and out["trade_count"] == 1


def test_sizing_modes() -> None:
    # risk: 1 % of 10,000 over a 2-point stop = 50 units; capped at 2x leverage = 200 units @ 100
    assert z.position_size(z.RISK, 10_000, 100, 98, 0.01, 0, 2.0, 0) == pytest.approx(50)
    assert z.position_size(z.RISK, 10_000, 100, 99.99, 0.01, 0, 2.0, 0) == pytest.approx(200)
    assert z.position_size(z.FRACTION, 10_000, 100, np.nan, 0, 0.5, 1.0, 0) == pytest.approx(50)
    assert z.position_size(z.ALL_IN, 10_000, 100, np.nan, 0, 0, 3.0, 0) == pytest.approx(300)
    assert z.position_size(z.ALL_IN, 10_000, 30, np.nan, 0, 0, 1.0, 1.0) == 333
    assert z.risk_size(10_000, 100, np.nan, 0.01) == 0.0
    assert z.risk_size(-1, 100, 99, 0.01) == 0.0
    assert z.fraction_size(0, 100, 1) == 0.0
    assert z.round_to_step(0.30000000000000004, 0.1) == pytest.approx(0.3)
    assert z.round_to_step(0.3, 0) == 0.3
