"""OHLC input for the engine: contiguous float64 arrays plus open times, checked once.

Why a container: the numba core trusts its inputs, so every bad-input check (empty, NaN,
non-positive prices, high < low, unsorted times) happens here with a message naming the bar.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from strategies.metrics import timeframe_minutes

FloatArray = npt.NDArray[np.float64]


class BarsError(ValueError):
    """OHLC data the engine cannot use; the message names the problem and the bar."""


@dataclass(frozen=True)
class Bars:
    ts: npt.NDArray[np.int64]  # bar open time, ms since epoch, UTC
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    timeframe: str

    def __len__(self) -> int:
        return int(self.close.shape[0])

    @property
    def timeframe_ms(self) -> int:
        return timeframe_minutes(self.timeframe) * 60_000

    @functools.cached_property
    def index(self) -> pd.DatetimeIndex:
        """Built once per Bars (a 1M-bar index costs ~5 ms; every run_backtest needs it)."""
        return pd.DatetimeIndex(self.ts.astype("datetime64[ms]")).tz_localize("UTC")

    @classmethod
    def from_arrays(
        cls,
        open_: npt.ArrayLike,
        high: npt.ArrayLike,
        low: npt.ArrayLike,
        close: npt.ArrayLike,
        *,
        timeframe: str = "1m",
        ts: npt.ArrayLike | None = None,
    ) -> Bars:
        arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (open_, high, low, close)]
        n = arrays[3].shape[0] if arrays[3].ndim == 1 else -1
        if n <= 0:
            raise BarsError("no bars: the price data is empty")
        for name, a in zip(("open", "high", "low", "close"), arrays, strict=True):
            if a.shape != (n,):
                raise BarsError(f"{name}: expected shape ({n},), got {a.shape}")
            bad = ~np.isfinite(a)
            if bad.any():
                raise BarsError(f"{name} has NaN/inf at bar {int(np.flatnonzero(bad)[0])}")
            bad = a <= 0
            if bad.any():
                raise BarsError(f"{name} is not positive at bar {int(np.flatnonzero(bad)[0])}")
        o, h, lo, c = arrays
        bad = (h < lo) | (h < np.maximum(o, c)) | (lo > np.minimum(o, c))
        if bad.any():
            raise BarsError(
                f"inconsistent OHLC (high/low do not bracket open/close) at bar "
                f"{int(np.flatnonzero(bad)[0])}"
            )
        tf_ms = timeframe_minutes(timeframe) * 60_000
        t = (
            np.arange(n, dtype=np.int64) * tf_ms
            if ts is None
            else np.ascontiguousarray(ts, dtype=np.int64)
        )
        if t.shape != (n,):
            raise BarsError(f"timestamps: expected shape ({n},), got {t.shape}")
        if n > 1 and np.any(np.diff(t) <= 0):
            i = int(np.flatnonzero(np.diff(t) <= 0)[0]) + 1
            raise BarsError(f"timestamps not strictly increasing at bar {i} (duplicate/unsorted)")
        return cls(t, o, h, lo, c, timeframe)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, timeframe: str) -> Bars:
        """Accept the shipped CSV layout (`timestamp` ms column) or a UTC DatetimeIndex."""
        if df is None or len(df) == 0:
            raise BarsError("no bars: the data frame is empty")
        cols = {c.lower(): c for c in df.columns}
        missing = [c for c in ("open", "high", "low", "close") if c not in cols]
        if missing:
            raise BarsError(f"missing column(s): {', '.join(missing)}")
        if "timestamp" in cols:
            ts = np.asarray(df[cols["timestamp"]], dtype=np.int64)
        elif isinstance(df.index, pd.DatetimeIndex):
            idx = df.index if df.index.tz is not None else df.index.tz_localize("UTC")
            ts = np.asarray(idx.as_unit("ms").asi8, dtype=np.int64)
        else:
            raise BarsError("need a `timestamp` column (ms) or a DatetimeIndex")
        return cls.from_arrays(
            df[cols["open"]], df[cols["high"]], df[cols["low"]], df[cols["close"]],
            timeframe=timeframe, ts=ts,
        )  # fmt: skip


def atr(bars: Bars, period: int = 14) -> FloatArray:
    """Wilder's average true range as of each bar's close (NaN before `period` bars)."""
    h, lo, c = bars.high, bars.low, bars.close
    prev = np.concatenate(([c[0]], c[:-1]))
    tr = np.maximum(h - lo, np.maximum(np.abs(h - prev), np.abs(lo - prev)))
    out = np.full(tr.size, np.nan)
    if tr.size < period:
        return out
    out[period - 1] = tr[:period].mean()
    alpha = 1.0 / period
    for i in range(period, tr.size):
        out[i] = out[i - 1] + alpha * (tr[i] - out[i - 1])
    return out
