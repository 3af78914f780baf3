"""Numba kernels reproducing smartmoneyconcepts 0.0.27 bug for bug (see compat.py).

ANALYSIS/MIGRATION ONLY: these kernels copy the reference package's look-ahead on purpose.
Each kernel mirrors one package loop but replaces its O(n^2) forward scans by O(log n)
first-crossing searches (``_compat_search``) that return the identical index.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from strategies.smc._compat_search import build_min_tree, first_below


@njit(cache=True)
def _window_extremes(a: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Max and min of a[k..k+w-1] for every k (blocked prefix/suffix trick, O(n))."""
    n = a.size
    pmax = np.empty(n)
    pmin = np.empty(n)
    smax = np.empty(n)
    smin = np.empty(n)
    for k in range(n):
        if k % w == 0:
            pmax[k] = a[k]
            pmin[k] = a[k]
        else:
            pmax[k] = max(pmax[k - 1], a[k])
            pmin[k] = min(pmin[k - 1], a[k])
    for k in range(n - 1, -1, -1):
        if k == n - 1 or (k + 1) % w == 0:
            smax[k] = a[k]
            smin[k] = a[k]
        else:
            smax[k] = max(smax[k + 1], a[k])
            smin[k] = min(smin[k + 1], a[k])
    m = max(n - w + 1, 0)
    wmax = np.empty(m)
    wmin = np.empty(m)
    for k in range(m):
        wmax[k] = max(smax[k], pmax[k + w - 1])
        wmin[k] = min(smin[k], pmin[k + w - 1])
    return wmax, wmin


@njit(cache=True)
def swing_kernel(high: np.ndarray, low: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """HighLow and Level of ``smc.swing_highs_lows`` (window, clean-up, forced end swings)."""
    n = high.size
    hl = np.full(n, np.nan)
    w = 2 * length
    # package: high == high.shift(-N).rolling(2N).max() -> window high[i-N+1 .. i+N],
    # defined only for 2N-1 <= i <= n-1-N (rolling warm-up + shift NaNs).
    if n >= w:
        wmax_h, _ = _window_extremes(high, w)
        _, wmin_l = _window_extremes(low, w)
        for i in range(w - 1, n - length):
            k = i - length + 1
            if high[i] == wmax_h[k]:
                hl[i] = 1.0
            elif low[i] == wmin_l[k]:
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
    level = np.full(n, np.nan)
    for i in range(n):
        if not np.isnan(hl[i]):
            level[i] = high[i] if hl[i] == 1.0 else low[i]
    return hl, level


@njit(cache=True)
def fvg_kernel(
    o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, join: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """FVG/Top/Bottom/MitigatedIndex of ``smc.fvg``, written on the middle bar."""
    n = h.size
    fvg = np.full(n, np.nan)
    top = np.full(n, np.nan)
    bottom = np.full(n, np.nan)
    for i in range(1, n - 1):
        bull = c[i] > o[i]
        if (h[i - 1] < lo[i + 1] and bull) or (lo[i - 1] > h[i + 1] and c[i] < o[i]):
            fvg[i] = 1.0 if bull else -1.0
            top[i] = lo[i + 1] if bull else lo[i - 1]
            bottom[i] = h[i - 1] if bull else h[i + 1]
    if join:  # sequential merge: the earlier row is cleared when the next bar extends it
        for i in range(n - 1):
            if fvg[i] == fvg[i + 1]:
                if top[i + 1] > top[i]:
                    pass
                else:
                    top[i + 1] = top[i]
                if bottom[i + 1] < bottom[i]:
                    pass
                else:
                    bottom[i + 1] = bottom[i]
                fvg[i] = np.nan
                top[i] = np.nan
                bottom[i] = np.nan
    t_low = build_min_tree(lo)
    t_neg_high = build_min_tree(-h)
    mitigated = np.full(n, np.nan)
    for i in range(n):
        if fvg[i] == 1.0:
            j = first_below(t_low, n, i + 2, top[i], False)
        elif fvg[i] == -1.0:
            j = first_below(t_neg_high, n, i + 2, -bottom[i], False)
        else:
            continue
        mitigated[i] = j if j >= 0 else 0.0
    return fvg, top, bottom, mitigated


@njit(cache=True)
def bos_choch_kernel(
    hl: np.ndarray,
    level_in: np.ndarray,
    up_src: np.ndarray,
    down_src: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """BOS/CHOCH/Level/BrokenIndex of ``smc.bos_choch`` (pattern of 4 swings, future deletes)."""
    n = hl.size
    bos = np.zeros(n, dtype=np.int32)
    choch = np.zeros(n, dtype=np.int32)
    level = np.zeros(n, dtype=np.float32)
    pos = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        if not np.isnan(hl[i]):
            pos[m] = i
            m += 1
    for k in range(3, m):
        row = pos[k - 2]
        t4, t3, t2, t1 = hl[pos[k - 3]], hl[pos[k - 2]], hl[pos[k - 1]], hl[pos[k]]
        l4, l3, l2, l1 = (
            level_in[pos[k - 3]],
            level_in[pos[k - 2]],
            level_in[pos[k - 1]],
            level_in[pos[k]],
        )
        bull = t4 == -1.0 and t3 == 1.0 and t2 == -1.0 and t1 == 1.0
        bear = t4 == 1.0 and t3 == -1.0 and t2 == 1.0 and t1 == -1.0
        b = 0
        if bull and l4 < l2 and l2 < l3 and l3 < l1:
            b = 1
        if bear and l4 > l2 and l2 > l3 and l3 > l1:
            b = -1
        ch = 0
        if bull and l1 > l3 and l3 > l4 and l4 > l2:
            ch = 1
        if bear and l1 < l3 and l3 < l4 and l4 < l2:
            ch = -1
        bos[row] = b
        choch[row] = ch
        level[row] = np.float32(l3) if (b != 0 or ch != 0) else np.float32(0.0)
    t_down = build_min_tree(down_src)
    t_neg_up = build_min_tree(-up_src)
    broken = np.zeros(n, dtype=np.int64)
    events = np.empty(n, dtype=np.int64)
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
    suffix_min = np.iinfo(np.int64).max
    for e in range(ne - 1, -1, -1):
        k = events[e]
        if broken[k] == 0 or suffix_min <= broken[k]:
            bos[k] = 0
            choch[k] = 0
            level[k] = 0.0
        if broken[k] != 0 and broken[k] < suffix_min:
            suffix_min = broken[k]
    bos_out = np.full(n, np.nan)
    choch_out = np.full(n, np.nan)
    level_out = np.full(n, np.nan, dtype=np.float32)
    broken_out = np.full(n, np.nan)
    for i in range(n):
        if bos[i] != 0:
            bos_out[i] = bos[i]
        if choch[i] != 0:
            choch_out[i] = choch[i]
        if level[i] != 0:
            level_out[i] = level[i]
        if broken[i] != 0:
            broken_out[i] = broken[i]
    return bos_out, choch_out, level_out, broken_out


@njit(cache=True)
def _round1(x: float) -> float:
    """numpy's float64.__round__(1): rint(x * 10) / 10 (not Python's decimal rounding)."""
    return np.rint(x * 10.0) / 10.0


@njit(cache=True)
def retracement_kernel(
    h: np.ndarray, lo: np.ndarray, hl: np.ndarray, level: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Direction / CurrentRetracement% / DeepestRetracement% of ``smc.retracements``."""
    n = h.size
    direction = np.zeros(n, dtype=np.int32)
    cur = np.zeros(n)
    deep = np.zeros(n)
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
            deep[i] = cur[i] if cur[i] > d else d
        if direction[i] == -1:  # bearish branch reads the current one
            div = bottom - top
            cur[i] = _round1(100.0 - ((h[i] - top) / div) * 100.0) if div != 0 else 0.0
            d = deep[i - 1] if i > 0 and direction[i - 1] == -1 else 0.0
            deep[i] = cur[i] if cur[i] > d else d
    if n > 0:  # np.roll by one bar
        direction = np.concatenate((direction[n - 1 :], direction[: n - 1]))
        cur = np.concatenate((cur[n - 1 :], cur[: n - 1]))
        deep = np.concatenate((deep[n - 1 :], deep[: n - 1]))
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
    return direction, cur, deep


@njit(cache=True)
def session_kernel(
    h: np.ndarray, lo: np.ndarray, active: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Running session High/Low in float32, 0 outside the session (``smc.sessions``)."""
    n = h.size
    high = np.zeros(n, dtype=np.float32)
    low = np.zeros(n, dtype=np.float32)
    for i in range(n):
        if active[i]:
            prev_h = np.float64(high[i - 1]) if i > 0 else 0.0
            high[i] = prev_h if prev_h > h[i] else h[i]  # Python max(h, prev)
            prev_l = np.float64(low[i - 1]) if i > 0 and low[i - 1] != 0 else np.inf
            low[i] = prev_l if prev_l < lo[i] else lo[i]  # Python min(l, prev)
    return high, low


@njit(cache=True)
def grouped_breaks(
    h: np.ndarray,
    lo: np.ndarray,
    group: np.ndarray,
    prev_high: np.ndarray,
    prev_low: np.ndarray,
    valid: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """BrokenHigh/BrokenLow of ``previous_high_low``: running extremes reset per group run."""
    n = h.size
    bh = np.zeros(n, dtype=np.int32)
    bl = np.zeros(n, dtype=np.int32)
    run_h = 0.0
    run_l = 0.0
    for i in range(n):
        if i == 0 or group[i] != group[i - 1]:
            run_h = h[i]
            run_l = lo[i]
        else:
            run_h = max(run_h, h[i])
            run_l = min(run_l, lo[i])
        if valid[i] and run_h > np.float64(prev_high[i]):
            bh[i] = 1
        if valid[i] and run_l < np.float64(prev_low[i]):
            bl[i] = 1
    return bh, bl
