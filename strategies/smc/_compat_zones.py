"""Numba kernels for the package's order blocks and liquidity (bug for bug, see compat.py).

ANALYSIS/MIGRATION ONLY (look-ahead included). The package re-checks every active order block
on every bar and scans all later swings per liquidity candidate (O(n^2)); here each order
block waits in a per-bar bucket for the first bar that changes it (found by a first-crossing
search) and liquidity candidates come from a level-sorted range-min tree, so the work is
O(n log n) while every state transition happens on the same bar, in the same order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from strategies.smc._compat_search import (
    build_min_tree,
    build_pos_tree,
    first_below,
    pos_tree_delete,
    pos_tree_min,
)


@njit(cache=True)
def _pct(high_vol: np.float32, low_vol: np.float32) -> np.float32:
    """float32 min/max*100 exactly as numpy scalar arithmetic does it (NEP 50)."""
    mx = high_vol if high_vol >= low_vol else low_vol  # Python max(high, low)
    mn = high_vol if high_vol <= low_vol else low_vol
    if mx == 0:
        return np.float32(100.0)
    q = np.float32(np.float64(mn) / np.float64(mx))
    return np.float32(np.float64(q) * 100.0)


@njit(cache=True)
def ob_kernel(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    v: np.ndarray,
    hl: np.ndarray,
    close_mitigation: bool,
) -> tuple[np.ndarray, ...]:
    """OB/Top/Bottom/OBVolume/MitigatedIndex/Percentage of ``smc.ob``.

    Keeps the package's shared per-candle arrays (one OB per candle, breaker flag never
    cleared), the bullish ``MitigatedIndex = j - 1`` off-by-one, inverted Top/Bottom when the
    break is the bar right after the swing, and erasure of breakers.
    """
    n = h.size
    ob = np.zeros(n, dtype=np.int32)
    top = np.zeros(n, dtype=np.float32)
    bot = np.zeros(n, dtype=np.float32)
    obvol = np.zeros(n, dtype=np.float32)
    pct = np.zeros(n, dtype=np.float32)
    mit = np.zeros(n, dtype=np.int64)
    breaker = np.zeros(n, dtype=np.bool_)
    crossed = np.zeros(n, dtype=np.bool_)
    t_low = build_min_tree(lo)
    t_neg_high = build_min_tree(-h)
    if close_mitigation:
        t_mit_bull = build_min_tree(np.minimum(o, c))
        t_mit_bear = build_min_tree(-np.maximum(o, c))
    else:
        t_mit_bull = t_low
        t_mit_bear = t_neg_high
    copies = np.zeros(n, dtype=np.int64)  # entries of this candle in the active list
    due = np.full(n, -1, dtype=np.int64)  # bar of the candle's next state change
    head = np.full(n, -1, dtype=np.int64)
    cap = 16
    nxt = np.empty(cap, dtype=np.int64)
    who = np.empty(cap, dtype=np.int64)
    for side in (1, -1):
        copies[:] = 0
        due[:] = -1
        head[:] = -1
        used = 0
        last_swing = -1
        for i in range(n):
            e = head[i]
            while e != -1:
                k = who[e]
                e = nxt[e]
                if due[k] != i:
                    continue  # stale entry (rescheduled after a rewrite)
                due[k] = -1
                removed = 0
                for _ in range(copies[k]):  # every list entry of this candle, in turn
                    if breaker[k]:
                        gone = (
                            h[i] > np.float64(top[k]) if side == 1 else lo[i] < np.float64(bot[k])
                        )
                        if gone:  # price traded through the breaker: erase the OB
                            ob[k] = 0
                            top[k] = 0.0
                            bot[k] = 0.0
                            obvol[k] = 0.0
                            mit[k] = 0
                            pct[k] = 0.0
                            removed += 1
                    else:
                        if side == 1:
                            src = min(o[i], c[i]) if close_mitigation else lo[i]
                            hit = src < np.float64(bot[k])
                        else:
                            src = max(o[i], c[i]) if close_mitigation else h[i]
                            hit = src > np.float64(top[k])
                        if hit:
                            breaker[k] = True
                            mit[k] = i - 1 if side == 1 else i
                copies[k] -= removed
                if copies[k] > 0:
                    if used == cap:
                        cap *= 2
                        nxt = np.concatenate((nxt, np.empty(cap - used, dtype=np.int64)))
                        who = np.concatenate((who, np.empty(cap - used, dtype=np.int64)))
                    t = _next_change(
                        side,
                        k,
                        i + 1,
                        n,
                        breaker,
                        top,
                        bot,
                        t_low,
                        t_neg_high,
                        t_mit_bull,
                        t_mit_bear,
                    )
                    if t >= 0:
                        due[k] = t
                        who[used] = k
                        nxt[used] = head[t]
                        head[t] = used
                        used += 1
            s = last_swing
            if s >= 0 and not crossed[s]:
                brk = c[i] > h[s] if side == 1 else c[i] < lo[s]
                if brk:
                    crossed[s] = True
                    k = i - 1
                    if side == 1:
                        ob_top, ob_bot = lo[k], h[k]  # inverted when i == s + 1 (package bug)
                    else:
                        ob_top, ob_bot = h[k], lo[k]
                    if i - s > 1:
                        best = s + 1
                        for j in range(s + 2, i):  # extreme candle in (s, i), last on ties
                            if (side == 1 and lo[j] <= lo[best]) or (
                                side == -1 and h[j] >= h[best]
                            ):
                                best = j
                        k = best
                        ob_top, ob_bot = h[k], lo[k]
                    ob[k] = side
                    top[k] = np.float32(ob_top)
                    bot[k] = np.float32(ob_bot)
                    p1 = v[i - 1] if i >= 1 else 0.0
                    p2 = v[i - 2] if i >= 2 else 0.0
                    obvol[k] = np.float32(v[i] + p1 + p2)
                    if side == 1:
                        pct[k] = _pct(np.float32(v[i] + p1), np.float32(p2))
                    else:
                        pct[k] = _pct(np.float32(p2), np.float32(v[i] + p1))
                    copies[k] += 1
                    if used == cap:
                        cap *= 2
                        nxt = np.concatenate((nxt, np.empty(cap - used, dtype=np.int64)))
                        who = np.concatenate((who, np.empty(cap - used, dtype=np.int64)))
                    t = _next_change(
                        side,
                        k,
                        i + 1,
                        n,
                        breaker,
                        top,
                        bot,
                        t_low,
                        t_neg_high,
                        t_mit_bull,
                        t_mit_bear,
                    )
                    due[k] = t
                    if t >= 0:
                        who[used] = k
                        nxt[used] = head[t]
                        head[t] = used
                        used += 1
            if hl[i] == side:
                last_swing = i
    return ob, top, bot, obvol, mit, pct


@njit(cache=True)
def _next_change(
    side: int,
    k: int,
    start: int,
    n: int,
    breaker: np.ndarray,
    top: np.ndarray,
    bot: np.ndarray,
    t_low: np.ndarray,
    t_neg_high: np.ndarray,
    t_mit_bull: np.ndarray,
    t_mit_bear: np.ndarray,
) -> int:
    """First bar >= start at which candle k's OB is mitigated (or, if a breaker, erased)."""
    if side == 1:
        if breaker[k]:
            return first_below(t_neg_high, n, start, -np.float64(top[k]), True)
        return first_below(t_mit_bull, n, start, np.float64(bot[k]), True)
    if breaker[k]:
        return first_below(t_low, n, start, np.float64(bot[k]), True)
    return first_below(t_mit_bear, n, start, -np.float64(top[k]), True)


@njit(cache=True)
def liquidity_kernel(
    h: np.ndarray, lo: np.ndarray, hl_in: np.ndarray, level: np.ndarray, pip: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Liquidity/Level/End/Swept of ``smc.liquidity`` (float32 outputs, 0 = never swept)."""
    n = h.size
    hl = hl_in.copy()
    liq = np.full(n, np.nan, dtype=np.float32)
    lvl_out = np.full(n, np.nan, dtype=np.float32)
    end_out = np.full(n, np.nan, dtype=np.float32)
    swept_out = np.full(n, np.nan, dtype=np.float32)
    t_low = build_min_tree(lo)
    t_neg_high = build_min_tree(-h)
    rank_of = np.full(n, -1, dtype=np.int64)
    for side in (1.0, -1.0):
        idxs = np.nonzero(hl == side)[0]
        m = idxs.size
        if m == 0:
            continue
        lv = level[idxs]
        order = np.argsort(lv, kind="mergesort")
        sorted_lv = lv[order]
        for r in range(m):
            rank_of[idxs[order[r]]] = r
        tree = build_pos_tree(m, idxs[order].astype(np.int64))
        for q in range(m):
            i = idxs[q]
            if hl[i] != side:
                continue  # already absorbed into an earlier group
            pos_tree_delete(tree, rank_of[i])
            lev = level[i]
            range_low = lev - pip
            range_high = lev + pip
            if side == 1.0:
                j = first_below(t_neg_high, n, i + 1, -range_high, False)
            else:
                j = first_below(t_low, n, i + 1, range_low, False)
            swept = j if j >= 0 else 0
            a = np.searchsorted(sorted_lv, range_low, side="left")
            b = np.searchsorted(sorted_lv, range_high, side="right")
            total = 0.0 + lev
            count = 1
            end = i
            while True:  # unused same-type swings in range, in bar order, before the sweep
                p = pos_tree_min(tree, a, b)
                if p == np.iinfo(np.int64).max or (swept != 0 and p >= swept):
                    break
                total += level[p]
                count += 1
                end = p
                hl[p] = 0.0
                pos_tree_delete(tree, rank_of[p])
            if count > 1:
                liq[i] = side
                lvl_out[i] = np.float32(total / count)
                end_out[i] = np.float32(end)
                swept_out[i] = np.float32(swept)
    return liq, lvl_out, end_out, swept_out
