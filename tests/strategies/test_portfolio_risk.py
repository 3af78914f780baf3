"""Portfolio rules: correlation gate, VaR (historical, parametric) with resizing, exposure caps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from strategies.portfolio_risk import (
    PortfolioLimits,
    correlation,
    correlation_rule,
    exposure_rule,
    historical_var,
    horizon_returns,
    parametric_var,
    portfolio_var,
    var_rule,
)

RNG = np.random.default_rng(7)
N = 600
BASE = RNG.normal(0, 0.01, N)
RETURNS = {
    "BTC": BASE,
    "ETH": 0.95 * BASE + 0.003 * RNG.normal(0, 1, N),  # rho ~ 0.95
    "DOGE": RNG.normal(0, 0.01, N),  # independent
}
LIM = PortfolioLimits(correlation_window=500)


def test_correlation_matches_numpy() -> None:
    rho = correlation(RETURNS["BTC"], RETURNS["ETH"], 500)
    assert rho == pytest.approx(np.corrcoef(BASE[-500:], RETURNS["ETH"][-500:])[0, 1], rel=1e-12)


def test_correlated_same_direction_is_rejected_hedge_and_independent_pass() -> None:
    r = correlation_rule("ETH", 1000.0, RETURNS, {"BTC": 2000.0}, LIM)
    assert r.rejected and "0.9" in r.detail
    assert not correlation_rule("ETH", -1000.0, RETURNS, {"BTC": 2000.0}, LIM).rejected
    assert not correlation_rule("DOGE", 1000.0, RETURNS, {"BTC": 2000.0}, LIM).rejected


def test_missing_or_short_history_fails_closed() -> None:
    assert correlation_rule("SOL", 1.0, RETURNS, {}, LIM).rejected
    short = {**RETURNS, "SOL": RETURNS["DOGE"][:100]}
    assert correlation_rule("SOL", 1.0, short, {"BTC": 1.0}, LIM).rejected
    gappy = {**RETURNS, "SOL": np.where(np.arange(N) == 550, np.nan, RETURNS["DOGE"])}
    assert correlation_rule("SOL", 1.0, gappy, {"BTC": 1.0}, LIM).rejected
    assert portfolio_var({"SOL": 1.0}, short, LIM) is None
    assert var_rule("SOL", 1.0, 1e4, {}, short, LIM).rejected


def test_historical_var_is_the_empirical_quantile() -> None:
    pnl = np.arange(-50.0, 50.0)  # 100 scenarios, 1 % worst = -50
    assert historical_var(pnl, 0.99) == 50.0
    assert historical_var(pnl, 0.95) == 46.0
    assert historical_var(np.ones(10), 0.99) == 0.0
    with pytest.raises(ValueError):
        historical_var(np.empty(0), 0.99)


def test_parametric_var_matches_monte_carlo() -> None:
    cov = np.array([[1e-4, 0.5e-4], [0.5e-4, 4e-4]])
    w = np.array([1000.0, -500.0])
    var = parametric_var(w, cov, 0.99, horizon=4)
    draws = np.random.default_rng(1).multivariate_normal([0, 0], cov * 4, 400_000) @ w
    assert var == pytest.approx(-np.quantile(draws, 0.01), rel=0.02)


def test_horizon_returns_compound() -> None:
    r = np.array([0.1, -0.1, 0.2])
    assert horizon_returns(r, 2) == pytest.approx([1.1 * 0.9 - 1, 0.9 * 1.2 - 1])


def test_var_rule_resizes_then_rejects() -> None:
    lim = PortfolioLimits(correlation_window=500, var_horizon_bars=1, var_limit_pct=1.0)
    equity = 10_000.0
    single = portfolio_var({"DOGE": 10_000.0}, RETURNS, lim)
    assert single is not None and single > 100.0  # 1x equity breaches a 1 % VaR limit
    r = var_rule("DOGE", 10_000.0, equity, {}, RETURNS, lim)
    assert 0 < r.allowed_notional < 10_000.0 and "resized" in r.detail
    book = portfolio_var({"DOGE": r.allowed_notional}, RETURNS, lim)
    assert book is not None and book <= 100.0
    tight = PortfolioLimits(correlation_window=500, var_horizon_bars=1, var_limit_pct=0.001)
    assert var_rule("DOGE", 10_000.0, equity, {}, RETURNS, tight).rejected


def test_exposure_caps_and_canary() -> None:
    lim = PortfolioLimits(max_symbol_exposure_pct=50, max_total_exposure_pct=100, max_leverage=3)
    assert exposure_rule("BTC", 4000.0, 10_000.0, {}, lim).allowed_notional == 4000.0
    r = exposure_rule("BTC", -8000.0, 10_000.0, {}, lim)
    assert r.rule == "symbol_exposure" and r.allowed_notional == pytest.approx(-5000.0)
    r = exposure_rule("ETH", 5000.0, 10_000.0, {"BTC": 4000.0, "SOL": -4000.0}, lim)
    assert r.rule == "total_exposure" and r.allowed_notional == pytest.approx(2000.0)
    canary = PortfolioLimits(max_position_usd=10.0)
    r = exposure_rule("BTC", 500.0, 10_000.0, {}, canary)
    assert r.rule == "max_position_usd" and r.allowed_notional == 10.0
    assert exposure_rule("BTC", 1.0, 0.0, {}, lim).rejected
    assert math.isclose(exposure_rule("BTC", 1.0, 10.0, {"BTC": 30.0}, lim).allowed_notional, 0)


def test_limits_out_of_range_are_named() -> None:
    with pytest.raises(ValidationError, match="max_correlation"):
        PortfolioLimits(max_correlation=1.5)
    with pytest.raises(ValidationError, match="var_method"):
        PortfolioLimits(var_method="monte")
