"""Trading sessions and ICT kill zones in their market's time zone (docs/smc.md §3.7).

A session is ``[start, end)`` local time in an IANA zone (DST-aware; ``start > end`` wraps
midnight). Bar ``t`` is in it when its open time, converted, falls inside. Running high/low from
the session's first bar (NaN outside). Presets, defined where the market is so DST moves them:

=====================  ================  ===============
column prefix          zone              local hours
=====================  ================  ===============
``session_asia``       Asia/Tokyo        09:00 - 18:00
``session_london``     Europe/London     08:00 - 17:00
``session_new_york``   America/New_York  08:00 - 17:00
``session_kz_asian``   America/New_York  20:00 - 00:00  (ICT Asian kill zone)
``session_kz_london_open``  America/New_York  02:00 - 05:00
``session_kz_new_york_open``  America/New_York  07:00 - 10:00
``session_kz_london_close``  America/New_York  10:00 - 12:00
``session_custom``     ``session_custom_zone``  ``session_custom_start`` - ``_end`` (off by default)
=====================  ================  ===============

ICT kill zones are quoted in New York time by their author, hence that zone for all four.
Columns per session: ``_active`` 0/1, ``_high``/``_low`` running extremes of the current session
instance, ``_start`` its first row (-1 outside). An instance is one local calendar day's session
(for a wrapping one, the day it started), so a gap in the data never joins two days.

The njit step reads ``local`` = each bar's local wall-clock epoch ms per zone (``periods.local_ms``,
a per-bar function of the bar's own timestamp, hence causal).
"""

from __future__ import annotations

import re

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from strategies.smc._common import HIGH, LOW, NO_NRT, NONE, check_bars, empty_out
from strategies.smc.periods import (
    MS_DAY,
    check_times,
    local_times,
    zone_info,
)

# name, zone, start, end (local "HH:MM")
PRESETS = (
    ("asia", "Asia/Tokyo", "09:00", "18:00"),
    ("london", "Europe/London", "08:00", "17:00"),
    ("new_york", "America/New_York", "08:00", "17:00"),
    ("kz_asian", "America/New_York", "20:00", "00:00"),
    ("kz_london_open", "America/New_York", "02:00", "05:00"),
    ("kz_new_york_open", "America/New_York", "07:00", "10:00"),
    ("kz_london_close", "America/New_York", "10:00", "12:00"),
)
SESSIONS = tuple(p[0] for p in PRESETS) + ("custom",)
_FIELDS = ("active", "high", "low", "start")
COLUMNS = tuple(f"session_{s}_{f}" for s in SESSIONS for f in _FIELDS)
INT_COLUMNS = frozenset(c for c in COLUMNS if c.endswith(("_active", "_start")))
S_ACTIVE, S_HIGH, S_LOW, S_START = range(4)
BLOCK = len(_FIELDS)  # session k's columns start at k * BLOCK
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _ms_of_day(hhmm: str) -> float:
    m = _HHMM.match(hhmm)
    if m is None:
        raise ValueError(f"session time must be 'HH:MM' (got {hhmm!r})")
    return (int(m.group(1)) * 60 + int(m.group(2))) * 60_000.0


class Params(BaseModel):
    """Optional custom session (the presets are fixed)."""

    model_config = ConfigDict(frozen=True)

    session_custom_zone: str | None = Field(
        default=None, description="IANA zone of the custom session (None = no custom session)"
    )
    session_custom_start: str = Field(default="00:00", description="custom start, local HH:MM")
    session_custom_end: str = Field(default="00:00", description="custom end, local HH:MM")

    @field_validator("session_custom_zone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        if v is not None:
            zone_info(v)
        return v

    @field_validator("session_custom_start", "session_custom_end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        _ms_of_day(v)
        return v

    @model_validator(mode="after")
    def _non_empty(self) -> Params:
        if self.session_custom_zone is not None and (
            self.session_custom_start == self.session_custom_end
        ):
            raise ValueError("custom session start and end must differ")
        return self


def _spec(params: Params) -> tuple[tuple[str, ...], np.ndarray]:
    """Distinct zones and per session ``[zone column, start ms, end ms, enabled]``."""
    rows = [(z, a, b, True) for _, z, a, b in PRESETS]
    custom = params.session_custom_zone
    rows.append(
        (
            custom or "UTC",
            params.session_custom_start,
            params.session_custom_end,
            custom is not None,
        )
    )
    zones = tuple(dict.fromkeys(r[0] for r in rows))
    spec = np.array(
        [[zones.index(z), _ms_of_day(a), _ms_of_day(b), float(on)] for z, a, b, on in rows]
    )
    return zones, spec


def init_state(params: Params) -> np.ndarray:
    """Per session: instance id, running high, running low, first row."""
    st = np.full((len(SESSIONS), 4), np.nan)
    st[:, 3] = NONE
    return st


@njit(cache=True, inline="always")
def _step(
    i: int,
    bars: np.ndarray,
    local: np.ndarray,
    spec: np.ndarray,
    state: np.ndarray,
    out: np.ndarray,
) -> None:
    h = bars[i, HIGH]
    lo = bars[i, LOW]
    for k in range(spec.shape[0]):
        col = k * BLOCK
        lt = local[i, int(spec[k, 0])]
        day = np.floor(lt / MS_DAY)
        tod = lt - day * MS_DAY
        start = spec[k, 1]
        end = spec[k, 2]
        if spec[k, 3] == 0.0:
            inside = False
        elif start < end:
            inside = start <= tod < end
        else:
            inside = tod >= start or tod < end
            if tod < end:
                day -= 1.0  # the instance that started the previous local evening
        if not inside:
            out[i, col + S_ACTIVE] = 0.0
            out[i, col + S_HIGH] = np.nan
            out[i, col + S_LOW] = np.nan
            out[i, col + S_START] = NONE
            continue
        st = state[k]
        if day != st[0]:
            st[0] = day
            st[1] = h
            st[2] = lo
            st[3] = i
        else:
            st[1] = max(st[1], h)
            st[2] = min(st[2], lo)
        out[i, col + S_ACTIVE] = 1.0
        out[i, col + S_HIGH] = st[1]
        out[i, col + S_LOW] = st[2]
        out[i, col + S_START] = st[3]


@njit(cache=True, **NO_NRT)
def step(
    i: int,
    bars: np.ndarray,
    local: np.ndarray,
    spec: np.ndarray,
    state: np.ndarray,
    out: np.ndarray,
) -> None:
    """Write row ``i`` from bar ``i`` and ``local[i]``."""
    _step(i, bars, local, spec, state, out)


@njit(cache=True, **NO_NRT)
def rows(
    i0: int,
    i1: int,
    bars: np.ndarray,
    local: np.ndarray,
    spec: np.ndarray,
    state: np.ndarray,
    out: np.ndarray,
) -> None:
    """``step`` for rows ``i0..i1-1`` in one call (the batch runs a chunk at a time): a call per
    row passes every array descriptor again and spills the loop's registers (see liquidity.rows)."""
    for i in range(i0, i1):
        _step(i, bars, local, spec, state, out)


@njit(cache=True, nogil=True)
def _run(
    bars: np.ndarray, local: np.ndarray, spec: np.ndarray, state: np.ndarray, out: np.ndarray
) -> None:
    for i in range(bars.shape[0]):  # step writes every column: no NaN prefill needed
        _step(i, bars, local, spec, state, out)


def run(bars: np.ndarray, params: Params | None = None) -> np.ndarray:
    """Batch form over all bars; local times are derived from each bar's own timestamp."""
    p = params or Params()
    check_bars(bars)
    check_times(bars)
    zones, spec = _spec(p)
    out = empty_out(bars.shape[0], len(COLUMNS))
    _run(bars, local_times(bars, zones), spec, init_state(p), out)
    return out
