"""The performance charts, one theme, for the daily report and the dashboard.

Pure functions from plain values (equity points, closed trades, a results table) to Plotly
figures: the same inputs always give the same figure, and the tests compare the figure's data
with the store's. Live trading and sweep results use the same builders (equity, drawdown,
cumulative P&L, win/loss histogram, strategy comparison).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from actors.reports.daily import drawdown_curve
from actors.reports.fmt import THEME
from actors.state.ledger import ClosedTrade
from strategies.display import BLUE, GREEN, GREY, RED


def _t(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _themed(fig: go.Figure, title: str, height: int, **layout: object) -> go.Figure:
    return fig.update_layout(template=THEME, title=title, height=height, **layout)


def equity_figure(points: Sequence[tuple[int, float]], title: str = "Equity") -> go.Figure:
    x = [_t(t) for t, _ in points]
    y = [e for _, e in points]
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines", name="equity", line={"color": BLUE}))
    return _themed(fig, title, 320, yaxis_tickprefix="$")


def drawdown_figure(points: Sequence[tuple[int, float]], title: str = "Drawdown") -> go.Figure:
    x = [_t(t) for t, _ in points]
    dd = [d * 100 for d in drawdown_curve([e for _, e in points])]
    fig = go.Figure(go.Scatter(x=x, y=dd, fill="tozeroy", name="drawdown", line={"color": RED}))
    return _themed(fig, title, 260, yaxis_ticksuffix="%")


def cumulative_pnl_figure(trades: Sequence[ClosedTrade]) -> go.Figure:
    """Cumulative realised P&L (net of fees) at each trade's close."""
    x = [_t(t.closed_ms) for t in trades]
    y = np.cumsum([t.pnl for t in trades]).tolist()
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines+markers", name="cumulative P&L",
                               line={"color": BLUE, "shape": "hv"}))  # fmt: skip
    return _themed(fig, "Cumulative realised P&L", 300, yaxis_tickprefix="$")


def pnl_bars_figure(trades: Sequence[ClosedTrade]) -> go.Figure:
    pnl = [t.pnl for t in trades]
    fig = go.Figure(go.Bar(
        x=[f"{t.symbol} {t.side} {_t(t.closed_ms):%H:%M}" for t in trades], y=pnl,
        marker_color=[GREEN if p > 0 else RED for p in pnl], name="P&L",
    ))  # fmt: skip
    return _themed(fig, "P&L per closed trade", 300, yaxis_tickprefix="$")


def win_loss_histogram(values: Sequence[float], title: str = "Wins and losses") -> go.Figure:
    """Histogram of outcomes: wins (> 0) green, losses (<= 0) red."""
    arr = np.asarray(values, dtype=np.float64)
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=arr[arr > 0], name="wins", marker_color=GREEN))
    fig.add_trace(go.Histogram(x=arr[arr <= 0], name="losses", marker_color=RED))
    return _themed(fig, title, 300, barmode="overlay")


def strategy_comparison(pnl_by_strategy: Mapping[str, Sequence[float]]) -> go.Figure:
    """Total P&L per strategy, with its trade count and win rate in the hover text."""
    names = sorted(pnl_by_strategy)
    totals = [float(np.sum(pnl_by_strategy[n])) for n in names]
    text = [
        f"{len(pnl_by_strategy[n])} trades, win rate "
        f"{100 * np.mean(np.asarray(pnl_by_strategy[n]) > 0):.0f}%" if pnl_by_strategy[n]
        else "no trades"
        for n in names
    ]  # fmt: skip
    fig = go.Figure(go.Bar(x=names, y=totals, text=text, name="total P&L",
                           marker_color=[GREEN if v > 0 else RED for v in totals]))  # fmt: skip
    return _themed(fig, "Strategy comparison (total P&L)", 300, yaxis_tickprefix="$")


def pnl_by_strategy(
    trades: Sequence[ClosedTrade], strategy_of: Mapping[str, str]
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for t in trades:
        out.setdefault(strategy_of.get(t.trade_key, "unknown"), []).append(t.pnl)
    return out


# ---- sweep results (``fractal sweep``'s results.parquet) ----------------------------------------


def sweep_top(df: pd.DataFrame, n: int = 20, by: str = "sharpe") -> pd.DataFrame:
    """The ``n`` best variants by ``by`` (ties keep the table's order)."""
    if by not in df.columns:
        return df.head(n)
    return df.sort_values(by, ascending=False, kind="stable").head(n)


def sweep_comparison(df: pd.DataFrame, by: str = "sharpe", n: int = 20) -> go.Figure:
    """The best variants side by side (strategy comparison for a sweep)."""
    top = sweep_top(df, n, by)
    labels = [str(v)[:10] for v in top.get("variant_id", top.index)]
    y = top[by].astype(float).tolist() if by in top.columns else []
    fig = go.Figure(go.Bar(x=labels, y=y, marker_color=[GREEN if v > 0 else RED for v in y],
                           name=by))  # fmt: skip
    return _themed(fig, f"Top {len(top)} variants by {by}", 320, xaxis_title="variant")


def sweep_risk_return(df: pd.DataFrame) -> go.Figure:
    """Every variant: total return against max drawdown."""
    fig = go.Figure(go.Scatter(
        x=(df["max_drawdown"].astype(float) * 100).tolist(),
        y=(df["total_return"].astype(float) * 100).tolist(), mode="markers",
        marker={"color": GREY, "size": 6}, name="variants",
    ))  # fmt: skip
    return _themed(fig, "Variants: return vs max drawdown", 320, xaxis_ticksuffix="%",
                   yaxis_ticksuffix="%", xaxis_title="max drawdown", yaxis_title="total return")  # fmt: skip


def compounded_equity(period_returns: Sequence[float], start: float = 1.0) -> list[float]:
    """Equity from per-period returns, starting at ``start`` (the first point is ``start``)."""
    growth = np.concatenate(([1.0], 1.0 + np.asarray(period_returns, dtype=np.float64)))
    return (start * np.cumprod(growth)).tolist()


def period_curve_figures(values: Sequence[float], title: str) -> tuple[go.Figure, go.Figure]:
    """Equity and drawdown of a curve sampled per period (a sweep variant's compounded
    per-period returns: the periods are equal slices of the bars, not timestamps)."""
    x = list(range(len(values)))
    eq = go.Figure(go.Scatter(x=x, y=list(values), mode="lines", name="equity",
                              line={"color": BLUE}))  # fmt: skip
    dd = go.Figure(go.Scatter(x=x, y=[d * 100 for d in drawdown_curve(list(values))], fill="tozeroy",
                              name="drawdown", line={"color": RED}))  # fmt: skip
    return (_themed(eq, f"{title}: equity (start = 1)", 300, xaxis_title="period"),
            _themed(dd, f"{title}: drawdown", 240, yaxis_ticksuffix="%", xaxis_title="period"))  # fmt: skip


def runs_comparison(df: pd.DataFrame, by: str = "sharpe", n: int = 20) -> go.Figure:
    """Saved single backtests side by side (strategy comparison across runs), best first."""
    top = sweep_top(df, n, by)
    labels = [f"{r.strategy} {r.symbol} {r.timeframe} · {str(r.run_id)[9:15]}"
              for r in top.itertuples()]  # fmt: skip
    y = top[by].astype(float).tolist() if by in top.columns else []
    fig = go.Figure(go.Bar(x=labels, y=y, marker_color=[GREEN if v > 0 else RED for v in y],
                           name=by))  # fmt: skip
    return _themed(
        fig,
        f"Backtest runs by {by}",
        320,
        xaxis_title="run (strategy symbol timeframe · saved hhmmss)",
    )
