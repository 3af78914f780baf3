"""Market structure: BOS / CHoCH state machine, trend, strong/weak highs and lows (smc.md §3.3).

One instance per *scale*: it reads only a swings ``out`` array (``strategies.smc.swings``), so the
same code serves the internal scale (default swing length 5) and the swing scale (default 50);
the lead runs swings + structure once per scale and names the columns with
:func:`column_names` (``structure_internal_…`` / ``structure_swing_…``).

State machine, bar ``t`` (after the swings of row ``t`` are read):

* ``H`` / ``Lo`` = latest confirmed, not yet broken swing high / low; a newly confirmed swing
  replaces it (even if less extreme). A swing confirmed on bar ``t`` replaces ``H`` *before* the
  close of ``t`` is compared (``H`` at ``t`` = latest swing confirmed at ``<= t``), so an older,
  lower ``H`` that the close of ``t`` exceeds is dropped without an event; the new pivot itself
  cannot be broken on its confirmation bar (its high bounds every later high up to ``t``).
* bullish break if ``c[t] > H`` (wick mode ``h[t] > H``): **CHoCH** if ``trend = down``, else
  **BOS** (the first break from ``none`` is a BOS); ``trend := up``; ``H`` is consumed.
  Bearish mirrored. A break is written on row ``t`` (the known bar) with the broken level and
  the pivot ``ref`` (lag ``t - ref >= R + 1``: no bar of the confirmation window exceeds the pivot).
* If one bar breaks both sides (wick mode, outside bar) both events are written; the order that
  sets the trend follows the usual OHLC path: a bar closing at/above its open is taken to have
  made its low first (bearish break first, bullish last), otherwise the high first.
* Strong/weak (meant for the swing scale, computed on every scale because it is cheap): after a
  bullish break at ``t`` of pivot ``p`` the *strong low* is the lowest low in ``[p, t]`` (last on
  ties) and the *weak high* the running max of highs since ``t`` (first on ties); the strong high /
  weak low are cleared. Mirrored after a bearish break.

Columns (base names; ``kind`` 0 none, 1 BOS, 2 CHoCH; trend +1 up, -1 down, 0 none):
``structure_bull_kind/level/ref``, ``structure_bear_kind/level/ref`` (events),
``structure_trend``, ``structure_high_level/ref`` and ``structure_low_level/ref`` (current
unbroken ``H``/``Lo``), ``structure_strong_low/_ref``, ``structure_weak_high/_ref`` (trend up),
``structure_strong_high/_ref``, ``structure_weak_low/_ref`` (trend down).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field

from strategies.smc import swings as sw
from strategies.smc._common import (
    CLOSE,
    HIGH,
    LOW,
    NO_NRT,
    NONE,
    OPEN,
    check_bars,
    empty_out,
)

COLUMNS = (
    "structure_bull_kind", "structure_bull_level", "structure_bull_ref",
    "structure_bear_kind", "structure_bear_level", "structure_bear_ref",
    "structure_trend",
    "structure_high_level", "structure_high_ref", "structure_low_level", "structure_low_ref",
    "structure_strong_low", "structure_strong_low_ref",
    "structure_weak_high", "structure_weak_high_ref",
    "structure_strong_high", "structure_strong_high_ref",
    "structure_weak_low", "structure_weak_low_ref",
)  # fmt: skip
INT_COLUMNS = frozenset(
    {"structure_bull_kind", "structure_bull_ref", "structure_bear_kind", "structure_bear_ref",
     "structure_trend", "structure_high_ref", "structure_low_ref", "structure_strong_low_ref",
     "structure_weak_high_ref", "structure_strong_high_ref", "structure_weak_low_ref"}
)  # fmt: skip
# column positions (used by dependent concepts: order blocks)
BULL_KIND, BULL_LVL, BULL_REF, BEAR_KIND, BEAR_LVL, BEAR_REF, TREND = range(7)
HIGH_LVL, HIGH_REF, LOW_LVL, LOW_REF = 7, 8, 9, 10
STRONG_LOW, STRONG_LOW_REF, WEAK_HIGH, WEAK_HIGH_REF = 11, 12, 13, 14
STRONG_HIGH, STRONG_HIGH_REF, WEAK_LOW, WEAK_LOW_REF = 15, 16, 17, 18
NO_BREAK, BOS, CHOCH = 0.0, 1.0, 2.0

# state slots
_TREND, _H, _H_REF, _L, _L_REF = 0, 1, 2, 3, 4
_SL, _SL_REF, _WH, _WH_REF, _SH, _SH_REF, _WL, _WL_REF = 5, 6, 7, 8, 9, 10, 11, 12
STATE_SIZE = 13


class StructureParams(BaseModel):
    """Structure parameters (swing lengths are those of the swings run feeding each scale)."""

    model_config = ConfigDict(frozen=True)

    structure_internal_length: int = Field(
        5, ge=1, le=500, description="swing length (left = right) of the internal scale"
    )
    structure_swing_length: int = Field(
        50, ge=1, le=1000, description="swing length (left = right) of the swing scale"
    )
    structure_wick_break: bool = Field(
        False, description="break on the wick (high/low) instead of the close"
    )


def column_names(scale: str) -> tuple[str, ...]:
    """Column names of one scale, e.g. ``structure_internal_trend`` for ``scale='internal'``."""
    return tuple(c.replace("structure_", f"structure_{scale}_", 1) for c in COLUMNS)


def int_column_names(scale: str) -> frozenset[str]:
    """``INT_COLUMNS`` renamed for one scale."""
    return frozenset(c.replace("structure_", f"structure_{scale}_", 1) for c in INT_COLUMNS)


def init_state(params: StructureParams | None = None) -> np.ndarray:
    """Fresh state: no trend, no swing, no strong/weak level."""
    st = np.full(STATE_SIZE, np.nan, dtype=np.float64)
    st[_TREND] = 0.0
    for k in (_H_REF, _L_REF, _SL_REF, _WH_REF, _SH_REF, _WL_REF):
        st[k] = NONE
    return st


@njit(cache=True, inline="always")
def _break_up(i: int, bars: np.ndarray, state: np.ndarray, out: np.ndarray) -> None:
    p = int(state[_H_REF])
    out[i, BULL_KIND] = CHOCH if state[_TREND] == -1.0 else BOS
    out[i, BULL_LVL] = state[_H]
    out[i, BULL_REF] = p
    state[_TREND] = 1.0
    state[_H] = np.nan
    state[_H_REF] = NONE
    lo = np.inf
    lo_ref = p
    for k in range(p, i + 1):
        if bars[k, LOW] <= lo:
            lo = bars[k, LOW]
            lo_ref = k
    state[_SL] = lo
    state[_SL_REF] = lo_ref
    state[_WH] = bars[i, HIGH]
    state[_WH_REF] = i
    state[_SH] = np.nan
    state[_SH_REF] = NONE
    state[_WL] = np.nan
    state[_WL_REF] = NONE


@njit(cache=True, inline="always")
def _break_down(i: int, bars: np.ndarray, state: np.ndarray, out: np.ndarray) -> None:
    p = int(state[_L_REF])
    out[i, BEAR_KIND] = CHOCH if state[_TREND] == 1.0 else BOS
    out[i, BEAR_LVL] = state[_L]
    out[i, BEAR_REF] = p
    state[_TREND] = -1.0
    state[_L] = np.nan
    state[_L_REF] = NONE
    hi = -np.inf
    hi_ref = p
    for k in range(p, i + 1):
        if bars[k, HIGH] >= hi:
            hi = bars[k, HIGH]
            hi_ref = k
    state[_SH] = hi
    state[_SH_REF] = hi_ref
    state[_WL] = bars[i, LOW]
    state[_WL_REF] = i
    state[_SL] = np.nan
    state[_SL_REF] = NONE
    state[_WH] = np.nan
    state[_WH_REF] = NONE


@njit(cache=True, inline="always")
def _step(
    i: int,
    bars: np.ndarray,
    swing_out: np.ndarray,
    wick_break: bool,
    state: np.ndarray,
    out: np.ndarray,
) -> None:
    out[i, BULL_KIND] = NO_BREAK  # every column of the row is written (batch uses np.empty)
    out[i, BULL_LVL] = np.nan
    out[i, BULL_REF] = NONE
    out[i, BEAR_KIND] = NO_BREAK
    out[i, BEAR_LVL] = np.nan
    out[i, BEAR_REF] = NONE
    # extend the weak extremes with this bar before any break resets them
    if state[_TREND] == 1.0 and bars[i, HIGH] > state[_WH]:
        state[_WH] = bars[i, HIGH]
        state[_WH_REF] = i
    elif state[_TREND] == -1.0 and bars[i, LOW] < state[_WL]:
        state[_WL] = bars[i, LOW]
        state[_WL_REF] = i
    # newly confirmed swings replace the current H / Lo
    if swing_out[i, sw.SH] == 1.0:
        state[_H] = swing_out[i, sw.SH_LVL]
        state[_H_REF] = swing_out[i, sw.SH_REF]
    if swing_out[i, sw.SL] == 1.0:
        state[_L] = swing_out[i, sw.SL_LVL]
        state[_L_REF] = swing_out[i, sw.SL_REF]
    up_px = bars[i, HIGH] if wick_break else bars[i, CLOSE]
    dn_px = bars[i, LOW] if wick_break else bars[i, CLOSE]
    up = state[_H_REF] >= 0.0 and up_px > state[_H]
    dn = state[_L_REF] >= 0.0 and dn_px < state[_L]
    if up and dn and bars[i, CLOSE] >= bars[i, OPEN]:
        _break_down(i, bars, state, out)
        _break_up(i, bars, state, out)
    elif up and dn:
        _break_up(i, bars, state, out)
        _break_down(i, bars, state, out)
    elif up:
        _break_up(i, bars, state, out)
    elif dn:
        _break_down(i, bars, state, out)
    out[i, TREND] = state[_TREND]
    out[i, HIGH_LVL] = state[_H]
    out[i, HIGH_REF] = state[_H_REF]
    out[i, LOW_LVL] = state[_L]
    out[i, LOW_REF] = state[_L_REF]
    out[i, STRONG_LOW] = state[_SL]
    out[i, STRONG_LOW_REF] = state[_SL_REF]
    out[i, WEAK_HIGH] = state[_WH]
    out[i, WEAK_HIGH_REF] = state[_WH_REF]
    out[i, STRONG_HIGH] = state[_SH]
    out[i, STRONG_HIGH_REF] = state[_SH_REF]
    out[i, WEAK_LOW] = state[_WL]
    out[i, WEAK_LOW_REF] = state[_WL_REF]


# no array refcounting per call, and the batch loop inlines the step body (see swings.step)
@njit(cache=True, **NO_NRT)
def step(
    i: int,
    bars: np.ndarray,
    swing_out: np.ndarray,
    wick_break: bool,
    state: np.ndarray,
    out: np.ndarray,
) -> None:
    """Write row ``i`` from bars ``0..i`` and swing rows ``0..i``."""
    _step(i, bars, swing_out, wick_break, state, out)


@njit(cache=True, **NO_NRT)
def rows(
    i0: int,
    i1: int,
    bars: np.ndarray,
    swing_out: np.ndarray,
    wick_break: bool,
    state: np.ndarray,
    out: np.ndarray,
) -> None:
    """``step`` for rows ``i0..i1-1`` in one call (the batch runs a chunk at a time): a call per
    row passes every array descriptor again and spills the loop's registers (see liquidity.rows)."""
    for i in range(i0, i1):
        _step(i, bars, swing_out, wick_break, state, out)


@njit(cache=True, nogil=True, **NO_NRT)
def _run(
    bars: np.ndarray, swing_out: np.ndarray, wick_break: bool, state: np.ndarray, out: np.ndarray
) -> None:
    for i in range(bars.shape[0]):
        _step(i, bars, swing_out, wick_break, state, out)


def run(bars: np.ndarray, swing_out: np.ndarray, params: StructureParams) -> np.ndarray:
    """Batch form: the same ``step`` as the stream, in one njit loop."""
    check_bars(bars, ("swing_out", swing_out, len(sw.COLUMNS)))
    out = empty_out(bars.shape[0], len(COLUMNS))  # step writes every column of every row
    _run(bars, swing_out, params.structure_wick_break, init_state(params), out)
    return out


@njit(cache=True, inline="always")
def _filter_step(i: int, int_out: np.ndarray, swing_out: np.ndarray) -> None:
    for kind, lvl, ref in ((BULL_KIND, BULL_LVL, BULL_REF), (BEAR_KIND, BEAR_LVL, BEAR_REF)):
        both = int_out[i, kind] != NO_BREAK and swing_out[i, kind] != NO_BREAK
        if both and int_out[i, lvl] == swing_out[i, lvl]:
            int_out[i, kind] = NO_BREAK
            int_out[i, lvl] = np.nan
            int_out[i, ref] = NONE


@njit(cache=True, **NO_NRT)
def filter_internal_step(i: int, int_out: np.ndarray, swing_out: np.ndarray) -> None:
    """Drop (in place) an internal event of row ``i`` that breaks the same level, in the same
    direction, as the swing-scale event on the same row (both scales see the same pivot).

    Only the event columns change; the internal trend and states are untouched, so the
    internal state machine is unaffected. Row-local, hence causal.
    """
    _filter_step(i, int_out, swing_out)


@njit(cache=True, **NO_NRT)
def filter_internal_rows(i0: int, i1: int, int_out: np.ndarray, swing_out: np.ndarray) -> None:
    """``filter_internal_step`` for rows ``i0..i1-1`` (row-local: the internal steps of the rows
    before never read the filtered event columns, so filtering after the chunk's steps gives the
    same rows as filtering after each step)."""
    for i in range(i0, i1):
        _filter_step(i, int_out, swing_out)


@njit(cache=True, nogil=True, **NO_NRT)
def _filter_all(int_out: np.ndarray, swing_out: np.ndarray) -> None:
    for i in range(int_out.shape[0]):
        _filter_step(i, int_out, swing_out)


def filter_internal(int_out: np.ndarray, swing_out: np.ndarray) -> np.ndarray:
    """Copy of the internal structure ``out`` without the events duplicated by the swing scale
    (``int_out`` and ``swing_out`` are both structure outputs)."""
    if int_out.shape != swing_out.shape or int_out.shape[1] != len(COLUMNS):
        raise ValueError(
            f"two structure outputs of equal shape expected, got {int_out.shape}, {swing_out.shape}"
        )
    return filter_internal_inplace(int_out.copy(), swing_out)


def filter_internal_inplace(int_out: np.ndarray, swing_out: np.ndarray) -> np.ndarray:
    """:func:`filter_internal` on ``int_out`` itself (for the owner of a fresh buffer)."""
    _filter_all(int_out, swing_out)
    return int_out
