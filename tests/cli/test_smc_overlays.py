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
