"""Performance metrics as pure functions of an equity curve and trade P&Ls.

Crypto trades 24/7, so the annualisation uses calendar periods: a 15m bar gives
365 x 24 x 4 = 35,040 periods per year (not 252 trading days).
"""

from __future__ import annotations

import math
import re

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
MINUTES_PER_YEAR = 365.0 * 24.0 * 60.0
_TF = re.compile(r"^(\d+)([mhdw])$")
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}


def timeframe_minutes(timeframe: str) -> int:
    """'15m' -> 15, '4h' -> 240, '1d' -> 1440; anything else raises ValueError."""
    m = _TF.match(timeframe.strip())
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"unknown timeframe {timeframe!r}; expected e.g. 1m, 15m, 1h, 4h, 1d")
    return int(m.group(1)) * _UNIT_MINUTES[m.group(2)]


def periods_per_year(timeframe: str) -> float:
    """Bars per calendar year for a market that never closes."""
    return MINUTES_PER_YEAR / timeframe_minutes(timeframe)


def bar_returns(equity: FloatArray) -> FloatArray:
    """Simple per-bar returns of an equity curve (length n - 1)."""
    eq = np.asarray(equity, dtype=np.float64)
    if eq.size < 2:
        return np.zeros(0)
    prev = eq[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(prev > 0, eq[1:] / prev - 1.0, 0.0)
    return r


def sharpe_from_moments(n: int, s1: float, s2: float, ppy: float) -> float:
    """Annualised Sharpe (risk-free 0) from count, sum and sum of squares of returns.

    Why moments: the grid engine accumulates them online instead of keeping curves."""
    if n < 2:
        return 0.0
    mean = s1 / n
    var = (s2 - n * mean * mean) / (n - 1)
    if var <= 1e-30:
        return 0.0
    return mean / math.sqrt(var) * math.sqrt(ppy)


def sortino_from_moments(n: int, s1: float, down2: float, ppy: float) -> float:
    """Annualised Sortino: mean over downside deviation sqrt(mean(min(r, 0)^2))."""
    if n < 1:
        return 0.0
    dd = math.sqrt(down2 / n)
    if dd <= 1e-15:
        return 0.0
    return (s1 / n) / dd * math.sqrt(ppy)


def sharpe(returns: FloatArray, ppy: float) -> float:
    r = np.asarray(returns, dtype=np.float64)
    return sharpe_from_moments(r.size, float(r.sum()), float((r * r).sum()), ppy)


def sortino(returns: FloatArray, ppy: float) -> float:
    r = np.asarray(returns, dtype=np.float64)
    d = np.minimum(r, 0.0)
    return sortino_from_moments(r.size, float(r.sum()), float((d * d).sum()), ppy)


def cagr(start_equity: float, end_equity: float, n_bars: int, ppy: float) -> float:
    """Compound annual growth over `n_bars` periods; -1 when the account is wiped out."""
    if start_equity <= 0:
        raise ValueError("start equity must be positive")
    if n_bars <= 0:
        return 0.0
    if end_equity <= 0:
        return -1.0
    # log space: a short, lucky span annualises to numbers beyond float range -> inf
    log_growth = math.log(end_equity / start_equity) * ppy / n_bars
    return math.inf if log_growth > 700 else math.expm1(log_growth)


def max_drawdown(equity: FloatArray) -> tuple[float, int]:
    """Largest peak-to-trough loss as a positive fraction, and the longest time under water
    (bars from a peak until equity is back at or above it, or to the end)."""
    eq = np.asarray(equity, dtype=np.float64)
    if eq.size == 0:
        return 0.0, 0
    peak = np.maximum.accumulate(eq)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, 1.0 - eq / peak, 0.0)
    pos = np.arange(eq.size)
    # index of the last bar at a peak, carried forward; bars since then are under water
    last_peak = np.maximum.accumulate(np.where(eq >= peak, pos, 0))
    return float(dd.max()), int((pos - last_peak).max())


def calmar(cagr_value: float, max_dd: float) -> float:
    return cagr_value / max_dd if max_dd > 0 else 0.0


def trade_stats(pnl: FloatArray) -> dict[str, float]:
    """Win rate, profit factor (inf when there is no loss) and expectancy per trade."""
    p = np.asarray(pnl, dtype=np.float64)
    n = p.size
    wins = p[p > 0]
    losses = p[p < 0]
    gross_win = float(wins.sum())
    gross_loss = float(-losses.sum())
    pf = gross_win / gross_loss if gross_loss > 0 else (math.inf if gross_win > 0 else 0.0)
    return {
        "win_rate": wins.size / n if n else 0.0,
        "profit_factor": pf,
        "expectancy": float(p.mean()) if n else 0.0,
    }


def summary(
    equity: FloatArray,
    pnl: FloatArray,
    *,
    initial_equity: float,
    ppy: float,
    exposure_bars: int,
    fees: float,
    funding: float,
) -> dict[str, float]:
    """All headline metrics of one backtest, as plain floats (JSON-ready)."""
    eq = np.asarray(equity, dtype=np.float64)
    n = eq.size
    end = float(eq[-1]) if n else initial_equity
    r = bar_returns(np.concatenate(([initial_equity], eq)))
    mdd, mdd_bars = max_drawdown(np.concatenate(([initial_equity], eq)))
    growth = cagr(initial_equity, end, n, ppy)
    out = {
        "total_return": end / initial_equity - 1.0,
        "cagr": growth,
        "sharpe": sharpe(r, ppy),
        "sortino": sortino(r, ppy),
        "max_drawdown": mdd,
        "max_drawdown_bars": float(mdd_bars),
        "calmar": calmar(growth, mdd),
        "exposure": exposure_bars / n if n else 0.0,
        "trade_count": float(np.asarray(pnl).size),
        "fees_paid": fees,
        "funding_paid": -funding,
        "final_equity": end,
    }
    out.update(trade_stats(pnl))
    return out
