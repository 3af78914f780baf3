"""Bug-for-bug reimplementation of ``smartmoneyconcepts`` 0.0.27 (``smc.*``), fast.

!!! ANALYSIS / MIGRATION ONLY — THIS MODULE HAS THE REFERENCE PACKAGE'S LOOK-AHEAD. !!!
!!! IT MUST NEVER DRIVE TRADING, SIGNALS, BACKTESTS OR ANY STRATEGY DECISION.        !!!

Swings, FVGs, BOS/CHoCH, order blocks and liquidity are written on bars *before* they are
knowable (docs/smc.md §3-§5: profit factor ~100 on a random walk when acted on as returned).
The module exists so users migrating from the package can reproduce its numbers exactly
(golden files in shared/data/smc_reference, differential tests against the package) and
measure what the causal detectors in ``strategies.smc`` change. It is deliberately
standalone: it imports nothing from the causal detectors.

Same names, signatures, column names/order and dtypes as the package (RangeIndex output,
float32 levels where the package has them, ``0`` = "never" sentinels, NaN where the package
has NaN). Kernels are numba over float64 arrays and O(n log n) where the package is O(n^2).
Deliberate deviations: inputs with NaN/inf prices are rejected with a ValueError (the package
silently propagates them); an unknown ``session`` raises a ValueError instead of KeyError;
``previous_high_low`` does not require a ``volume`` column. Inputs are read as float64: a
frame with float32 columns (which the package would compute on in float32) may differ in the
last float32 bit of liquidity averages, retracement % and OB volumes.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from strategies.smc._compat_kernels import (
    bos_choch_kernel,
    fvg_kernel,
    grouped_breaks,
    retracement_kernel,
    session_kernel,
    swing_kernel,
)
from strategies.smc._compat_zones import liquidity_kernel, ob_kernel

__all__ = [
    "bos_choch",
    "fvg",
    "liquidity",
    "ob",
    "previous_high_low",
    "retracements",
    "sessions",
    "smc",
    "swing_highs_lows",
]

SESSIONS: dict[str, tuple[str, str]] = {  # fixed UTC times, no DST (package #46)
    "Sydney": ("21:00", "06:00"),
    "Tokyo": ("00:00", "09:00"),
    "London": ("07:00", "16:00"),
    "New York": ("13:00", "22:00"),
    "Asian kill zone": ("00:00", "04:00"),
    "London open kill zone": ("6:00", "9:00"),
    "New York kill zone": ("11:00", "14:00"),
    "london close kill zone": ("14:00", "16:00"),
}


def _frame(ohlc: pd.DataFrame, need: str = "ohlc") -> pd.DataFrame:
    """Lower-case the columns like the package's validator and check the required ones."""
    if not isinstance(ohlc, pd.DataFrame):
        raise TypeError(f"ohlc must be a pandas DataFrame, got {type(ohlc).__name__}")
    df = ohlc.rename(columns={c: c.lower() for c in ohlc.columns if isinstance(c, str)})
    names = {"o": "open", "h": "high", "l": "low", "c": "close", "v": "volume"}
    for letter in need:
        if names[letter] not in df.columns:
            raise LookupError(f'Must have a dataframe column named "{names[letter]}"')
    if len(df) == 0:
        raise ValueError("ohlc is empty")
    return df


def _col(df: pd.DataFrame, name: str) -> np.ndarray:
    """A column as contiguous float64, rejecting NaN/inf (they would poison the comparisons)."""
    try:
        a = np.ascontiguousarray(df[name].to_numpy(dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"column {name!r} is not numeric: {exc}") from exc
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(f"column {name!r} has NaN/inf at row {int(np.argmax(bad))}")
    return a


def _swings(shl: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray]:
    """HighLow/Level arrays of a ``swing_highs_lows`` result, checked against the ohlc length."""
    if not isinstance(shl, pd.DataFrame) or not {"HighLow", "Level"} <= set(shl.columns):
        raise LookupError("swing_highs_lows must be a DataFrame with HighLow and Level columns")
    if len(shl) != n:
        raise ValueError(f"swing_highs_lows has {len(shl)} rows, ohlc has {n}")
    hl = np.ascontiguousarray(shl["HighLow"].to_numpy(dtype=np.float64))
    level = np.ascontiguousarray(shl["Level"].to_numpy(dtype=np.float64))
    return hl, level


def _out(**cols: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(cols)  # RangeIndex, like the package (#67)


def fvg(ohlc: pd.DataFrame, join_consecutive: bool = False) -> pd.DataFrame:
    """Fair value gaps, written on the middle bar: 1 bar of look-ahead (uses bar i+1).

    ``MitigatedIndex`` = first j >= i+2 touching the gap, 0 = never (a forward pointer).
    ``join_consecutive`` clears the earlier row when the next bar extends it (rows rewritten).
    """
    df = _frame(ohlc)
    f, top, bottom, mit = fvg_kernel(
        _col(df, "open"), _col(df, "high"), _col(df, "low"), _col(df, "close"), join_consecutive
    )
    return _out(FVG=f, Top=top, Bottom=bottom, MitigatedIndex=mit)


def swing_highs_lows(ohlc: pd.DataFrame, swing_length: int = 50) -> pd.DataFrame:
    """Swings on the pivot bar (``swing_length`` bars of look-ahead), asymmetric window.

    Keeps: window ``h[i-N+1..i+N]``, first-N warm-up, high wins over low, clean-up keeping the
    extreme of consecutive same-type swings, and the forced swings on bar 0 and the LAST bar
    (the newest row changes with every new bar, #34/#59/#101).
    """
    if isinstance(swing_length, bool) or not isinstance(swing_length, int | np.integer):
        raise TypeError(f"swing_length must be an int, got {swing_length!r}")
    if swing_length < 1:
        raise ValueError(f"swing_length must be >= 1, got {swing_length}")
    df = _frame(ohlc)
    hl, level = swing_kernel(_col(df, "high"), _col(df, "low"), int(swing_length))
    return _out(HighLow=hl, Level=level)


def bos_choch(
    ohlc: pd.DataFrame, swing_highs_lows: pd.DataFrame, close_break: bool = True
) -> pd.DataFrame:
    """BOS/CHoCH on the broken swing's row, from the last 4 swings (no trend state).

    Keeps: float32 ``Level``; ``BrokenIndex`` = first j >= row+2 crossing it; deletion of
    structures not yet broken by a later break and of never-broken ones (whole-future
    look-ahead), with the deleted rows' stray ``BrokenIndex`` left in place.
    """
    df = _frame(ohlc)
    hl, level = _swings(swing_highs_lows, len(df))
    close = _col(df, "close")
    up = close if close_break else _col(df, "high")
    down = close if close_break else _col(df, "low")
    b, ch, lev, broken = bos_choch_kernel(hl, level, up, down)
    return _out(BOS=b, CHOCH=ch, Level=lev, BrokenIndex=broken)


def ob(
    ohlc: pd.DataFrame, swing_highs_lows: pd.DataFrame, close_mitigation: bool = False
) -> pd.DataFrame:
    """Order blocks on the OB candle's row, built from possibly unconfirmed swings.

    Keeps: bullish ``MitigatedIndex`` = j-1 (off by one, PR #112), bearish = j; inverted
    Top/Bottom when the break is the bar right after the swing; shared per-candle arrays;
    erasure once price trades through the breaker; float32 Top/Bottom/OBVolume/Percentage.
    """
    df = _frame(ohlc, "ohlcv")
    hl, _ = _swings(swing_highs_lows, len(df))
    res = ob_kernel(
        _col(df, "open"),
        _col(df, "high"),
        _col(df, "low"),
        _col(df, "close"),
        _col(df, "volume"),
        hl,
        bool(close_mitigation),
    )
    kind, top, bottom, vol, mit, pct = res
    present = kind != 0
    return _out(
        OB=np.where(present, kind, np.nan),
        Top=np.where(present, top, np.float32(np.nan)),
        Bottom=np.where(present, bottom, np.float32(np.nan)),
        OBVolume=np.where(present, vol, np.float32(np.nan)),
        MitigatedIndex=np.where(present, mit, np.nan),
        Percentage=np.where(present, pct, np.float32(np.nan)),
    )


def liquidity(
    ohlc: pd.DataFrame, swing_highs_lows: pd.DataFrame, range_percent: float = 0.01
) -> pd.DataFrame:
    """Equal highs/lows on the group's first swing row (up to the whole future of look-ahead).

    Keeps: tolerance = ``range_percent`` of the WHOLE frame's high-low range (a whole-sample
    statistic), ``Swept`` without close-back and 0 = never, float32 Level/End/Swept.
    """
    df = _frame(ohlc)
    hl, level = _swings(swing_highs_lows, len(df))
    high, low = _col(df, "high"), _col(df, "low")
    pip = (float(high.max()) - float(low.min())) * float(range_percent)
    liq, lev, end, swept = liquidity_kernel(high, low, hl, level, pip)
    return _out(Liquidity=liq, Level=lev, End=end, Swept=swept)


def previous_high_low(ohlc: pd.DataFrame, time_frame: str = "1D") -> pd.DataFrame:
    """Previous period high/low via pandas ``resample`` bins (4h/1D left-labelled, W = W-SUN).

    Keeps: on the first bar of each period (time == bin label) the period TWO back is returned
    and the Broken flags reset; float32 levels; int32 flags.
    """
    df = _frame(ohlc)
    high, low = _col(df, "high"), _col(df, "low")
    n = len(df)
    index = pd.DatetimeIndex(pd.to_datetime(df.index))
    frame = pd.DataFrame({"high": high, "low": low}, index=index)
    bins = frame.resample(time_frame).agg({"high": "max", "low": "min"}).dropna()
    if len(bins) < 2:
        return _out(
            PreviousHigh=np.full(n, np.nan, dtype=np.float32),
            PreviousLow=np.full(n, np.nan, dtype=np.float32),
            BrokenHigh=np.zeros(n, dtype=np.int32),
            BrokenLow=np.zeros(n, dtype=np.int32),
        )
    before = np.searchsorted(bins.index.values, index.values, side="left")
    ref = before - 2  # periods strictly before the bar's time, minus one: two back on a label
    valid = before > 1
    prev_high = np.full(n, np.nan, dtype=np.float32)
    prev_low = np.full(n, np.nan, dtype=np.float32)
    prev_high[valid] = bins["high"].to_numpy()[ref[valid]]
    prev_low[valid] = bins["low"].to_numpy()[ref[valid]]
    bh, bl = grouped_breaks(high, low, ref.astype(np.int64), prev_high, prev_low, valid)
    return _out(PreviousHigh=prev_high, PreviousLow=prev_low, BrokenHigh=bh, BrokenLow=bl)


def _session_window(session: str, start_time: str, end_time: str) -> tuple[int, int]:
    if session == "Custom":
        if start_time == "" or end_time == "":
            raise ValueError("Custom session requires a start and end time")
        start, end = start_time, end_time
    elif session in SESSIONS:
        start, end = SESSIONS[session]
    else:
        raise ValueError(f"unknown session {session!r}; expected one of {[*SESSIONS, 'Custom']}")
    s = datetime.strptime(start, "%H:%M")
    e = datetime.strptime(end, "%H:%M")
    return s.hour * 60 + s.minute, e.hour * 60 + e.minute


def sessions(
    ohlc: pd.DataFrame,
    session: str,
    start_time: str = "",
    end_time: str = "",
    time_zone: str = "UTC",
) -> pd.DataFrame:
    """Session membership and running High/Low (float32, 0 outside), fixed UTC presets.

    Keeps: end time INCLUSIVE, seconds ignored, no DST, and the POSIX sign quirk:
    ``"UTC+2"``/``"GMT+2"`` become ``Etc/GMT+2`` = UTC-2.
    """
    start, end = _session_window(session, start_time, end_time)
    df = _frame(ohlc)
    index = pd.DatetimeIndex(pd.to_datetime(df.index))
    if time_zone != "UTC":
        tz = time_zone.replace("GMT", "Etc/GMT").replace("UTC", "Etc/GMT")
        index = index.tz_localize(tz).tz_convert("UTC")
    wall = index if index.tz is None else index.tz_localize(None)  # strftime's wall clock
    per_minute = {"s": 60, "ms": 60_000, "us": 60_000_000, "ns": 60_000_000_000}[wall.unit]
    minute = (wall.asi8 // per_minute) % 1_440  # HH:MM, seconds dropped like strftime
    if start < end:
        active = (minute >= start) & (minute <= end)
    else:
        active = (minute >= start) | (minute <= end)
    high, low = session_kernel(_col(df, "high"), _col(df, "low"), active)
    return _out(Active=active.astype(np.int32), High=high, Low=low)


def retracements(ohlc: pd.DataFrame, swing_highs_lows: pd.DataFrame) -> pd.DataFrame:
    """Retracement % from swings stamped at the pivot (unconfirmed), rounded like numpy.

    Keeps: output shifted one bar (``np.roll``, the last bar wraps to row 0 before zeroing),
    zeroed up to the bar after the third direction change; bullish branch reads the previous
    bar's direction, bearish the current one.
    """
    df = _frame(ohlc)
    hl, level = _swings(swing_highs_lows, len(df))
    d, cur, deep = retracement_kernel(_col(df, "high"), _col(df, "low"), hl, level)
    return _out(Direction=d, **{"CurrentRetracement%": cur, "DeepestRetracement%": deep})


class smc:  # noqa: N801 - mirrors the package's ``from smartmoneyconcepts import smc``
    """Namespace matching ``smartmoneyconcepts.smc`` (ANALYSIS ONLY: has its look-ahead)."""

    __version__ = "0.0.27"
    fvg = staticmethod(fvg)
    swing_highs_lows = staticmethod(swing_highs_lows)
    bos_choch = staticmethod(bos_choch)
    ob = staticmethod(ob)
    liquidity = staticmethod(liquidity)
    previous_high_low = staticmethod(previous_high_low)
    sessions = staticmethod(sessions)
    retracements = staticmethod(retracements)
