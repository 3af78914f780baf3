"""Interactive Plotly chart of detected SMC structure (candles + swings, BOS/CHoCH, zones, levels).

Everything drawn comes from ``strategies.smc.detect`` output, i.e. what was known at each bar:
a BOS line runs from the broken pivot to the bar that broke it, a zone box from the bar it
refers to until the bar its lifecycle ended (or the right edge while still active).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from research.charts.smc_overlays import zone_runs

BULL, BEAR = "#26a69a", "#ef5350"
BULL_FILL, BEAR_FILL = "rgba(38,166,154,0.18)", "rgba(239,83,80,0.18)"


def _visible(rows: Iterable[int], start: int) -> list[int]:
    return [int(r) for r in rows if r >= start]


def add_swings(
    fig: go.Figure,
    df: pd.DataFrame,
    det: pd.DataFrame,
    start: int,
    prefix: str,
    size: int,
    name: str,
) -> None:
    """Markers at each pivot bar (placed on the pivot, labelled with its confirmation lag)."""
    for side, col, symbol, color in (
        ("high", "swing_high", "triangle-down", BEAR),
        ("low", "swing_low", "triangle-up", BULL),
    ):
        rows = np.flatnonzero(det[prefix + col].to_numpy() == 1)
        refs = det[prefix + col + "_ref"].to_numpy()[rows]
        keep = refs >= start
        if not keep.any():
            continue
        refs, rows = refs[keep], rows[keep]
        level = det[prefix + col + "_level"].to_numpy()[rows]
        fig.add_trace(
            go.Scatter(
                x=df.index[refs],
                y=level,
                mode="markers",
                name=f"{name} {side}s",
                marker={"symbol": symbol, "size": size, "color": color},
                customdata=df.index[rows].astype(str),
                hovertemplate=f"{name} {side} %{{y}}<br>known at %{{customdata}}<extra></extra>",
            )
        )


def add_structure(
    fig: go.Figure,
    df: pd.DataFrame,
    det: pd.DataFrame,
    start: int,
    scale: str,
    width: float,
    dash: str,
) -> None:
    """BOS/CHoCH: a horizontal segment from the broken pivot to the breaking bar."""
    for side, color in (("bull", BULL), ("bear", BEAR)):
        kind_col = f"structure_{scale}_{side}_kind"
        if kind_col not in det:
            continue
        kinds = det[kind_col].to_numpy()
        refs = det[f"structure_{scale}_{side}_ref"].to_numpy()
        levels = det[f"structure_{scale}_{side}_level"].to_numpy()
        xs: list[object] = []
        ys: list[float] = []
        labels_x, labels_y, labels = [], [], []
        for row in _visible(np.flatnonzero(kinds != 0), start):
            ref = int(refs[row])
            level = float(levels[row])
            xs += [df.index[max(ref, start)], df.index[row], None]
            ys += [level, level, np.nan]
            labels_x.append(df.index[row])
            labels_y.append(level)
            labels.append(
                ("BOS" if kinds[row] == 1 else "CHoCH") + ("" if scale == "swing" else "ᵢ")
            )
        if xs:
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    name=f"{scale} {side} BOS/CHoCH",
                    line={"color": color, "width": width, "dash": dash},
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=labels_x,
                    y=labels_y,
                    mode="text",
                    text=labels,
                    textposition="top left",
                    showlegend=False,
                    textfont={"color": color, "size": 9},
                )
            )


def add_boxes(
    fig: go.Figure, df: pd.DataFrame, boxes: list[tuple[int, int, float, float, bool]], name: str
) -> None:
    """Zone rectangles ``(first_row, last_row, bottom, top, bullish)`` as one filled trace each side."""
    for bullish in (True, False):
        xs: list[object] = []
        ys: list[float] = []
        for a, b, bottom, top, bull in boxes:
            if bull != bullish:
                continue
            x0, x1 = df.index[a], df.index[b]
            xs += [x0, x1, x1, x0, x0, None]
            ys += [bottom, bottom, top, top, bottom, np.nan]
        if xs:
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    fill="toself",
                    mode="lines",
                    name=f"{name} {'bull' if bullish else 'bear'}",
                    line={"width": 0.5, "color": BULL if bullish else BEAR},
                    fillcolor=BULL_FILL if bullish else BEAR_FILL,
                    hoverinfo="skip",
                )
            )


def add_levels(
    fig: go.Figure, df: pd.DataFrame, det: pd.DataFrame, start: int, columns: dict[str, str]
) -> None:
    """Step lines for per-bar levels (previous day high/low, liquidity pools …)."""
    for col, color in columns.items():
        if col in det:  # every detect() frame has them; a frame from elsewhere may not
            fig.add_trace(
                go.Scatter(
                    x=df.index[start:],
                    y=det[col].iloc[start:],
                    mode="lines",
                    name=col,
                    line={"color": color, "width": 1, "dash": "dot", "shape": "hv"},
                )
            )


def candle_figure(view: pd.DataFrame) -> go.Figure:
    """A figure holding just the candles of ``view``; the price axis is fitted to the candles
    (a far liquidity level must not squash them — it is drawn, just off-screen until zoomed)."""
    fig = go.Figure(
        go.Candlestick(
            x=view.index,
            open=view["open"],
            high=view["high"],
            low=view["low"],
            close=view["close"],
            name="price",
            increasing_line_color=BULL,
            decreasing_line_color=BEAR,
        )
    )
    lo, hi = float(view["low"].min()), float(view["high"].max())
    pad = 0.08 * (hi - lo) if hi > lo else 0.01 * abs(hi) or 1.0
    fig.update_yaxes(range=[lo - pad, hi + pad])
    return fig


def build_figure(
    df: pd.DataFrame,
    det: pd.DataFrame,
    title: str,
    last_bars: int = 1500,
    extra: list | None = None,
) -> go.Figure:
    """Candles of the last ``last_bars`` bars with every SMC layer on top."""
    start = max(0, len(df) - last_bars)
    fig = candle_figure(df.iloc[start:])
    add_swings(fig, df, det, start, "", 11, "swing")
    add_swings(fig, df, det, start, "int_", 6, "internal")
    add_structure(fig, df, det, start, "swing", 1.8, "solid")
    add_structure(fig, df, det, start, "internal", 0.8, "dot")
    for layer in extra or []:
        layer(fig, df, det, start)
    fig.update_layout(
        title=title,
        xaxis_rangeslider_visible=False,
        template="plotly_white",
        height=800,
        legend={"orientation": "h", "y": -0.08},
        hovermode="x unified",
    )
    return fig


def write_chart(fig: go.Figure, path: Path) -> Path:
    """Write a self-contained HTML file (plotly.js inlined, works offline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(path, include_plotlyjs=True, full_html=True)
    return path


def add_band(
    fig: go.Figure,
    df: pd.DataFrame,
    det: pd.DataFrame,
    start: int,
    top: str,
    bottom: str,
    color: str,
    fill: str,
    name: str,
) -> None:
    """A per-bar zone (what a strategy saw at each bar; NaN = no zone then) as one rectangle per
    run of bars holding the same zone, from the run's first bar to the open of the bar after
    it. Why rectangles: a filled band between two step lines joins consecutive zones, so a jump
    from one zone to the next was drawn as a diagonal sliver that no zone ever occupied."""
    if top not in det or bottom not in det:
        raise KeyError(f"chart band needs columns {top!r} and {bottom!r} in the detect() frame")
    idx = df.index
    xs: list[object] = []
    ys: list[float] = []
    tops = det[top].to_numpy(np.float64)[start:]
    bottoms = det[bottom].to_numpy(np.float64)[start:]
    step = idx[-1] - idx[-2] if len(idx) > 1 else pd.Timedelta(0)  # the last bar's width
    for a, b, lo, hi in zone_runs(tops, bottoms):
        x0 = idx[start + a]
        x1 = idx[start + b + 1] if start + b + 1 < len(idx) else idx[-1] + step
        xs += [x0, x1, x1, x0, x0, None]
        ys += [lo, lo, hi, hi, lo, np.nan]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            name=name,
            fill="toself",
            fillcolor=fill,
            line={"width": 0.3, "color": color},
            hoverinfo="skip",
            connectgaps=False,
        )
    )


def fvg_layer(fig: go.Figure, df: pd.DataFrame, det: pd.DataFrame, start: int) -> None:
    """Nearest active bullish FVG below / bearish FVG above, per bar."""
    add_band(
        fig,
        df,
        det,
        start,
        "fvg_bull_top",
        "fvg_bull_bottom",
        BULL,
        BULL_FILL,
        "nearest bullish FVG",
    )
    add_band(
        fig,
        df,
        det,
        start,
        "fvg_bear_top",
        "fvg_bear_bottom",
        BEAR,
        BEAR_FILL,
        "nearest bearish FVG",
    )


def order_block_layer(fig: go.Figure, df: pd.DataFrame, det: pd.DataFrame, start: int) -> None:
    """Nearest active bullish / bearish order block, per bar."""
    add_band(
        fig,
        df,
        det,
        start,
        "ob_swing_bull_top",
        "ob_swing_bull_bottom",
        "#1565c0",
        "rgba(21,101,192,0.22)",
        "nearest bullish OB (swing scale)",
    )
    add_band(
        fig,
        df,
        det,
        start,
        "ob_swing_bear_top",
        "ob_swing_bear_bottom",
        "#e65100",
        "rgba(230,81,0,0.22)",
        "nearest bearish OB (swing scale)",
    )


def levels_layer(fig: go.Figure, df: pd.DataFrame, det: pd.DataFrame, start: int) -> None:
    """Previous-day high/low and the nearest untaken liquidity pools."""
    add_levels(
        fig,
        df,
        det,
        start,
        {
            "prev_d_high": "#8d6e63",
            "prev_d_low": "#8d6e63",
            "liq_bsl_near_level": "#7e57c2",
            "liq_ssl_near_level": "#7e57c2",
        },
    )


def sweep_layer(fig: go.Figure, df: pd.DataFrame, det: pd.DataFrame, start: int) -> None:
    """Markers on bars that swept liquidity (pools, swings, previous day), known on that bar."""
    for side, targets, price in (
        ("buy-side", ("bsl", "swing_high", "pdh"), "high"),
        ("sell-side", ("ssl", "swing_low", "pdl"), "low"),
    ):
        hit = np.zeros(len(det), dtype=bool)
        for target in targets:
            col = f"liq_{target}_sweep"
            if col in det:
                hit |= det[col].to_numpy() != 0
        rows = _visible(np.flatnonzero(hit), start)
        if rows:
            fig.add_trace(
                go.Scatter(
                    x=df.index[rows],
                    y=df[price].to_numpy()[rows],
                    mode="markers",
                    name=f"{side} sweep",
                    marker={"symbol": "x", "size": 8, "color": "#6a1b9a"},
                )
            )


# Layers beyond swings/structure; each is ``layer(fig, df, det, start)``.
NATIVE_LAYERS: list = [fvg_layer, order_block_layer, levels_layer, sweep_layer]


def build_compat_figure(
    df: pd.DataFrame, res: dict[str, pd.DataFrame], title: str, last_bars: int = 1500
) -> go.Figure:
    """Chart of reference-package output. Its rows are stamped where the package puts them
    (pivot / middle bar), i.e. *before* they were knowable — the title says so."""
    start = max(0, len(df) - last_bars)
    view = df.iloc[start:]
    n = len(df)
    fig = go.Figure(
        go.Candlestick(
            x=view.index,
            open=view["open"],
            high=view["high"],
            low=view["low"],
            close=view["close"],
            name="price",
            increasing_line_color=BULL,
            decreasing_line_color=BEAR,
        )
    )
    shl = res["swings"]
    for val, name, sym, color in (
        (1, "highs", "triangle-down", BEAR),
        (-1, "lows", "triangle-up", BULL),
    ):
        rows = _visible(np.flatnonzero(shl["HighLow"].to_numpy() == val), start)
        if rows:
            fig.add_trace(
                go.Scatter(
                    x=df.index[rows],
                    y=shl["Level"].to_numpy()[rows],
                    mode="markers",
                    name=f"swing {name}",
                    marker={"symbol": sym, "size": 9, "color": color},
                )
            )

    def end_of(ptr: float) -> int:
        return n - 1 if np.isnan(ptr) or ptr <= 0 else min(int(ptr), n - 1)

    for key, flag in (("fvg", "FVG"), ("ob", "OB")):
        r = res[key]
        kinds = r[flag].to_numpy(dtype=np.float64)
        tops, bottoms = r["Top"].to_numpy(np.float64), r["Bottom"].to_numpy(np.float64)
        ptrs = r["MitigatedIndex"].to_numpy(np.float64)
        boxes = []
        for i in np.flatnonzero(~np.isnan(kinds)).tolist():
            end = end_of(ptrs[i])
            if end >= start:
                boxes.append(
                    (
                        max(i, start),
                        max(end, i, start),
                        float(bottoms[i]),
                        float(tops[i]),
                        bool(kinds[i] > 0),
                    )
                )
        add_boxes(fig, df, boxes, key.upper())
    for key, flag_cols, end_col, name, color in (
        ("bos_choch", ("BOS", "CHOCH"), "BrokenIndex", "BOS/CHoCH", "#555"),
        ("liquidity", ("Liquidity",), "End", "liquidity", "#7e57c2"),
    ):
        r = res[key]
        present = np.zeros(len(r), dtype=bool)
        for col in flag_cols:
            present |= ~np.isnan(r[col].to_numpy(np.float64))
        levels = r["Level"].to_numpy(np.float64)
        ends = r[end_col].to_numpy(np.float64)
        xs: list[object] = []
        ys: list[float] = []
        for i in np.flatnonzero(present).tolist():
            j = end_of(ends[i])
            if j >= start:
                xs += [df.index[max(i, start)], df.index[j], None]
                ys += [float(levels[i]), float(levels[i]), np.nan]
        if xs:
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    name=name,
                    line={"color": color, "width": 1, "dash": "dash"},
                )
            )
    fig.update_layout(
        title=title,
        xaxis_rangeslider_visible=False,
        template="plotly_white",
        height=800,
        legend={"orientation": "h", "y": -0.08},
    )
    return fig
