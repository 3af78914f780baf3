"""SMC zones as report overlays: the order block a strategy saw as "nearest" at each bar.

A run of bars holding the same nearest bullish (or bearish) order block becomes one rectangle
from the first to the last bar of the run — exactly what was known then, nothing later.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from research.backtest.report import Overlay

COLORS = {"bull": "rgba(21, 101, 192, 0.18)", "bear": "rgba(230, 81, 0, 0.18)"}


def zone_runs(top: np.ndarray, bottom: np.ndarray) -> list[tuple[int, int, float, float]]:
    """Maximal runs ``(first, last, bottom, top)`` of identical, non-NaN zones."""
    runs: list[tuple[int, int, float, float]] = []
    start = -1
    for i in range(len(top) + 1):
        same = (
            0 < i < len(top) and start >= 0
            and top[i] == top[start] and bottom[i] == bottom[start]
        )  # fmt: skip
        if same:
            continue
        if start >= 0:
            runs.append((start, i - 1, float(bottom[start]), float(top[start])))
        start = i if i < len(top) and not np.isnan(top[i]) else -1
    return runs


def order_block_overlays(
    index: pd.DatetimeIndex, det: pd.DataFrame, scale: str = "swing", max_zones: int = 500
) -> list[Overlay]:
    """Overlays of the nearest bullish and bearish order blocks at ``scale`` (newest kept)."""
    out: list[Overlay] = []
    for side in ("bull", "bear"):
        top = det[f"ob_{scale}_{side}_top"].to_numpy(np.float64)
        bottom = det[f"ob_{scale}_{side}_bottom"].to_numpy(np.float64)
        for a, b, lo, hi in zone_runs(top, bottom)[-max_zones:]:
            out.append(Overlay(index[a], index[b], lo, hi, COLORS[side], f"{side} OB ({scale})"))
    return out
