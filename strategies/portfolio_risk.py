"""Portfolio rules as pure functions: return correlation, Value-at-Risk, exposure and leverage.

Why pure: PortfolioRisk (live) and the portfolio backtest call the very same functions, so
research and live decide alike. Inputs are aligned per-bar return arrays (the caller builds them
from the data store) and positions as signed notionals in the quote currency. A missing or too
short history never approves anything: it fails closed with a reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

FloatArray = npt.NDArray[np.float64]


class PortfolioLimits(BaseModel):
    """The portfolio limits (configurable; out-of-range values are refused by name)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_correlation: float = Field(default=0.8, gt=0.0, le=1.0)
    correlation_window: int = Field(default=500, ge=20, le=100_000)  # bars
    var_confidence: float = Field(default=0.99, gt=0.5, lt=1.0)
    var_horizon_bars: int = Field(default=96, ge=1, le=100_000)  # 1 day of 15m bars
    var_limit_pct: float = Field(default=5.0, gt=0.0, le=100.0)  # of equity
    var_method: str = Field(default="historical", pattern="^(historical|parametric)$")
    max_symbol_exposure_pct: float = Field(default=100.0, gt=0.0, le=10_000.0)
    max_total_exposure_pct: float = Field(default=300.0, gt=0.0, le=10_000.0)
    max_leverage: float = Field(default=5.0, gt=0.0, le=100.0)
    max_position_usd: float | None = Field(default=None, gt=0.0)  # canary cap


@dataclass(frozen=True)
class RuleResult:
    """A rule's verdict: the signed notional it allows (|allowed| <= |asked|; 0 = rejected)."""

    rule: str
    allowed_notional: float
    detail: str

    @property
    def rejected(self) -> bool:
        return abs(self.allowed_notional) <= 0.0  # signed: shorts are negative


def _tail(r: FloatArray, window: int) -> FloatArray | None:
    r = np.asarray(r, dtype=np.float64)[-window:]
    if r.size < window or not np.all(np.isfinite(r)):
        return None
    return r


def correlation(a: FloatArray, b: FloatArray, window: int) -> float | None:
    """Pearson correlation of the last ``window`` returns; None when either history is short,
    has gaps (NaN) or is constant (correlation undefined)."""
    ta, tb = _tail(a, window), _tail(b, window)
    if ta is None or tb is None:
        return None
    sa, sb = ta.std(), tb.std()
    if sa <= 0 or sb <= 0:
        return None
    return float(np.mean((ta - ta.mean()) * (tb - tb.mean())) / (sa * sb))


def correlation_rule(
    symbol: str,
    notional: float,
    returns: Mapping[str, FloatArray],
    open_notional: Mapping[str, float],
    limits: PortfolioLimits,
) -> RuleResult:
    """Reject a new position whose return correlation with any open position exceeds the limit
    (same direction: a long BTC and a long ETH at 0.9 are one bet; a hedge is not rejected)."""
    if symbol not in returns:
        return RuleResult("correlation", 0.0, f"no return history for {symbol} (fail closed)")
    for other, other_notional in open_notional.items():
        if other == symbol or other_notional == 0:
            continue
        if other not in returns:
            return RuleResult("correlation", 0.0, f"no return history for {other} (fail closed)")
        rho = correlation(returns[symbol], returns[other], limits.correlation_window)
        if rho is None:
            return RuleResult(
                "correlation",
                0.0,
                f"{limits.correlation_window} clean bars of {symbol}/{other} needed (fail closed)",
            )
        same_bet = rho * math.copysign(1, notional) * math.copysign(1, other_notional)
        if same_bet > limits.max_correlation:
            return RuleResult(
                "correlation",
                0.0,
                f"{symbol} correlates {rho:.2f} with open {other} (limit {limits.max_correlation})",
            )
    return RuleResult("correlation", notional, "correlation within limit")


def historical_var(pnl: FloatArray, confidence: float) -> float:
    """Loss not exceeded with ``confidence`` by the empirical P&L distribution (a positive
    number; 0 when the distribution has no losses at that quantile)."""
    x = np.asarray(pnl, dtype=np.float64)
    if x.size == 0:
        raise ValueError("historical VaR needs at least one P&L scenario")
    return max(0.0, -float(np.quantile(x, 1.0 - confidence, method="lower")))


def parametric_var(weights: FloatArray, cov: FloatArray, confidence: float, horizon: int) -> float:
    """Gaussian VaR of notionals ``weights`` with per-bar return covariance ``cov``, scaled by
    sqrt(horizon) (zero-mean returns: conservative for short horizons)."""
    w = np.asarray(weights, dtype=np.float64)
    sigma = math.sqrt(max(0.0, float(w @ np.asarray(cov) @ w)))
    return NormalDist().inv_cdf(confidence) * sigma * math.sqrt(horizon)


def horizon_returns(r: FloatArray, horizon: int) -> FloatArray:
    """Overlapping ``horizon``-bar compounded returns from per-bar returns."""
    growth = np.cumprod(1.0 + np.asarray(r, dtype=np.float64))
    growth = np.concatenate([[1.0], growth])
    return growth[horizon:] / growth[:-horizon] - 1.0


def portfolio_var(
    notional: Mapping[str, float],
    returns: Mapping[str, FloatArray],
    limits: PortfolioLimits,
) -> float | None:
    """VaR of the whole book over the horizon (quote currency), or None if any history is
    missing or shorter than the correlation window (the caller fails closed)."""
    names = [s for s, n in notional.items() if n != 0]
    if not names:
        return 0.0
    window = limits.correlation_window
    tails = [_tail(returns.get(s, np.empty(0)), window) for s in names]
    if any(t is None for t in tails):
        return None
    mat = np.vstack([t for t in tails if t is not None])
    w = np.array([notional[s] for s in names])
    if limits.var_method == "parametric":
        return parametric_var(w, np.atleast_2d(np.cov(mat)), limits.var_confidence,
                              limits.var_horizon_bars)  # fmt: skip
    h = min(limits.var_horizon_bars, window - 1)
    scen = np.vstack([horizon_returns(row, h) for row in mat])
    return historical_var(w @ scen, limits.var_confidence)


def var_rule(
    symbol: str,
    notional: float,
    equity: float,
    open_notional: Mapping[str, float],
    returns: Mapping[str, FloatArray],
    limits: PortfolioLimits,
) -> RuleResult:
    """Allow the largest part of ``notional`` (halving down to 1/16) that keeps the portfolio VaR
    within ``var_limit_pct`` of equity; reject if even 1/16 breaches or history is missing."""
    limit = equity * limits.var_limit_pct / 100.0
    for k in range(5):
        size = notional / (2**k)
        book = dict(open_notional)
        book[symbol] = book.get(symbol, 0.0) + size
        var = portfolio_var(book, returns, limits)
        if var is None:
            return RuleResult("var", 0.0, "return history missing for VaR (fail closed)")
        if var <= limit:
            detail = "VaR within limit" if k == 0 else f"resized to 1/{2**k} for VaR"
            return RuleResult("var", size, f"{detail}: {var:.2f} <= {limit:.2f}")
    return RuleResult("var", 0.0, f"VaR above {limits.var_limit_pct}% of equity at any size")


def exposure_rule(
    symbol: str,
    notional: float,
    equity: float,
    open_notional: Mapping[str, float],
    limits: PortfolioLimits,
) -> RuleResult:
    """Cap the position by the canary notional cap, the per-symbol and total exposure caps and
    the leverage cap (all of equity); returns the largest allowed notional (same sign)."""
    if equity <= 0:
        return RuleResult("exposure", 0.0, "equity is not positive")
    want = abs(notional)
    held = abs(open_notional.get(symbol, 0.0))
    total = sum(abs(v) for v in open_notional.values())
    caps = {
        "symbol_exposure": equity * limits.max_symbol_exposure_pct / 100.0 - held,
        "total_exposure": equity * limits.max_total_exposure_pct / 100.0 - total,
        "leverage": equity * limits.max_leverage - total,
    }
    if limits.max_position_usd is not None:
        caps["max_position_usd"] = limits.max_position_usd - held
    rule, room = min(caps.items(), key=lambda kv: kv[1])
    if room >= want:
        return RuleResult("exposure", notional, "within exposure caps")
    allowed = max(0.0, room)
    return RuleResult(
        rule, math.copysign(allowed, notional), f"{rule} cap leaves {allowed:.2f} of {want:.2f}"
    )
