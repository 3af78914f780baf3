"""Numba kernels reproducing smartmoneyconcepts 0.0.27 bug for bug (see compat.py).

ANALYSIS/MIGRATION ONLY: these kernels copy the reference package's look-ahead on purpose.
Each kernel mirrors one package loop but replaces its O(n^2) forward scans by O(log n)
first-crossing searches (``_compat_search``) that return the identical index. O(n) buffers
are allocated by numpy in the plain-Python entry points and filled by the ``_core`` kernels
(see ``_compat_search.min_tree`` for why).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from strategies.smc._compat_search import first_below, min_tree


def swing_kernel(high: np.ndarray, low: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """HighLow and Level of ``smc.swing_highs_lows`` (window, clean-up, forced end swings)."""
    hl = np.full(high.size, np.nan)
    level = np.full(high.size, np.nan)
    _swing_core(high, low, length, hl, level)
    return hl, level


@njit(cache=True)
def _swing_core(
    high: np.ndarray, low: np.ndarray, length: int, hl: np.ndarray, level: np.ndarray
) -> None:
    n = high.size
    w = 2 * length
    # package: high == high.shift(-N).rolling(2N).max() -> window high[i-N+1 .. i+N],
    # defined only for 2N-1 <= i <= n-1-N (rolling warm-up + shift NaNs). Monotonic deques
    # give the window max/min when the window ends at j = i+N.
    cap = 1
    while cap < w + 1:
        cap *= 2
    mask = cap - 1  # ring buffers of a power-of-two size: a bit mask instead of a modulo
    dq_h = np.empty(cap, dtype=np.int64)
    dq_l = np.empty(cap, dtype=np.int64)
    hh = th = 0  # head index, size
    hlo = tl = 0
    for j in range(n):
        while th > 0 and high[dq_h[(hh + th - 1) & mask]] <= high[j]:
            th -= 1
        dq_h[(hh + th) & mask] = j
        th += 1
        while tl > 0 and low[dq_l[(hlo + tl - 1) & mask]] >= low[j]:
            tl -= 1
        dq_l[(hlo + tl) & mask] = j
        tl += 1
        first = j - w + 1
        while dq_h[hh] < first:
            hh = (hh + 1) & mask
            th -= 1
        while dq_l[hlo] < first:
            hlo = (hlo + 1) & mask
            tl -= 1
        i = j - length
        if i >= w - 1:
            if high[i] == high[dq_h[hh]]:
                hl[i] = 1.0
            elif low[i] == low[dq_l[hlo]]:
                hl[i] = -1.0
    # The package's repeated pairwise clean-up leaves, in every run of consecutive same-type
    # swings, exactly the first bar holding the run's extreme.
    run_type = 0.0
    best = -1
    for i in range(n):
        t = hl[i]
        if np.isnan(t):
            continue
        if t == run_type:
            better = high[i] > high[best] if t == 1.0 else low[i] < low[best]
            if better:
                hl[best] = np.nan
                best = i
            else:
                hl[i] = np.nan
        else:
            run_type = t
            best = i
    first = -1
    last = -1
    for i in range(n):
        if not np.isnan(hl[i]):
            if first < 0:
                first = i
            last = i
    if first >= 0:  # forced opposite swings on bar 0 and on the last bar (look-ahead, #34)
        if hl[first] == 1.0:
            hl[0] = -1.0
        if hl[first] == -1.0:
            hl[0] = 1.0
        if hl[last] == -1.0:
            hl[n - 1] = 1.0
        if hl[last] == 1.0:
            hl[n - 1] = -1.0
    for i in range(n):
        if not np.isnan(hl[i]):
            level[i] = high[i] if hl[i] == 1.0 else low[i]


def fvg_kernel(
    o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, join: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """FVG/Top/Bottom/MitigatedIndex of ``smc.fvg``, written on the middle bar."""
    out = np.full((4, h.size), np.nan)
    _fvg_core(o, h, lo, c, join, min_tree(lo), min_tree(-h), out)
    return out[0], out[1], out[2], out[3]


@njit(cache=True)
def _fvg_core(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    join: bool,
    t_low: np.ndarray,
    t_neg_high: np.ndarray,
    out: np.ndarray,
) -> None:
    n = h.size
    fvg, top, bottom, mitigated = out[0], out[1], out[2], out[3]
    for i in range(1, n - 1):
        bull = c[i] > o[i]
        if (h[i - 1] < lo[i + 1] and bull) or (lo[i - 1] > h[i + 1] and c[i] < o[i]):
            fvg[i] = 1.0 if bull else -1.0
            top[i] = lo[i + 1] if bull else lo[i - 1]
            bottom[i] = h[i - 1] if bull else h[i + 1]
    if join:  # sequential merge: the earlier row is cleared when the next bar extends it
        for i in range(n - 1):
            if fvg[i] == fvg[i + 1]:
                if not top[i + 1] > top[i]:  # Python max(top[i], top[i+1])
                    top[i + 1] = top[i]
                if not bottom[i + 1] < bottom[i]:  # Python min(bottom[i], bottom[i+1])
                    bottom[i + 1] = bottom[i]
                fvg[i] = np.nan
                top[i] = np.nan
                bottom[i] = np.nan
    for i in range(n):
        if fvg[i] == 1.0:
            j = first_below(t_low, n, i + 2, top[i], False)
        elif fvg[i] == -1.0:
            j = first_below(t_neg_high, n, i + 2, -bottom[i], False)
        else:
            continue
        mitigated[i] = j if j >= 0 else 0.0


def bos_choch_kernel(
    hl: np.ndarray, level_in: np.ndarray, up_src: np.ndarray, down_src: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """BOS/CHOCH/Level/BrokenIndex of ``smc.bos_choch`` (pattern of 4 swings, future deletes)."""
    n = hl.size
    flags = np.zeros((3, n))  # BOS, CHOCH, BrokenIndex; 0 = none, NaN-ed at the end
    level = np.zeros(n, dtype=np.float32)
    _bos_choch_core(hl, level_in, min_tree(-up_src), min_tree(down_src), flags, level)
    return flags[0], flags[1], level, flags[2]


@njit(cache=True)
def _bos_choch_core(
    hl: np.ndarray,
    level_in: np.ndarray,
    t_neg_up: np.ndarray,
    t_down: np.ndarray,
    flags: np.ndarray,
    level: np.ndarray,
) -> None:
    n = hl.size
    bos, choch, broken = flags[0], flags[1], flags[2]
    m = 0
    for i in range(n):
        if not np.isnan(hl[i]):
            m += 1
    pos = np.empty(m, dtype=np.int64)
    m = 0
    for i in range(n):
        if not np.isnan(hl[i]):
            pos[m] = i
            m += 1
    for k in range(3, m):  # swings L4 L3 L2 L1 = pos[k-3..k]; written on L3's row
        row = pos[k - 2]
        t4, t3, t2, t1 = hl[pos[k - 3]], hl[pos[k - 2]], hl[pos[k - 1]], hl[pos[k]]
        l4, l3 = level_in[pos[k - 3]], level_in[pos[k - 2]]
        l2, l1 = level_in[pos[k - 1]], level_in[pos[k]]
        bull = t4 == -1.0 and t3 == 1.0 and t2 == -1.0 and t1 == 1.0
        bear = t4 == 1.0 and t3 == -1.0 and t2 == 1.0 and t1 == -1.0
        b = 0.0
        if bull and l4 < l2 and l2 < l3 and l3 < l1:
            b = 1.0
        if bear and l4 > l2 and l2 > l3 and l3 > l1:
            b = -1.0
        ch = 0.0
        if bull and l1 > l3 and l3 > l4 and l4 > l2:
            ch = 1.0
        if bear and l1 < l3 and l3 < l4 and l4 < l2:
            ch = -1.0
        bos[row] = b
        choch[row] = ch
        level[row] = np.float32(l3) if (b != 0 or ch != 0) else np.float32(0.0)
    ne = 0
    for i in range(n):
        if bos[i] != 0 or choch[i] != 0:
            ne += 1
    events = np.empty(ne, dtype=np.int64)
    ne = 0
    for i in range(n):
        if bos[i] != 0 or choch[i] != 0:
            events[ne] = i
            ne += 1
            x = np.float64(level[i])  # float32 level compared in float64, as numpy does
            if bos[i] == 1 or choch[i] == 1:
                j = first_below(t_neg_up, n, i + 2, -x, True)
            else:
                j = first_below(t_down, n, i + 2, x, True)
            broken[i] = j if j >= 0 else 0
    # A break at j deletes every earlier event broken at or after j; unbroken ones go too.
    # Deleted rows keep BrokenIndex (the package's stray pointers).
    suffix_min = np.inf
    for e in range(ne - 1, -1, -1):
        k = events[e]
        if broken[k] == 0 or suffix_min <= broken[k]:
            bos[k] = 0.0
            choch[k] = 0.0
            level[k] = 0.0
        if broken[k] != 0 and broken[k] < suffix_min:
            suffix_min = broken[k]
    for i in range(n):
        if bos[i] == 0:
            bos[i] = np.nan
        if choch[i] == 0:
            choch[i] = np.nan
        if level[i] == 0:
            level[i] = np.nan
        if broken[i] == 0:
            broken[i] = np.nan


@njit(cache=True)
def _round1(x: float) -> float:
    """numpy's float64.__round__(1): rint(x * 10) / 10 (not Python's decimal rounding)."""
    return np.rint(x * 10.0) / 10.0


def retracement_kernel(
    h: np.ndarray, lo: np.ndarray, hl: np.ndarray, level: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Direction / CurrentRetracement% / DeepestRetracement% of ``smc.retracements``."""
    direction = np.zeros(h.size, dtype=np.int32)
    pct = np.zeros((2, h.size))
    _retracement_core(h, lo, hl, level, direction, pct)
    return direction, pct[0], pct[1]


@njit(cache=True)
def _retracement_core(
    h: np.ndarray,
    lo: np.ndarray,
    hl: np.ndarray,
    level: np.ndarray,
    direction: np.ndarray,
    pct: np.ndarray,
) -> None:
    n = h.size
    cur, deep = pct[0], pct[1]
    top = 0.0
    bottom = 0.0
    for i in range(n):
        if hl[i] == 1.0:
            direction[i] = 1
            top = level[i]
        elif hl[i] == -1.0:
            direction[i] = -1
            bottom = level[i]
        else:
            direction[i] = direction[i - 1] if i > 0 else 0
        prev = direction[i - 1] if i > 0 else direction[n - 1]  # package reads direction[-1]
        if prev == 1:  # bullish branch reads the previous bar's direction
            div = top - bottom
            cur[i] = _round1(100.0 - ((lo[i] - bottom) / div) * 100.0) if div != 0 else 0.0
            d = deep[i - 1] if i > 0 and direction[i - 1] == 1 else 0.0
            deep[i] = cur[i] if cur[i] > d else d  # Python max(d, cur)
        if direction[i] == -1:  # bearish branch reads the current one
            div = bottom - top
            cur[i] = _round1(100.0 - ((h[i] - top) / div) * 100.0) if div != 0 else 0.0
            d = deep[i - 1] if i > 0 and direction[i - 1] == -1 else 0.0
            deep[i] = cur[i] if cur[i] > d else d
    if n > 0:  # np.roll by one bar, in place: the last bar wraps to row 0
        d_last, c_last, p_last = direction[n - 1], cur[n - 1], deep[n - 1]
        for i in range(n - 1, 0, -1):
            direction[i] = direction[i - 1]
            cur[i] = cur[i - 1]
            deep[i] = deep[i - 1]
        direction[0], cur[0], deep[0] = d_last, c_last, p_last
    changes = 0
    for i in range(n):  # zero everything up to the bar after the third direction change
        if i + 1 == n:
            break
        if direction[i] != direction[i + 1]:
            changes += 1
        direction[i] = 0
        cur[i] = 0.0
        deep[i] = 0.0
        if changes == 3:
            direction[i + 1] = 0
            cur[i + 1] = 0.0
            deep[i + 1] = 0.0
            break


def session_kernel(
    h: np.ndarray, lo: np.ndarray, active: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Running session High/Low in float32, 0 outside the session (``smc.sessions``)."""
    out = np.zeros((2, h.size), dtype=np.float32)
    _session_core(h, lo, active, out)
    return out[0], out[1]


@njit(cache=True)
def _session_core(h: np.ndarray, lo: np.ndarray, active: np.ndarray, out: np.ndarray) -> None:
    high, low = out[0], out[1]
    for i in range(h.size):
        if active[i]:
            prev_h = np.float64(high[i - 1]) if i > 0 else 0.0
            high[i] = prev_h if prev_h > h[i] else h[i]  # Python max(h, prev)
            prev_l = np.float64(low[i - 1]) if i > 0 and low[i - 1] != 0 else np.inf
            low[i] = prev_l if prev_l < lo[i] else lo[i]  # Python min(l, prev)


def grouped_breaks(
    h: np.ndarray,
    lo: np.ndarray,
    group: np.ndarray,
    prev_high: np.ndarray,
    prev_low: np.ndarray,
    valid: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """BrokenHigh/BrokenLow of ``previous_high_low``: running extremes reset per group run."""
    out = np.zeros((2, h.size), dtype=np.int32)
    _grouped_breaks_core(h, lo, group, prev_high, prev_low, valid, out)
    return out[0], out[1]


@njit(cache=True)
def _grouped_breaks_core(
    h: np.ndarray,
    lo: np.ndarray,
    group: np.ndarray,
    prev_high: np.ndarray,
    prev_low: np.ndarray,
    valid: np.ndarray,
    out: np.ndarray,
) -> None:
    run_h = 0.0
    run_l = 0.0
    for i in range(h.size):
        if i == 0 or group[i] != group[i - 1]:
            run_h = h[i]
            run_l = lo[i]
        else:
            run_h = max(run_h, h[i])
            run_l = min(run_l, lo[i])
        if valid[i] and run_h > np.float64(prev_high[i]):
            out[0, i] = 1
        if valid[i] and run_l < np.float64(prev_low[i]):
            out[1, i] = 1
