"""Glue for `fractal smc`: run the detectors, summarise them as a table, write the chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from rich.table import Table

from research.charts import smc_chart

# (label, column, value counted — None: rows where the column is non-zero)
NATIVE_EVENTS: list[tuple[str, str, int | None]] = [
    ("swing highs (swing scale)", "swing_high", 1),
    ("swing lows (swing scale)", "swing_low", 1),
    ("internal swing highs", "int_swing_high", 1),
    ("internal swing lows", "int_swing_low", 1),
    ("bullish BOS (swing)", "structure_swing_bull_kind", 1),
    ("bullish CHoCH (swing)", "structure_swing_bull_kind", 2),
    ("bearish BOS (swing)", "structure_swing_bear_kind", 1),
    ("bearish CHoCH (swing)", "structure_swing_bear_kind", 2),
    ("bullish BOS (internal)", "structure_internal_bull_kind", 1),
    ("bearish BOS (internal)", "structure_internal_bear_kind", 1),
    ("bullish FVGs", "fvg_dir", 1),
    ("bearish FVGs", "fvg_dir", -1),
    ("bars filling an FVG", "fvg_filled", None),
    ("bars inverting an FVG (→ IFVG)", "fvg_inverted", None),
    ("bullish order blocks (swing)", "ob_swing_bull_new", None),
    ("bearish order blocks (swing)", "ob_swing_bear_new", None),
    ("bullish order blocks (internal)", "ob_internal_bull_new", None),
    ("bearish order blocks (internal)", "ob_internal_bear_new", None),
    ("bars invalidating an OB (→ breaker)", "ob_internal_invalidated", None),
    ("equal-high pools formed", "liq_eqh", 2),
    ("equal-low pools formed", "liq_eql", 2),
    ("buy-side pool sweeps", "liq_bsl_sweep", None),
    ("sell-side pool sweeps", "liq_ssl_sweep", None),
    ("swing-high sweeps", "liq_swing_high_sweep", None),
    ("swing-low sweeps", "liq_swing_low_sweep", None),
    ("previous-day high sweeps", "liq_pdh_sweep", None),
    ("previous-day low sweeps", "liq_pdl_sweep", None),
]
NATIVE_STATE: list[tuple[str, str]] = [
    ("swing trend (+1 up / -1 down)", "structure_swing_trend"),
    ("internal trend", "structure_internal_trend"),
    ("last swing high", "last_high_level"),
    ("last swing low", "last_low_level"),
    ("nearest bullish FVG top", "fvg_bull_top"),
    ("nearest bearish FVG bottom", "fvg_bear_bottom"),
    ("previous day high", "prev_d_high"),
    ("previous day low", "prev_d_low"),
    ("nearest buy-side pool above", "liq_bsl_near_level"),
    ("nearest sell-side pool below", "liq_ssl_near_level"),
    ("premium (+1) / discount (-1)", "zone_position"),
]


def _table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("item")
    table.add_column("value", justify="right")
    for k, v in rows:
        table.add_row(k, v)
    return table


def native_summary(det: pd.DataFrame) -> Table:
    """Counts of every event kind and the state at the last bar."""
    rows = [
        (label, f"{int((det[col] != 0).sum() if value is None else (det[col] == value).sum()):,}")
        for label, col, value in NATIVE_EVENTS
        if col in det
    ]
    last = det.iloc[-1]
    for label, col in NATIVE_STATE:
        if col in det:
            v = last[col]
            rows.append((f"now: {label}", "—" if pd.isna(v) else f"{v:g}"))
    return _table("SMC events (causal: each counted on the bar it became known)", rows)


def run_native(
    df: pd.DataFrame, params: dict[str, Any], label: str, bars: int, chart: Path
) -> Table:
    """Causal detectors → summary table; the chart is written to ``chart``."""
    from strategies.smc import detect

    det = detect(df, **params)
    fig = smc_chart.build_figure(df, det, f"{label} — causal SMC", bars, smc_chart.NATIVE_LAYERS)
    smc_chart.write_chart(fig, chart)
    return native_summary(det)


def run_compat(
    df: pd.DataFrame, params: dict[str, Any], label: str, bars: int, chart: Path
) -> Table:
    """Reference-package mode (look-ahead!) → summary; chart written to ``chart``."""
    from strategies.smc import compat

    swing_length = int(params.pop("swing_length", 50))
    if params:
        raise ValueError(f"compat mode takes only swing_length, got {', '.join(params)}")
    shl = compat.swing_highs_lows(df, swing_length=swing_length)
    results = {
        "swings": shl,
        "fvg": compat.fvg(df),
        "bos_choch": compat.bos_choch(df, shl),
        "ob": compat.ob(df, shl),
        "liquidity": compat.liquidity(df, shl),
    }
    fig = smc_chart.build_compat_figure(df, results, f"{label} — compat (LOOK-AHEAD)", bars)
    smc_chart.write_chart(fig, chart)
    counts = [
        ("swing highs", int((shl["HighLow"] == 1).sum())),
        ("swing lows", int((shl["HighLow"] == -1).sum())),
        ("FVGs", int(results["fvg"]["FVG"].notna().sum())),
        ("BOS", int(results["bos_choch"]["BOS"].notna().sum())),
        ("CHoCH", int(results["bos_choch"]["CHOCH"].notna().sum())),
        ("order blocks", int(results["ob"]["OB"].notna().sum())),
        ("liquidity groups", int(results["liquidity"]["Liquidity"].notna().sum())),
    ]
    return _table(
        "smartmoneyconcepts-compatible output (look-ahead!)", [(k, f"{v:,}") for k, v in counts]
    )
