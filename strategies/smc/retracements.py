"""Retracement of the latest swing leg, causally (smc.md §3.8).

``top`` / ``bottom`` = latest swing high / low confirmed at or before ``t`` (swings ``out``:
``last_high_*`` / ``last_low_*``). The *direction* follows the latest confirmed swing:

* after a swing high (``retracement_dir = +1``, the up-leg is being retraced)
  ``current = (top - l[t]) / (top - bottom) * 100``;
* after a swing low (``-1``) ``current = (h[t] - bottom) / (top - bottom) * 100``;
* ``deepest`` = max of ``current`` over the bars since that swing's pivot (the bars between the
  pivot and its confirmation are included, measured against the range known now; they are
  re-read once, when the swing is confirmed: O(R) per swing).

``use_close`` measures with the close instead of the wick. No value (NaN) until both a high and
a low are known or while ``top <= bottom`` (the range is degenerate). When one bar confirms a
high and a low at once (an outside pivot) the direction is kept (+1 if there was none yet).
Values are not clipped: below 0 or above 100 means price is beyond the range. Known at ``t``.
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
    check_bars,
    empty_out,
)

COLUMNS = (
    "retracement_dir", "retracement_current", "retracement_deepest", "retracement_ref",
    "retracement_top", "retracement_top_ref", "retracement_bottom", "retracement_bottom_ref",
)  # fmt: skip
INT_COLUMNS = frozenset(
    {"retracement_dir", "retracement_ref", "retracement_top_ref", "retracement_bottom_ref"}
)
DIR, CURRENT, DEEPEST, REF, TOP, TOP_REF, BOTTOM, BOTTOM_REF = range(8)
_DIR, _REF, _DEEP = 0, 1, 2
STATE_SIZE = 3


class RetracementParams(BaseModel):
    """Retracement parameters."""

    model_config = ConfigDict(frozen=True)

    retracement_use_close: bool = Field(
        False, description="measure with the close instead of the low/high of the bar"
    )


def init_state(params: RetracementParams | None = None) -> np.ndarray:
    """Fresh state: no direction, no reference swing, no deepest value."""
    return np.array([0.0, NONE, np.nan])


@njit(cache=True, inline="always")
def _pct(k: int, bars: np.ndarray, d: float, top: float, bot: float, use_close: bool) -> float:
    rng = top - bot
    if not rng > 0.0:  # NaN or degenerate range
        return np.nan
    if d > 0:
        return (top - (bars[k, CLOSE] if use_close else bars[k, LOW])) / rng * 100.0
    return ((bars[k, CLOSE] if use_close else bars[k, HIGH]) - bot) / rng * 100.0


@njit(cache=True, inline="always")
def _step(
    i: int,
    bars: np.ndarray,
    swing_out: np.ndarray,
    use_close: bool,
    state: np.ndarray,
    out: np.ndarray,
) -> None:
    top, bot = swing_out[i, sw.LAST_H], swing_out[i, sw.LAST_L]
    new_h = swing_out[i, sw.SH] == 1.0
    new_l = swing_out[i, sw.SL] == 1.0
    if new_h or new_l:
        if new_h and new_l:
            state[_DIR] = 1.0 if state[_DIR] == 0.0 else state[_DIR]
            state[_REF] = swing_out[i, sw.SH_REF]
        elif new_h:
            state[_DIR] = 1.0
            state[_REF] = swing_out[i, sw.SH_REF]
        else:
            state[_DIR] = -1.0
            state[_REF] = swing_out[i, sw.SL_REF]
        deep = np.nan
        for k in range(int(state[_REF]), i):  # bars since the pivot, known only now
            v = _pct(k, bars, state[_DIR], top, bot, use_close)
            if not v <= deep:  # also replaces NaN
                deep = v
        state[_DEEP] = deep
    cur = _pct(i, bars, state[_DIR], top, bot, use_close) if state[_DIR] != 0.0 else np.nan
    if not cur <= state[_DEEP]:
        state[_DEEP] = cur
    out[i, DIR] = state[_DIR]
    out[i, CURRENT] = cur
    out[i, DEEPEST] = state[_DEEP]
    out[i, REF] = state[_REF]
    out[i, TOP] = top
    out[i, TOP_REF] = swing_out[i, sw.LAST_H_REF]
    out[i, BOTTOM] = bot
    out[i, BOTTOM_REF] = swing_out[i, sw.LAST_L_REF]


@njit(cache=True, **NO_NRT)
def step(
    i: int,
    bars: np.ndarray,
    swing_out: np.ndarray,
    use_close: bool,
    state: np.ndarray,
    out: np.ndarray,
) -> None:
    """Write row ``i`` from bars ``0..i`` and swing rows ``0..i``."""
    _step(i, bars, swing_out, use_close, state, out)


@njit(cache=True, **NO_NRT)
def rows(
    i0: int,
    i1: int,
    bars: np.ndarray,
    swing_out: np.ndarray,
    use_close: bool,
    state: np.ndarray,
    out: np.ndarray,
) -> None:
    """``step`` for rows ``i0..i1-1`` in one call (the batch runs a chunk at a time): a call per
    row passes every array descriptor again and spills the loop's registers (see liquidity.rows)."""
    for i in range(i0, i1):
        _step(i, bars, swing_out, use_close, state, out)


@njit(cache=True, nogil=True, **NO_NRT)
def _run(
    bars: np.ndarray, swing_out: np.ndarray, use_close: bool, state: np.ndarray, out: np.ndarray
) -> None:
    for i in range(bars.shape[0]):
        _step(i, bars, swing_out, use_close, state, out)


def run(bars: np.ndarray, swing_out: np.ndarray, params: RetracementParams) -> np.ndarray:
    """Batch form: the same ``step`` as the stream, in one njit loop."""
    check_bars(bars, ("swing_out", swing_out, len(sw.COLUMNS)))
    out = empty_out(bars.shape[0], len(COLUMNS))  # step writes every column of every row
    _run(bars, swing_out, params.retracement_use_close, init_state(params), out)
    return out
