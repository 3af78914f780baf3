"""Shared conventions of the causal SMC detectors.

Every concept follows one shape so that batch and streaming run *the same code*:

* Bars live in one float64 array ``bars`` of shape ``(capacity, 6)`` with columns
  ``OPEN, HIGH, LOW, CLOSE, VOLUME, TIME`` (``TIME`` = bar open time in epoch milliseconds, exact in float64).
* A concept writes its row ``i`` into its own float64 array ``out[i, :]`` from bars ``0..i``
  (and the rows ``0..i`` of the concepts it depends on) inside an ``@njit`` ``step`` function.
  Index columns hold ``-1.0`` for "none", levels ``NaN``; flags are ``0/±1``.
* ``run`` (batch) is a loop of ``step`` over ``i``; the streaming form calls the same ``step``
  for each new bar. Since ``step(i)`` never reads a row after ``i`` and state capacities never
  depend on the series length, the prefix property holds by construction — and the tests
  check it anyway.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

OPEN, HIGH, LOW, CLOSE, VOLUME, TIME = 0, 1, 2, 3, 4, 5
# numba's (private, pinned-version) option for kernels that allocate nothing: no reference
# counting of array arguments. Without it every call of a per-bar ``step`` increfs and decrefs
# each array (atomic ops the refcount pruner leaves in place), which can cost more than the
# step's own work. A kernel that does allocate fails to compile ("NRT required but not
# enabled"), so misuse is loud, never silent.
NO_NRT: dict[str, Any] = {"_nrt": False}
BAR_FIELDS = 6
NONE = -1.0


def empty_out(n: int, ncols: int) -> np.ndarray:
    """Uninitialised batch output buffer: every concept's ``step`` writes every column of its
    row (NaN / -1 for "none"), so a whole-buffer NaN fill would be 2.4 GB of wasted memory
    traffic at 1M bars × 300 columns. ``tests/smc/test_schedule.py`` hands out sentinel-filled
    buffers to prove no cell is left unwritten. The stream's arena (``_fused_layout``) is
    allocated with ``np.empty`` too, for the same reason.
    """
    return np.empty((n, ncols), dtype=np.float64)


@njit(cache=True)
def wilder_atr_step(i: int, bars: np.ndarray, period: int, state: np.ndarray) -> float:
    """Wilder ATR at bar ``i`` from bars ``<= i``.

    ``state = [sum_tr_or_atr, count]``: the first ``period`` true ranges are averaged, then
    Wilder smoothing. NaN until ``period`` bars are seen (no whole-sample statistic).
    """
    h = bars[i, HIGH]
    lo = bars[i, LOW]
    if i == 0:
        tr = h - lo
    else:
        pc = bars[i - 1, CLOSE]
        tr = max(h - lo, abs(h - pc), abs(lo - pc))
    cnt = state[1] + 1.0
    state[1] = cnt
    if cnt < period:
        state[0] += tr
        return np.nan
    if cnt == period:
        state[0] = (state[0] + tr) / period
        return state[0]
    state[0] = (state[0] * (period - 1) + tr) / period
    return state[0]


def as_bars(
    o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, v: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """Pack OHLCV + open time (ms) into the ``(n, 6)`` float64 bar array."""
    bars = np.empty((len(o), BAR_FIELDS), dtype=np.float64)
    bars[:, OPEN] = o
    bars[:, HIGH] = h
    bars[:, LOW] = lo
    bars[:, CLOSE] = c
    bars[:, VOLUME] = v
    bars[:, TIME] = t
    return bars


_NAT = np.iinfo(np.int64).min  # pandas' integer NaT


@njit(cache=True, nogil=True)
def pack_bars(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    v: np.ndarray,
    t: np.ndarray,
    per_ms: int,
    bars: np.ndarray,
) -> tuple[bool, bool, bool]:
    """Fill ``bars`` from the frame's columns and integer open times ``t`` (``per_ms`` ticks per
    ms) in one pass; returns ``(times strictly increasing, prices finite, t exact in ms)``.

    Why: packing, the finiteness check, the order check and the ms conversion were four
    passes with full-length temporaries (~0.1 s at 1M bars, serial before the parallel part of
    ``detect``). With a flag false nothing is promised about ``bars`` (the caller raises, or
    converts the times itself when they are not whole milliseconds).
    """
    inc, fin, exact = True, True, True
    for i in range(bars.shape[0]):
        bars[i, OPEN] = o[i]
        bars[i, HIGH] = h[i]
        bars[i, LOW] = lo[i]
        bars[i, CLOSE] = c[i]
        bars[i, VOLUME] = v[i]
        if not (np.isfinite(o[i]) and np.isfinite(h[i]) and np.isfinite(lo[i])
                and np.isfinite(c[i])):  # fmt: skip
            fin = False
        if i > 0 and (t[i] <= t[i - 1] or t[i] == _NAT or t[i - 1] == _NAT):
            inc = False
        q = t[i] // per_ms
        if q * per_ms != t[i]:
            exact = False
        bars[i, TIME] = float(q)
    return inc, fin, exact


def check_bars(bars: np.ndarray, *deps: tuple[str, np.ndarray, int]) -> None:
    """Reject bars (and dependency outputs ``(name, array, ncols)``) a step cannot read safely."""
    if not isinstance(bars, np.ndarray) or bars.ndim != 2 or bars.shape[1] != BAR_FIELDS:
        raise ValueError(f"bars must be a 2-D array with {BAR_FIELDS} columns (OHLCV + time)")
    if bars.dtype != np.float64:
        raise ValueError(f"bars must be float64 (got {bars.dtype})")
    for name, arr, ncols in deps:
        if not isinstance(arr, np.ndarray) or arr.ndim != 2 or arr.shape[1] != ncols:
            raise ValueError(f"{name} must be a 2-D array with {ncols} columns")
        if arr.dtype != np.float64:
            raise ValueError(f"{name} must be float64 (got {arr.dtype})")
        if arr.shape[0] < bars.shape[0]:
            raise ValueError(f"{name} has {arr.shape[0]} rows, fewer than the {bars.shape[0]} bars")
