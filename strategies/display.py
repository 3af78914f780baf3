"""How numbers and charts look to people: one set of formatters and one Plotly theme.

Why here: the backtest HTML report (``research``), the daily report and the dashboard views
(``actors``) must share one look, and ``strategies`` is the only package both may import.
Everything is pure (no Plotly import: the theme is a plain dict that Plotly accepts as a
layout template, ``fig.update_layout(template=THEME)``).
"""

from __future__ import annotations

import math

GREEN, RED, BLUE, GREY = "#1a9850", "#d73027", "#2c7fb8", "#888888"
THEME: dict[str, object] = {
    "layout": {
        "font": {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 13,
                 "color": "#222"},
        "colorway": [BLUE, "#ff7f0e", GREEN, RED, "#9467bd", "#8c564b", "#e377c2", GREY],
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "margin": {"l": 60, "r": 20, "t": 50, "b": 40},
        "hovermode": "x unified",
        "xaxis": {"gridcolor": "#eee", "zerolinecolor": "#ccc"},
        "yaxis": {"gridcolor": "#eee", "zerolinecolor": "#ccc"},
        "legend": {"orientation": "h", "y": -0.15},
    }
}  # fmt: skip


def _ok(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def money(x: float | None) -> str:
    """``$1,234.56`` / ``-$12.00``; ``n/a`` for unknown."""
    if x is None or not math.isfinite(x):
        return "n/a"
    sign = "-" if x < 0 else ""
    return f"{sign}${abs(x):,.2f}"


def signed_money(x: float | None) -> str:
    """``+$1.50`` / ``-$1.50`` / ``$0.00``."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return ("+" if x > 0 else "") + money(x)


def pct(x: float | None, digits: int = 1) -> str:
    """A fraction as a percent: ``0.1234`` -> ``12.3%``."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x * 100:.{digits}f}%"


def num(x: float | None, digits: int = 2) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:,.{digits}f}"


def duration(ms: float | None) -> str:
    """``3d 4h``, ``2h 05m``, ``4m 10s``, ``12s``."""
    if ms is None or not math.isfinite(ms) or ms < 0:
        return "n/a"
    s = int(ms // 1000)
    d, rem = divmod(s, 86_400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m:02d}m"
    if m:
        return f"{m}m {sec:02d}s"
    return f"{sec}s"


# metric name -> how it is shown (names of strategies.metrics.summary and the sweep table)
PERCENT_METRICS = frozenset({"total_return", "cagr", "max_drawdown", "win_rate", "return_pct",
                             "share_profitable", "exposure", "best_total_return"})  # fmt: skip
MONEY_METRICS = frozenset({"fees_paid", "funding_paid", "total_pnl", "pnl", "fees", "funding",
                           "final_equity", "start_equity", "avg_win", "avg_loss",
                           "realized_pnl", "unrealized_pnl"})  # fmt: skip
COUNT_METRICS = frozenset({"trade_count", "trades", "wins", "losses", "bars"})
DURATION_MS_METRICS = frozenset({"avg_hold_ms", "held_ms"})


def metric(name: str, value: object) -> str:
    """One metric, formatted by what it measures: ``total_return -0.0596583`` -> ``-5.97%``."""
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    x = float(value)
    if name in PERCENT_METRICS:
        return pct(x, 2)
    if name in MONEY_METRICS:
        return money(x)
    if name in COUNT_METRICS:
        return f"{int(x):,d}" if _ok(x) else "n/a"
    if name in DURATION_MS_METRICS:
        return duration(x)
    return num(x)


def label(name: str) -> str:
    """``max_drawdown`` -> ``Max drawdown``; the common ratios keep their names."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]
