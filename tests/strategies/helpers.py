"""Helpers for the strategy tests: real data, hand-made bar frames, hand-made detector rows."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from strategies import live
from strategies.signals import Signals
from tests.conftest import MARKET

BTC_15M = MARKET / "hyperliquid_perp_2025" / "hyperliquid_BTCUSDC_15m.csv.gz"
SIGNAL_FIELDS = ("entry", "entry_kind", "entry_price", "stop", "target")


@cache
def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)


def shipped(path: Path = BTC_15M, n: int | None = None) -> pd.DataFrame:
    """A shipped CSV exactly as the CLI passes it (``timestamp`` ms column, RangeIndex)."""
    df = _read(path)
    return (df if n is None else df.iloc[:n]).copy()


def timed(df: pd.DataFrame) -> pd.DataFrame:
    """The same bars indexed by a UTC DatetimeIndex."""
    out = df.drop(columns=["timestamp"])
    out.index = pd.DatetimeIndex(pd.to_datetime(df["timestamp"], unit="ms", utc=True), name="time")
    return out


def ohlc_frame(rows: Sequence[tuple[float, float, float, float]]) -> pd.DataFrame:
    """Hand-made bars ``(open, high, low, close)`` on a 1-minute clock from 2024-01-01 00:00 UTC
    (one calendar day, so no previous-day levels exist)."""
    a = np.asarray(rows, dtype=np.float64)
    idx = pd.date_range("2024-01-01", periods=len(a), freq="1min", tz="UTC", name="time")
    return pd.DataFrame(
        {"open": a[:, 0], "high": a[:, 1], "low": a[:, 2], "close": a[:, 3], "volume": 1.0},
        index=idx,
    )


def detector_rows(columns: Sequence[str], n: int, **cols: Sequence[float] | float) -> np.ndarray:
    """Kernel input ``x`` for hand-made detector output: flat bars at 100 (override with
    ``open``/``high``/``low``/``close``), ATR 1, no events (counts/kinds 0, levels NaN, refs -1)."""
    x = np.empty((n, live.N_BAR_COLS + len(columns)), order="F")
    x[:, : live.N_BAR_COLS] = 100.0
    for j, name in enumerate(columns):
        if name == "atr":
            fill = 1.0
        elif name.endswith(("_level", "_top", "_bottom", "_high", "_low", "position")):
            fill = np.nan
        elif name.endswith(("_from", "_ref")):
            fill = -1.0
        else:
            fill = 0.0
        x[:, live.N_BAR_COLS + j] = fill
    names = ["open", "high", "low", "close", *columns]
    for name, v in cols.items():
        x[:, names.index(name)] = v
    return x


def set_at(x: np.ndarray, columns: Sequence[str], i: int, **vals: float) -> None:
    """Set row ``i`` of ``x`` (names: open/high/low/close or detector columns)."""
    names = ["open", "high", "low", "close", *columns]
    for name, v in vals.items():
        x[i, names.index(name)] = v


def run(spec: live.Spec, x: np.ndarray, python: bool = True) -> np.ndarray:
    """Kernel output over ``x``; ``python`` runs the kernel's pure-Python body (same code, seen
    by coverage), else the compiled one."""
    kernel = spec.kernel.py_func if python else spec.kernel  # type: ignore[attr-defined]
    return live.run_kernel(dataclasses.replace(spec, kernel=kernel), x)


def entries(out: np.ndarray) -> list[int]:
    return [int(i) for i in np.flatnonzero(out[:, live.OUT_ENTRY])]


def assert_same_signals(a: Signals, b: Signals) -> None:
    for f in SIGNAL_FIELDS:
        x, y = getattr(a, f), getattr(b, f)
        assert x.shape == y.shape, f
        assert np.array_equal(x, y, equal_nan=True), f"{f} differs at bar {_first_diff(x, y)}"


def _first_diff(x: np.ndarray, y: np.ndarray) -> int:
    same = (x == y) | (np.isnan(x.astype(float)) & np.isnan(y.astype(float)))
    return int(np.flatnonzero(~same)[0])
