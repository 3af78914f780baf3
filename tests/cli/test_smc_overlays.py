"""Report overlays of SMC zones: runs of the same nearest zone, nothing from later bars."""

from __future__ import annotations

import numpy as np
import pandas as pd

from research.charts.smc_overlays import order_block_overlays, zone_runs
from strategies.smc import detect
from tests.smc.helpers import load_frame


def test_zone_runs_split_on_change_and_nan() -> None:
    top = np.array([np.nan, 5, 5, 6, 6, np.nan, 6])
    bottom = np.array([np.nan, 4, 4, 4, 4, np.nan, 4])
    assert zone_runs(top, bottom) == [(1, 2, 4.0, 5.0), (3, 4, 4.0, 6.0), (6, 6, 4.0, 6.0)]
    assert zone_runs(np.array([np.nan]), np.array([np.nan])) == []


def test_order_block_overlays_follow_the_nearest_zone_state() -> None:
    df = load_frame().iloc[:4000]
    det = detect(df, swing_length=10)
    zones = order_block_overlays(df.index, det, scale="swing")
    assert zones, "BTC 5m has order blocks"
    for z in zones:
        side = "bull" if z.label.startswith("bull") else "bear"
        rows = det.loc[z.start : z.end]
        assert (rows[f"ob_swing_{side}_top"] == z.y1).all()
        assert (rows[f"ob_swing_{side}_bottom"] == z.y0).all()
        assert isinstance(z.start, pd.Timestamp) and z.start <= z.end


def _rectangles(trace) -> list[tuple[pd.Timestamp, pd.Timestamp, float, float]]:  # type: ignore[no-untyped-def]
    """The polygons of a filled trace (None-separated); each must be an axis-aligned box."""
    xs, ys = list(trace.x), list(trace.y)
    out, cur = [], []
    for x, y in [*zip(xs, ys, strict=True), (None, None)]:
        if x is not None:
            cur.append((pd.Timestamp(x), float(y)))
            continue
        if cur:
            (x0, y0), (x1, _), (x2, y2), (x3, _), (x4, y4) = cur  # exactly 5 corners
            assert x0 == x3 == x4 and x1 == x2 and x0 < x1, cur
            assert y0 == cur[1][1] == y4 and y2 == cur[3][1] and y0 <= y2, cur
            out.append((x0, x1, y0, y2))
        cur = []
    return out


def test_chart_zones_are_separate_rectangles_never_joined() -> None:
    """`make run`'s chart (BTC 15m) drew a diagonal band from 11 to 14 July 2025 where the
    nearest bearish FVG jumps from one zone to the next: every zone must be its own box that
    covers exactly the bars holding it."""
    from research.charts.smc_chart import NATIVE_LAYERS, build_figure
    from tests.conftest import MARKET

    df = pd.read_csv(MARKET / "hyperliquid_perp_2025" / "hyperliquid_BTCUSDC_15m.csv.gz")
    df.index = pd.to_datetime(df.pop("timestamp"), unit="ms", utc=True).rename("time")
    df = df.loc[:"2025-07-16"]
    det = detect(df)
    fig = build_figure(df, det, "BTC 15m", 1500, NATIVE_LAYERS)
    view = df.index[-1500:]
    bands = {
        "nearest bullish FVG": "fvg_bull",
        "nearest bearish FVG": "fvg_bear",
        "nearest bullish OB (swing scale)": "ob_swing_bull",
        "nearest bearish OB (swing scale)": "ob_swing_bear",
    }
    for name, col in bands.items():
        (trace,) = [t for t in fig.data if t.name == name]
        assert trace.fill == "toself"
        boxes = _rectangles(trace)
        covered = pd.Series(0, index=view)
        for x0, x1, lo, hi in boxes:
            rows = (view >= x0) & (view < x1)
            assert rows.any()
            held = det.loc[view[rows]]
            assert (held[f"{col}_bottom"] == lo).all() and (held[f"{col}_top"] == hi).all(), name
            covered[rows] += 1
        has_zone = det.loc[view, f"{col}_top"].notna()
        assert (covered[has_zone] == 1).all() and (covered[~has_zone] == 0).all(), name
    (bear,) = [t for t in fig.data if t.name == "nearest bearish FVG"]
    jump = [b for b in _rectangles(bear) if b[1] > pd.Timestamp("2025-07-11", tz="UTC")
            and b[0] < pd.Timestamp("2025-07-14", tz="UTC")]  # fmt: skip
    assert len({(lo, hi) for _, _, lo, hi in jump}) >= 2  # the zone changes in that window
