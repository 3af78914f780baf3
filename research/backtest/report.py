"""Self-contained Plotly HTML report of one backtest.

Sections: candles with entry/exit markers (and optional overlays such as SMC zones), equity,
drawdown, a win/loss histogram of trade P&L and a monthly-returns heatmap. Overlays are plain
rectangles/lines passed in by the caller, so the report does not depend on the detectors.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from research.backtest.bars import Bars
from research.backtest.result import BacktestResult
from strategies.display import GREEN, RED, THEME, label, metric

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_CANDLES = 20_000  # beyond this a browser struggles; the report shows the last ones

CSS = """body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:0.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:4px 10px}
th{cursor:pointer;background:#f4f4f4}"""
# click a header to sort by it (numbers by their raw value in data-v), again to reverse
SORT_JS = """<script>function sortTable(th){const t=th.closest('table'),i=th.cellIndex,
rows=[...t.rows].slice(1),asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';
const v=r=>{const s=r.cells[i].dataset.v,n=parseFloat(s);return isNaN(n)?s:n};
rows.sort((a,b)=>{const x=v(a),y=v(b);return (x>y?1:x<y?-1:0)*(asc?1:-1)});
rows.forEach(r=>t.appendChild(r))}</script>"""


@dataclass(frozen=True)
class Overlay:
    """A rectangle (zone: order block, FVG, ...) or, when y0 == y1, a horizontal line."""

    start: pd.Timestamp
    end: pd.Timestamp
    y0: float
    y1: float
    color: str = "rgba(31, 119, 180, 0.2)"
    label: str = ""


def _price_figure(
    bars: Bars, result: BacktestResult, overlays: Sequence[Overlay], title: str
) -> go.Figure:
    first = max(0, len(bars) - MAX_CANDLES)
    idx = bars.index[first:]
    fig = make_subplots(
        rows=3, cols=1, shared_xaxes=True, row_heights=[0.6, 0.2, 0.2], vertical_spacing=0.03,
        subplot_titles=(title, "equity", "drawdown"),
    )  # fmt: skip
    fig.add_trace(
        go.Candlestick(
            x=idx, open=bars.open[first:], high=bars.high[first:], low=bars.low[first:],
            close=bars.close[first:], name="price",
        ),
        row=1, col=1,
    )  # fmt: skip
    t = result.trades[result.trades["entry_bar"] >= first]
    for side, symbol, color in (
        ("long", "triangle-up", "green"),
        ("short", "triangle-down", "red"),
    ):
        s = t[t["side"] == side]
        fig.add_trace(
            go.Scatter(
                x=s["entry_time"], y=s["entry_price"], mode="markers", name=f"{side} entry",
                marker={"symbol": symbol, "size": 10, "color": color},
            ),
            row=1, col=1,
        )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=t["exit_time"], y=t["exit_price"], mode="markers", name="exit",
            marker={"symbol": "x", "size": 8, "color": "black"}, text=t["exit_reason"],
        ),
        row=1, col=1,
    )  # fmt: skip
    for z in overlays:
        if z.y0 == z.y1:
            fig.add_shape(
                type="line", x0=z.start, x1=z.end, y0=z.y0, y1=z.y1, line={"color": z.color},
                row=1, col=1,
            )  # fmt: skip
        else:
            fig.add_shape(
                type="rect", x0=z.start, x1=z.end, y0=z.y0, y1=z.y1, fillcolor=z.color,
                line={"width": 0}, row=1, col=1,
            )  # fmt: skip
    eq = result.equity.iloc[first:]
    fig.add_trace(go.Scatter(x=eq.index, y=eq.to_numpy(), name="equity"), row=2, col=1)
    dd = result.drawdown.iloc[first:]
    fig.add_trace(
        go.Scatter(x=dd.index, y=dd.to_numpy(), name="drawdown", fill="tozeroy"), row=3, col=1
    )
    fig.update_layout(height=900, xaxis_rangeslider_visible=False)
    return fig


def _histogram(result: BacktestResult) -> go.Figure:
    pnl = result.trades["pnl"]
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=pnl[pnl > 0], name="wins", marker_color=GREEN))
    fig.add_trace(go.Histogram(x=pnl[pnl <= 0], name="losses", marker_color=RED))
    fig.update_layout(title="trade P&L", barmode="overlay", height=350)
    return fig


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Year x month table of returns from month-end equity (first month vs the first bar)."""
    month_end = equity.resample("ME").last().dropna()
    start = pd.Series([equity.iloc[0]], index=[month_end.index[0] - pd.offsets.MonthEnd(1)])
    rets = pd.concat([start, month_end]).pct_change().iloc[1:]
    when = pd.DatetimeIndex(rets.index)
    table = pd.DataFrame({"year": when.year, "month": when.month, "ret": rets.to_numpy()})
    return table.pivot(index="year", columns="month", values="ret").reindex(columns=range(1, 13))


def _heatmap(result: BacktestResult) -> go.Figure:
    table = monthly_returns(result.equity)
    z = table.to_numpy()
    text = np.where(np.isnan(z), "", np.char.mod("%.1f%%", np.nan_to_num(z) * 100))
    fig = go.Figure(
        go.Heatmap(
            z=z, x=[MONTHS[int(m) - 1] for m in table.columns],
            y=[str(y) for y in table.index], text=text, texttemplate="%{text}",
            colorscale="RdYlGn", zmid=0,
        )
    )  # fmt: skip
    fig.update_layout(title="monthly returns", height=300)
    return fig


def _metrics_table(result: BacktestResult) -> str:
    """Metrics formatted for people (``total_return -0.0596583`` reads ``-5.97%``)."""
    rows = "".join(
        f"<tr><td>{html.escape(label(k))}</td><td>{html.escape(metric(k, v))}</td></tr>"
        for k, v in result.metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    )
    return f"<table class='metrics'>{rows}</table>"


def _trades_table(result: BacktestResult) -> str:
    """The trade list, sortable by clicking a column header (a few lines of inline JS)."""
    t = result.trades
    if len(t) == 0:
        return "<p>no trades</p>"
    cols = [c for c in ("entry_time", "exit_time", "side", "entry_price", "exit_price", "size",
                        "pnl", "exit_reason") if c in t.columns]  # fmt: skip
    head = "".join(f"<th onclick='sortTable(this)'>{html.escape(label(c))}</th>" for c in cols)
    body = []
    for _, r in t[cols].iterrows():
        cells = []
        for c in cols:
            v = r[c]
            key = v.value if isinstance(v, pd.Timestamp) else v
            shown = metric(c, v) if c == "pnl" else (f"{v:,.2f}" if isinstance(v, float) else v)
            cells.append(f"<td data-v='{html.escape(str(key))}'>{html.escape(str(shown))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class='trades'><tr>{head}</tr>{''.join(body)}</table>{SORT_JS}"


def write_report(
    path: str | Path,
    bars: Bars,
    result: BacktestResult,
    *,
    title: str = "backtest",
    overlays: Sequence[Overlay] = (),
) -> Path:
    """Write one HTML file with plotly.js embedded (works offline)."""
    path = Path(path)
    if len(result.equity) != len(bars):
        raise ValueError("result and bars have different lengths")
    figs = [_price_figure(bars, result, overlays, title), _histogram(result), _heatmap(result)]
    for fig in figs:
        fig.update_layout(template=THEME)
    parts = [fig.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, fig in enumerate(figs)]
    note = ""
    if len(bars) > MAX_CANDLES:
        note = f"<p>candles: last {MAX_CANDLES} of {len(bars)} bars</p>"
    page = (
        f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{CSS}</style></head><body>"
        f"<h2>{html.escape(title)}</h2>{note}{_metrics_table(result)}{''.join(parts)}"
        f"<h3>Trades</h3>{_trades_table(result)}</body></html>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
