"""Swing highs and lows, confirmed causally (docs/smc.md §3.1).

Bar ``p`` is a swing high when ``h[p] > max(h[p-L..p-1])`` (strict left) and
``h[p] >= max(h[p+1..p+R])`` (non-strict right, so a plateau yields one pivot: its first bar).
It is *known* only at ``p + R``: that is the row where the event is written, with ``ref`` = p.
Lows mirrored. An outside bar may be both. There is no special case for the first or last bar
(the reference package forces both to be swings, which rewrites the newest row every bar).

Row columns (one row per bar, frozen once written):

* ``swing_high`` 1/0 — a swing high was confirmed at this bar; ``swing_high_ref`` its pivot bar;
  ``swing_high_level`` its high; ``swing_high_kind`` +1 higher high, -1 lower high, 0 first/equal.
* the same four for lows (``kind`` +1 higher low, -1 lower low).
* ``last_high_level``/``last_high_ref`` and ``last_low_level``/``last_low_ref``: the latest swing
  confirmed at or before this bar (what downstream concepts build on).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from strategies.smc._common import HIGH, LOW, NO_NRT, NONE, empty_out

COLUMNS = (
    "swing_high", "swing_high_ref", "swing_high_level", "swing_high_kind",
    "swing_low", "swing_low_ref", "swing_low_level", "swing_low_kind",
    "last_high_level", "last_high_ref", "last_low_level", "last_low_ref",
)  # fmt: skip
INT_COLUMNS = frozenset(
    {"swing_high", "swing_high_ref", "swing_high_kind", "swing_low", "swing_low_ref",
     "swing_low_kind", "last_high_ref", "last_low_ref"}
)  # fmt: skip
# column positions (used by dependent concepts)
SH, SH_REF, SH_LVL, SH_KIND, SL, SL_REF, SL_LVL, SL_KIND = range(8)
LAST_H, LAST_H_REF, LAST_L, LAST_L_REF = 8, 9, 10, 11
STATE_SIZE = 4  # last high level, last high ref, last low level, last low ref


def init_state() -> np.ndarray:
    """Fresh state: no swing known yet."""
    return np.array([np.nan, NONE, np.nan, NONE], dtype=np.float64)


@njit(cache=True, inline="always")
def _kind(new: float, prev: float) -> float:
    if np.isnan(prev) or new == prev:
        return 0.0
    return 1.0 if new > prev else -1.0


@njit(cache=True, inline="always")
def _is_pivot(bars: np.ndarray, col: int, sign: float, p: int, left: int, i: int) -> bool:
    """``sign * x[p]`` strictly above the ``left`` bars before ``p`` and at least every bar in
    ``(p, i]`` (``sign`` +1 highs, -1 lows).

    Scanned outward from ``p``, alternating sides: the neighbours are the likeliest to
    disqualify a pivot, so most bars are rejected after one or two reads (the result is an AND
    of independent comparisons, hence the same in any order).
    """
    v = sign * bars[p, col]
    right = i - p
    near = min(left, right)
    for d in range(1, near + 1):
        if sign * bars[p + d, col] > v or sign * bars[p - d, col] >= v:
            return False
    for d in range(near + 1, left + 1):
        if sign * bars[p - d, col] >= v:
            return False
    for d in range(near + 1, right + 1):
        if sign * bars[p + d, col] > v:
            return False
    return True


@njit(cache=True, inline="always")
def _step(
    i: int, bars: np.ndarray, left: int, right: int, state: np.ndarray, out: np.ndarray
) -> None:
    out[i, SH] = 0.0
    out[i, SH_REF] = NONE
    out[i, SH_LVL] = np.nan
    out[i, SH_KIND] = 0.0
    out[i, SL] = 0.0
    out[i, SL_REF] = NONE
    out[i, SL_LVL] = np.nan
    out[i, SL_KIND] = 0.0
    p = i - right
    if p >= left:
        if _is_pivot(bars, HIGH, 1.0, p, left, i):
            hp = bars[p, HIGH]
            out[i, SH] = 1.0
            out[i, SH_REF] = p
            out[i, SH_LVL] = hp
            out[i, SH_KIND] = _kind(hp, state[0])
            state[0] = hp
            state[1] = p
        if _is_pivot(bars, LOW, -1.0, p, left, i):
            lp = bars[p, LOW]
            out[i, SL] = 1.0
            out[i, SL_REF] = p
            out[i, SL_LVL] = lp
            out[i, SL_KIND] = _kind(lp, state[2])
            state[2] = lp
            state[3] = p
    out[i, LAST_H] = state[0]
    out[i, LAST_H_REF] = state[1]
    out[i, LAST_L] = state[2]
    out[i, LAST_L_REF] = state[3]


# ``NO_NRT``: without it every call increfs and decrefs each array argument (atomic ops the
# refcount pruner leaves in place), which cost more than the step itself. The batch loop
# inlines the same body (numba IR level).
@njit(cache=True, **NO_NRT)
def step(
    i: int, bars: np.ndarray, left: int, right: int, state: np.ndarray, out: np.ndarray
) -> None:
    """Write row ``i`` from bars ``0..i`` (every column, so the batch buffer needs no fill)."""
    _step(i, bars, left, right, state, out)


@njit(cache=True, **NO_NRT)
def rows(
    i0: int, i1: int, bars: np.ndarray, left: int, right: int, state: np.ndarray, out: np.ndarray
) -> None:
    """``step`` for rows ``i0..i1-1`` in one call (the batch runs a chunk at a time): a call per
    row passes every array descriptor again and spills the loop's registers (see liquidity.rows)."""
    for i in range(i0, i1):
        _step(i, bars, left, right, state, out)


@njit(cache=True, nogil=True, **NO_NRT)
def _run(bars: np.ndarray, left: int, right: int, state: np.ndarray, out: np.ndarray) -> None:
    for i in range(bars.shape[0]):
        _step(i, bars, left, right, state, out)


def check_params(left: int, right: int) -> None:
    """Reject lengths that make no swing definable."""
    if left < 1 or right < 1:
        raise ValueError(f"swing lengths must be >= 1 (got left={left}, right={right})")


def run(bars: np.ndarray, left: int, right: int) -> np.ndarray:
    """Batch form over all bars: the same ``step`` as the stream, in a loop."""
    check_params(left, right)
    out = empty_out(bars.shape[0], len(COLUMNS))
    _run(bars, left, right, init_state(), out)
    return out
