"""Numba kernels for the package's order blocks and liquidity (bug for bug, see compat.py).

ANALYSIS/MIGRATION ONLY (look-ahead included). The package re-checks every active order block
on every bar and scans all later swings per liquidity candidate (O(n^2)); here each order
block waits in a per-bar bucket for the first bar that changes it (found by a first-crossing
search) and liquidity candidates come from a level-sorted range-min tree, so the work is
O(n log n) while every state transition happens on the same bar, in the same order.
O(n) buffers come from numpy (see ``_compat_search.min_tree``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from strategies.smc._compat_search import (
    build_pos_tree,
    first_below,
    min_tree,
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
    kind = np.zeros(n, dtype=np.int32)
    levels = np.zeros((4, n), dtype=np.float32)  # Top, Bottom, OBVolume, Percentage
    mit = np.zeros(n, dtype=np.int64)
    flags = np.zeros((2, n), dtype=np.bool_)  # breaker, crossed (shared by both passes)
    work = np.empty((3, n), dtype=np.int64)  # list copies per candle, due bar, bucket head
    t_low, t_neg_high = min_tree(lo), min_tree(-h)
    if close_mitigation:
        t_mit_bull, t_mit_bear = min_tree(np.minimum(o, c)), min_tree(-np.maximum(o, c))
    else:
        t_mit_bull, t_mit_bear = t_low, t_neg_high
    trees = (t_low, t_neg_high, t_mit_bull, t_mit_bear)
    _ob_core(o, h, lo, c, v, hl, close_mitigation, trees, kind, levels, mit, flags, work)
    return kind, levels[0], levels[1], levels[2], mit, levels[3]


@njit(cache=True)
def _ob_core(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    v: np.ndarray,
    hl: np.ndarray,
    close_mitigation: bool,
    trees: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    ob: np.ndarray,
    levels: np.ndarray,
    mit: np.ndarray,
    flags: np.ndarray,
    work: np.ndarray,
) -> None:
    n = h.size
    top, bot, obvol, pct = levels[0], levels[1], levels[2], levels[3]
    breaker, crossed = flags[0], flags[1]
    copies, due, head = work[0], work[1], work[2]  # copies: entries in the active list
    nxt = np.empty(16, dtype=np.int64)  # bucket lists: entry -> next entry, entry -> candle
    who = np.empty(16, dtype=np.int64)
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
                        if side == 1:
                            gone = h[i] > np.float64(top[k])
                        else:
                            gone = lo[i] < np.float64(bot[k])
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
                            mit[k] = i - 1 if side == 1 else i  # bullish off by one (#112)
                copies[k] -= removed
                if copies[k] > 0:
                    t = _next_change(side, k, i + 1, breaker, top, bot, trees)
                    nxt, who, used = _push(k, t, due, head, nxt, who, used)
            s = last_swing
            if s >= 0 and not crossed[s] and (c[i] > h[s] if side == 1 else c[i] < lo[s]):
                crossed[s] = True
                k = i - 1
                if side == 1:
                    ob_top, ob_bot = lo[k], h[k]  # inverted when i == s + 1 (package bug)
                else:
                    ob_top, ob_bot = h[k], lo[k]
                if i - s > 1:
                    k = s + 1
                    for j in range(s + 2, i):  # extreme candle in (s, i), last on ties
                        if (lo[j] <= lo[k]) if side == 1 else (h[j] >= h[k]):
                            k = j
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
                copies[k] += 1  # breaker/mitigation state of the candle is NOT reset
                due[k] = -1  # any earlier schedule of this candle is stale now
                t = _next_change(side, k, i + 1, breaker, top, bot, trees)
                nxt, who, used = _push(k, t, due, head, nxt, who, used)
            if hl[i] == side:
                last_swing = i


@njit(cache=True)
def _push(
    k: int,
    t: int,
    due: np.ndarray,
    head: np.ndarray,
    nxt: np.ndarray,
    who: np.ndarray,
    used: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Put candle k in bar t's bucket (nothing if t < 0); grows the entry arrays."""
    if t < 0:
        return nxt, who, used
    if used == nxt.size:
        nxt = np.concatenate((nxt, np.empty(nxt.size, dtype=np.int64)))
        who = np.concatenate((who, np.empty(who.size, dtype=np.int64)))
    due[k] = t
    who[used] = k
    nxt[used] = head[t]
    head[t] = used
    return nxt, who, used + 1


@njit(cache=True)
def _next_change(
    side: int,
    k: int,
    start: int,
    breaker: np.ndarray,
    top: np.ndarray,
    bot: np.ndarray,
    trees: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> int:
    """First bar >= start at which candle k's OB is mitigated (or, if a breaker, erased)."""
    n = breaker.size
    t_low, t_neg_high, t_mit_bull, t_mit_bear = trees
    if side == 1:
        if breaker[k]:
            return first_below(t_neg_high, n, start, -np.float64(top[k]), True)
        return first_below(t_mit_bull, n, start, np.float64(bot[k]), True)
    if breaker[k]:
        return first_below(t_low, n, start, np.float64(bot[k]), True)
    return first_below(t_mit_bear, n, start, -np.float64(top[k]), True)


def liquidity_kernel(
    h: np.ndarray, lo: np.ndarray, hl_in: np.ndarray, level: np.ndarray, pip: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Liquidity/Level/End/Swept of ``smc.liquidity`` (float32 outputs, 0 = never swept)."""
    out = np.full((4, h.size), np.nan, dtype=np.float32)
    hl = hl_in.copy()  # swings absorbed into a group are marked 0, like the package
    t_low, t_neg_high = min_tree(lo), min_tree(-h)
    for side in (1.0, -1.0):
        idxs = np.flatnonzero(hl == side)
        if idxs.size == 0:
            continue
        order = np.argsort(level[idxs], kind="stable")
        sorted_lv = level[idxs][order]
        rank = np.empty(idxs.size, dtype=np.int64)  # rank[q] = slot of swing idxs[q]
        rank[order] = np.arange(idxs.size)
        tree = build_pos_tree(idxs.size, idxs[order].astype(np.int64))
        _liquidity_side(
            h, lo, hl, level, pip, side, idxs, rank, sorted_lv, tree, t_low, t_neg_high, out
        )
    return out[0], out[1], out[2], out[3]


@njit(cache=True)
def _liquidity_side(
    h: np.ndarray,
    lo: np.ndarray,
    hl: np.ndarray,
    level: np.ndarray,
    pip: float,
    side: float,
    idxs: np.ndarray,
    rank: np.ndarray,
    sorted_lv: np.ndarray,
    tree: np.ndarray,
    t_low: np.ndarray,
    t_neg_high: np.ndarray,
    out: np.ndarray,
) -> None:
    n = h.size
    big = np.iinfo(np.int64).max
    for q in range(idxs.size):
        i = idxs[q]
        if hl[i] != side:
            continue  # already absorbed into an earlier group
        pos_tree_delete(tree, rank[q])
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
            if p == big or (swept != 0 and p >= swept):
                break
            total += level[p]
            count += 1
            end = p
            hl[p] = 0.0
            pos_tree_delete(tree, rank[np.searchsorted(idxs, p)])
        if count > 1:
            out[0, i] = side
            out[1, i] = np.float32(total / count)
            out[2, i] = np.float32(end)
            out[3, i] = np.float32(swept)
