"""Previous period high / low for 4h, day and week (docs/smc.md §3.6).

For bar ``t`` in calendar period ``P``, ``prev_*_high``/``prev_*_low`` are the high/low of the latest
earlier period that had bars; constant through ``P`` and already right on ``P``'s first bar (the
package returns the period two back there). ``broken_high`` = the highest high of ``P`` up to ``t``
exceeds the previous high (a state flag, known at ``t``); lows mirrored.

Periods come from each bar's open time: 4h in UTC; day and week (Monday 00:00) in UTC or in the
IANA zone ``periods_zone`` (DST-aware). The step only does epoch-ms arithmetic on ``local_ms``,
the bar's local wall-clock time as epoch ms, a per-bar function of its own timestamp (hence
causal) that ``local_ms`` below precomputes vectorised for a batch and ``local_ms_one`` for a
stream. Row columns per timeframe ``tf`` in ``4h``, ``d``, ``w``:

* ``prev_{tf}_high``/``_low`` and ``_high_ref``/``_low_ref`` (the bar that made it, first on ties);
* ``prev_{tf}_broken_high``/``_broken_low`` 0/1;
* ``prev_{tf}_start`` — first row of the current period (the row the levels became known).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from numba import njit
from pydantic import BaseModel, ConfigDict, Field, field_validator

from strategies.smc._common import HIGH, LOW, NO_NRT, NONE, TIME, check_bars, empty_out

TIMEFRAMES = ("4h", "d", "w")
_FIELDS = ("high", "high_ref", "low", "low_ref", "broken_high", "broken_low", "start")
COLUMNS = tuple(f"prev_{tf}_{f}" for tf in TIMEFRAMES for f in _FIELDS)
INT_COLUMNS = frozenset(c for c in COLUMNS if not c.endswith(("_high", "_low")))
# column offsets inside one timeframe block; block k starts at k * BLOCK
P_HIGH, P_HIGH_REF, P_LOW, P_LOW_REF, P_BROKEN_HIGH, P_BROKEN_LOW, P_START = range(7)
BLOCK = len(_FIELDS)
H4, DAY, WEEK = 0, BLOCK, 2 * BLOCK  # block starts, e.g. out[:, DAY + P_HIGH]

HOUR_MS = 3_600_000.0
MS_4H = 4 * HOUR_MS
MS_DAY = 86_400_000.0
MS_WEEK = 7 * MS_DAY
WEEK_SHIFT = 4 * MS_DAY  # 1970-01-01 was a Thursday: weeks start on Monday 1970-01-05
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# state per timeframe: period id, cur high, ref, cur low, ref, prev high, ref, prev low, ref, start
S_ID, S_CH, S_CHR, S_CL, S_CLR, S_PH, S_PHR, S_PL, S_PLR, S_START = range(10)


@cache
def zone_info(name: str) -> ZoneInfo:
    """The IANA zone, or a clear error naming the bad value."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc


class Params(BaseModel):
    """Previous-period settings."""

    model_config = ConfigDict(frozen=True)

    periods_zone: str = Field(
        default="UTC", description="IANA zone of the day/week boundaries (4h stays UTC)"
    )

    @field_validator("periods_zone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        zone_info(v)
        return v


def offsets_ms(t: np.ndarray, zone: str) -> np.ndarray:
    """UTC offset (ms) of ``zone`` at each epoch-ms instant."""
    t_int = np.floor(t).astype(np.int64)
    idx = pd.to_datetime(t_int, unit="ms", utc=True).tz_convert(zone_info(zone))
    return (idx.tz_localize(None).as_unit("ms").asi8 - t_int).astype(np.float64)


@njit(cache=True, nogil=True)
def _hour_runs(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run index of every bar and each run's UTC hour start, a run being consecutive bars in
    one UTC hour (the offsets are looked up once per run)."""
    n = t.shape[0]
    group = np.empty(n, dtype=np.int64)
    start = np.empty(n, dtype=np.float64)
    g = -1
    prev = np.nan
    for i in range(n):
        hour = np.floor(t[i] / HOUR_MS)
        if g < 0 or hour != prev:
            g += 1
            start[g] = hour * HOUR_MS
            prev = hour
        group[i] = g
    return group, start[: g + 1]


@njit(cache=True, nogil=True)
def _fill_local(
    t: np.ndarray, group: np.ndarray, off: np.ndarray, utc: np.ndarray, local: np.ndarray
) -> None:
    """``local[i, z] = t[i] + off[z, run of i]`` (``t[i]`` itself for a UTC column)."""
    for i in range(t.shape[0]):
        g = group[i]
        for z in range(off.shape[0]):
            local[i, z] = t[i] if utc[z] else t[i] + off[z, g]


def local_times(bars: np.ndarray, zones: tuple[str, ...]) -> np.ndarray:
    """``(n, len(zones))`` local wall-clock epoch ms of every bar's open time (per bar, so
    causal), for several zones in one pass over the bars.

    Bar ``t`` is ``t + offset(start of t's UTC hour)`` when the zone's offset is the same at the
    hour's first and last millisecond (no zone changes offset twice within an hour); in a
    "split" hour each bar is converted on its own. The per-hour offsets come from
    :func:`_hour_table` (kept per zone and block of hours, so repeated calls — sweeps, folds —
    make no pandas call) when the bars span at most ``_MAX_BLOCKS`` blocks; a sparser span
    converts only the hours that hold bars (:func:`_hour_offsets`). Both give the same values.
    """
    t = np.ascontiguousarray(bars[:, TIME])
    local = np.empty((len(t), len(zones)), dtype=np.float64)
    if len(t) == 0:
        return local
    lo, hi = t.min(), t.max()  # NaN if any time is NaN
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return _hour_offsets(t, zones, local)
    b0 = math.floor(lo / HOUR_MS) // _BLOCK_HOURS
    b1 = math.floor(hi / HOUR_MS) // _BLOCK_HOURS
    if b1 - b0 >= _MAX_BLOCKS:
        return _hour_offsets(t, zones, local)
    table = np.zeros((len(zones), (b1 - b0 + 1) * _BLOCK_HOURS))
    for z, zone in enumerate(zones):
        if zone != "UTC":
            for b in range(b0, b1 + 1):
                k = (b - b0) * _BLOCK_HOURS
                table[z, k : k + _BLOCK_HOURS] = _hour_table(zone, b)
    if _fill_from_table(t, float(b0 * _BLOCK_HOURS), table, local):
        for z, zone in enumerate(zones):  # the offset changes within these hours (DST): per bar
            rows = np.flatnonzero(np.isnan(local[:, z]))
            local[rows, z] = t[rows] + offsets_ms(t[rows], zone)
    return local


_BLOCK_HOURS = 8192  # ~11 months of hours per kept table (64 KiB)
_MAX_BLOCKS = 64  # bars spanning more (years of sparse bars): convert only their own hours


@lru_cache(maxsize=256)
def _hour_table(zone: str, block: int) -> np.ndarray:
    """UTC offset (ms) of ``zone`` for each UTC hour of ``block`` (hours ``block * _BLOCK_HOURS``
    on), NaN for an hour whose offset changes within it. Read-only: it is shared."""
    out = hour_offsets(
        (block * _BLOCK_HOURS + np.arange(_BLOCK_HOURS, dtype=np.float64)) * HOUR_MS, zone
    )
    out.flags.writeable = False
    return out


def hour_offsets(starts: np.ndarray, zone: str) -> np.ndarray:
    """UTC offset (ms) of ``zone`` for each UTC hour starting at ``starts``; NaN for an hour
    whose offset changes within it (the batch and the stream's clock share this rule)."""
    a = offsets_ms(starts, zone)
    b = offsets_ms(starts + (HOUR_MS - 1.0), zone)
    return np.where(a == b, a, np.nan)


@njit(cache=True, nogil=True)
def _fill_from_table(t: np.ndarray, hour0: float, table: np.ndarray, local: np.ndarray) -> bool:
    """``local[i, z] = t[i] + table[z, hour of t[i] - hour0]`` for finite times; True if some
    hour was split (its bars are NaN here: the caller converts them one by one)."""
    split = False
    for i in range(t.shape[0]):
        k = int(np.floor(t[i] / HOUR_MS) - hour0)
        for z in range(table.shape[0]):
            x = t[i] + table[z, k]
            local[i, z] = x
            split |= np.isnan(x)
    return split


def _hour_offsets(t: np.ndarray, zones: tuple[str, ...], local: np.ndarray) -> np.ndarray:
    """:func:`local_times` for bars spanning many blocks: pandas converts the start and end of
    each hour that holds bars (njit passes find the runs and fill the bars)."""
    group, start = _hour_runs(t)
    off = np.zeros((len(zones), len(start)))
    utc = np.array([zone == "UTC" for zone in zones])
    splits = []
    for z, zone in enumerate(zones):
        if not utc[z]:
            off[z] = offsets_ms(start, zone)
            split = off[z] != offsets_ms(start + (HOUR_MS - 1.0), zone)
            if split.any():
                splits.append((z, zone, np.flatnonzero(split[group])))
    _fill_local(t, group, off, utc, local)
    for z, zone, rows in splits:  # the offset changes within these hours (DST): per bar
        local[rows, z] = t[rows] + offsets_ms(t[rows], zone)
    return local


def local_ms(bars: np.ndarray, zone: str) -> np.ndarray:
    """Each bar's open time as local wall-clock epoch ms in ``zone`` (see :func:`local_times`)."""
    if zone == "UTC":
        return bars[:, TIME].copy()
    return local_times(bars, (zone,))[:, 0]


def _offset_one(t: float, zone: str) -> float:
    stamp = _EPOCH + timedelta(milliseconds=math.floor(t))
    offset = stamp.astimezone(zone_info(zone)).utcoffset()
    assert offset is not None
    return offset.total_seconds() * 1000.0


def local_ms_one(t: float, zone: str) -> float:
    """``local_ms`` for one timestamp."""
    return t if zone == "UTC" else t + _offset_one(t, zone)


@njit(cache=True, nogil=True)
def _times_ok(bars: np.ndarray) -> bool:
    """One pass instead of ``isfinite`` + ``diff`` temporaries (for finite times, ``b - a < 0``
    iff ``b < a``)."""
    prev = -np.inf
    for i in range(bars.shape[0]):
        t = bars[i, TIME]
        if not np.isfinite(t) or t < prev:
            return False
        prev = t
    return True


def check_times(bars: np.ndarray) -> None:
    """Period arithmetic needs finite, non-decreasing open times."""
    if not _times_ok(bars):
        raise ValueError("bar open times (TIME column) must be finite and non-decreasing")


def init_state(params: Params) -> np.ndarray:
    """One state row per timeframe."""
    st = np.full((len(TIMEFRAMES), 10), np.nan)
    st[:, [S_CHR, S_CLR, S_PHR, S_PLR, S_START]] = NONE
    return st


@njit(cache=True, inline="always")
def _rows(
    i0: int, i1: int, bars: np.ndarray, local: np.ndarray, state: np.ndarray, out: np.ndarray
) -> None:
    """Rows ``i0..i1-1`` (every column; no NaN prefill needed): ``step`` is one row, the batch
    all of them. Inlined once into each, outside the row loop, and written out rather than
    calling a helper per row and timeframe: every call taking arrays costs an atomic
    incref/decref per array argument."""
    for i in range(i0, i1):
        h = bars[i, HIGH]
        lo = bars[i, LOW]
        for k in range(3):  # 4h (UTC), day, week (local)
            if k == 0:
                pid = np.floor(bars[i, TIME] / MS_4H)
            elif k == 1:
                pid = np.floor(local[i] / MS_DAY)
            else:
                pid = np.floor((local[i] - WEEK_SHIFT) / MS_WEEK)
            if pid != state[k, S_ID]:
                if not np.isnan(state[k, S_ID]):  # the period that ended becomes the previous
                    state[k, S_PH] = state[k, S_CH]
                    state[k, S_PHR] = state[k, S_CHR]
                    state[k, S_PL] = state[k, S_CL]
                    state[k, S_PLR] = state[k, S_CLR]
                state[k, S_ID] = pid
                state[k, S_CH] = h
                state[k, S_CHR] = i
                state[k, S_CL] = lo
                state[k, S_CLR] = i
                state[k, S_START] = i
            else:
                if h > state[k, S_CH]:
                    state[k, S_CH] = h
                    state[k, S_CHR] = i
                if lo < state[k, S_CL]:
                    state[k, S_CL] = lo
                    state[k, S_CLR] = i
            col = k * BLOCK
            out[i, col + P_HIGH] = state[k, S_PH]
            out[i, col + P_HIGH_REF] = state[k, S_PHR]
            out[i, col + P_LOW] = state[k, S_PL]
            out[i, col + P_LOW_REF] = state[k, S_PLR]
            out[i, col + P_BROKEN_HIGH] = 1.0 if state[k, S_CH] > state[k, S_PH] else 0.0
            out[i, col + P_BROKEN_LOW] = 1.0 if state[k, S_CL] < state[k, S_PL] else 0.0
            out[i, col + P_START] = state[k, S_START]


@njit(cache=True)
def step(i: int, bars: np.ndarray, local: np.ndarray, state: np.ndarray, out: np.ndarray) -> None:
    """Write row ``i`` (every column) from bars ``0..i`` and ``local[i]`` (local wall-clock
    epoch ms)."""
    _rows(i, i + 1, bars, local, state, out)


@njit(cache=True, **NO_NRT)
def rows(
    i0: int, i1: int, bars: np.ndarray, local: np.ndarray, state: np.ndarray, out: np.ndarray
) -> None:
    """``step`` for rows ``i0..i1-1`` in one call (the batch runs a chunk at a time): a call per
    row passes every array descriptor again and spills the loop's registers (see liquidity.rows)."""
    _rows(i0, i1, bars, local, state, out)


@njit(cache=True, nogil=True)
def _run(bars: np.ndarray, local: np.ndarray, state: np.ndarray, out: np.ndarray) -> None:
    _rows(0, bars.shape[0], bars, local, state, out)


def run(bars: np.ndarray, params: Params | None = None) -> np.ndarray:
    """Batch form over all bars; ``local_ms`` is derived from each bar's own timestamp."""
    p = params or Params()
    check_bars(bars)
    check_times(bars)
    out = empty_out(bars.shape[0], len(COLUMNS))
    # UTC: the step reads the TIME column in place (``local_ms`` would only copy it)
    local = bars[:, TIME] if p.periods_zone == "UTC" else local_ms(bars, p.periods_zone)
    _run(bars, local, init_state(p), out)
    return out
