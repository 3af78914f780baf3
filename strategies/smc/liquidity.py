"""Liquidity: equal highs/lows pools and sweeps (docs/smc.md §3.5).

**Equal highs**: confirmed swing highs ``p1 < p2`` with ``|h[p2] - h[p1]| <= k * ATR(p2 + R)`` and
no high between them above ``max(h[p1], h[p2]) + tol``; known at ``p2 + R`` (the swing's
confirmation row, where ``swings`` writes it, so ATR is read on that row). The pair forms a pool,
level = group max; a later equal swing high (within tolerance of the level, pool still untaken)
extends it by a new event. Candidates are checked newest first; a swing that joins a pool is no
longer a candidate. Lows mirrored.

**Sweeps** of a level ``P`` above price — every untaken buy-side pool, the latest swing high and the
previous-day high — bar ``j`` with ``h[j] > P`` and ``c[j] < P`` (known at ``j``). With
``liq_reclaim_bars = m > 0`` a bar that closes at or beyond ``P`` opens an ``m``-bar window: a close
back below ``P`` inside it is a sweep (known at that bar; ``_from`` = ``j``), otherwise the level is
**broken** on bar ``j + m``. With ``m = 0`` such a close is a break on ``j`` itself. Either way
the level is then taken (a pool leaves the table). Lows mirrored (sell-side, swing low, previous-day
low). Only the latest swing and the current previous-day level are followed: when they change,
a pending window of the old one is dropped.

Columns (``side`` = ``eqh``/``eql``; targets ``bsl``/``ssl`` pools, ``swing_high``/``swing_low``,
``pdh``/``pdl``):

* ``liq_eqh`` member count of the pool just formed (2) or extended (>= 3), 0 none; ``_level`` pool
  level, ``_ref`` the new member (p2), ``_first`` the pool's first member (its id).
* ``liq_{target}_sweep`` / ``_break`` counts on this bar; ``_level``, ``_ref``, ``_from`` describe
  one of them: a sweep before a break, then the newest pool. ``_ref`` is the pool's first member,
  the swing pivot, or the bar that made the previous-day extreme; ``_from`` the bar that first
  traded beyond ``P``.
* state: ``liq_bsl_near_level``/``_ref``/``_count`` nearest untaken (and not pending) buy-side pool
  above price, ``liq_bsl_n`` how many; ``ssl`` mirrored.

Tables are bounded (``liq_max_swings`` candidates and ``liq_max_pools`` pools per side, oldest
evicted), so state never depends on the series length.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field

from strategies.smc import atr as atr_mod
from strategies.smc import periods as periods_mod
from strategies.smc import swings as swings_mod
from strategies.smc._common import CLOSE, HIGH, LOW, NO_NRT, NONE, check_bars, empty_out

_SIDES = (("eqh", "bsl", "swing_high", "pdh"), ("eql", "ssl", "swing_low", "pdl"))
_TARGETS = ("bsl", "ssl", "swing_high", "swing_low", "pdh", "pdl")
COLUMNS = (
    tuple(f"liq_{s[0]}{f}" for s in _SIDES for f in ("", "_level", "_ref", "_first"))
    + tuple(
        f"liq_{t}_{f}" for t in _TARGETS for f in ("sweep", "break", "level", "ref", "from")
    )
    + tuple(f"liq_{p}_{f}" for p in ("bsl", "ssl") for f in ("near_level", "near_ref", "near_count", "n"))
)  # fmt: skip
INT_COLUMNS = frozenset(c for c in COLUMNS if not c.endswith("level"))
EQ = 0  # side s: EQ + 4 s -> count, level, ref, first
TGT = 8  # target x (pools 0/1, swing 2/3, previous day 4/5): TGT + 5 x -> sweep, break, level, ref, from
N_TARGETS = len(_TARGETS)
NEAR = TGT + 5 * N_TARGETS  # side s: NEAR + 4 s -> near level, ref, count, n

# pool fields (levels stored sign-adjusted: lows as -low, so every check is "level above price")
P_LEVEL, P_FIRST, P_LAST, P_COUNT, P_STATUS, P_FROM = range(6)
# candidate fields: pivot, level, highest price since the pivot (sign-adjusted)
C_PIVOT, C_LEVEL, C_MAX = range(3)
# followed single levels: kind 0 = latest swing, 1 = previous day; fields:
L_LEVEL, L_REF, L_STATUS, L_FROM, L_KEY = range(5)
IDLE, PENDING, TAKEN = 0.0, 1.0, 2.0
# sizes rows beyond the two table sizes: the pool scan's result kept for the bars that skip it
S_BEST, S_COUNT, S_RESCAN = 2, 3, 4


class Params(BaseModel):
    """Liquidity settings."""

    model_config = ConfigDict(frozen=True)

    liq_tol_atr: float = Field(
        default=0.1, ge=0.0, le=10.0, description="equal-level tolerance in ATR(p2 + R) units"
    )
    liq_reclaim_bars: int = Field(
        default=0, ge=0, le=500, description="bars a close beyond a level may take to reclaim it"
    )
    liq_max_swings: int = Field(
        default=16, ge=1, le=1024, description="single-swing candidates kept per side"
    )
    liq_max_pools: int = Field(default=16, ge=1, le=1024, description="pools kept per side")


def init_state(params: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pools ``(2, cap, 6)``, candidates ``(2, cap, 3)``, sizes ``[pools, cands, nearest idle
    pool, idle count, rescan] x side``, followed levels ``(2 kinds, 2 sides, 5)``."""
    pools = np.zeros((2, params.liq_max_pools, 6))
    cands = np.zeros((2, params.liq_max_swings, 3))
    sizes = np.zeros((5, 2))
    sizes[S_BEST] = -1.0
    levels = np.full((2, 2, 5), np.nan)
    levels[:, :, L_REF] = NONE
    levels[:, :, L_STATUS] = TAKEN
    levels[:, :, L_FROM] = NONE
    levels[:, :, L_KEY] = NONE
    return pools, cands, sizes, levels


@njit(cache=True, inline="always")
def _check(
    level: float, status: float, frm: float, hh: float, cc: float, m: int, i: int
) -> tuple[int, float, float]:
    """One bar against a level above price: returns (event 0/1 sweep/2 break, status, from)."""
    if status == TAKEN or np.isnan(level):
        return 0, status, frm
    if status == IDLE:
        if hh > level:
            if cc < level:
                return 1, TAKEN, float(i)
            if m == 0:
                return 2, TAKEN, float(i)
            return 0, PENDING, float(i)
        return 0, IDLE, frm
    if cc < level:
        return 1, TAKEN, frm
    if i - frm >= m:
        return 2, TAKEN, frm
    return 0, PENDING, frm


@njit(cache=True, **NO_NRT)
def _nearest(s: int, pools: np.ndarray, sizes: np.ndarray) -> tuple[int, float]:
    """Nearest idle pool of side ``s`` (lowest sign-adjusted level, first on ties), idle count."""
    best = -1
    cnt = 0.0
    for k in range(int(sizes[0, s])):
        if pools[s, k, P_STATUS] == IDLE:
            cnt += 1.0
            if best < 0 or pools[s, k, P_LEVEL] < pools[s, best, P_LEVEL]:
                best = k
    return best, cnt


@njit(cache=True, **NO_NRT)
def _new_swing(
    i: int, s: int, g: float, p2: float, lvl2: float, tol: float, pools: np.ndarray,
    cands: np.ndarray, sizes: np.ndarray, bars: np.ndarray, out: np.ndarray,
) -> None:  # fmt: skip
    """A swing of side ``s`` (pivot ``p2``, sign-adjusted level) confirmed on row ``i``."""
    col = EQ + 4 * s
    # 1) extend an untaken, not pending pool (the most recently extended match)
    if not np.isnan(tol):
        tab = pools[s]
        best = -1
        for k in range(int(sizes[0, s])):
            if tab[k, P_STATUS] == IDLE and abs(lvl2 - tab[k, P_LEVEL]) <= tol:
                if best < 0 or tab[k, P_LAST] > tab[best, P_LAST]:
                    best = k
        if best >= 0:
            tab[best, P_LEVEL] = max(tab[best, P_LEVEL], lvl2)
            tab[best, P_LAST] = p2
            tab[best, P_COUNT] += 1.0
            out[i, col] = tab[best, P_COUNT]
            out[i, col + 1] = g * tab[best, P_LEVEL]
            out[i, col + 2] = p2
            out[i, col + 3] = tab[best, P_FIRST]
            return
        # 2) pair with a single swing, newest first
        cs = cands[s]
        nc = int(sizes[1, s])
        for k in range(nc - 1, -1, -1):
            lvl1 = cs[k, C_LEVEL]
            if abs(lvl2 - lvl1) <= tol and cs[k, C_MAX] <= max(lvl1, lvl2) + tol:
                n = int(sizes[0, s])
                if n == tab.shape[0]:  # evict the oldest pool
                    for q in range(1, n):
                        for f in range(6):
                            tab[q - 1, f] = tab[q, f]
                    n -= 1
                tab[n, P_LEVEL] = max(lvl1, lvl2)
                tab[n, P_FIRST] = cs[k, C_PIVOT]
                tab[n, P_LAST] = p2
                tab[n, P_COUNT] = 2.0
                tab[n, P_STATUS] = IDLE
                tab[n, P_FROM] = NONE
                sizes[0, s] = n + 1
                out[i, col] = 2.0
                out[i, col + 1] = g * tab[n, P_LEVEL]
                out[i, col + 2] = p2
                out[i, col + 3] = cs[k, C_PIVOT]
                for q in range(k + 1, nc):
                    for f in range(3):
                        cs[q - 1, f] = cs[q, f]
                sizes[1, s] = nc - 1
                return
    # 3) otherwise it waits as a single swing; its running max covers (p2, i]
    cs = cands[s]
    nc = int(sizes[1, s])
    if nc == cs.shape[0]:
        for q in range(1, nc):
            for f in range(3):
                cs[q - 1, f] = cs[q, f]
        nc -= 1
    mx = -np.inf
    for j in range(int(p2) + 1, i + 1):
        mx = max(mx, bars[j, HIGH] if g > 0 else -bars[j, LOW])
    cs[nc, C_PIVOT] = p2
    cs[nc, C_LEVEL] = lvl2
    cs[nc, C_MAX] = mx
    sizes[1, s] = nc + 1


@njit(cache=True, inline="always")
def _rows(
    i0: int, i1: int, bars: np.ndarray, swings_out: np.ndarray, atr_out: np.ndarray,
    periods_out: np.ndarray, tol_atr: float, m: int, pools: np.ndarray, cands: np.ndarray,
    sizes: np.ndarray, levels: np.ndarray, out: np.ndarray,
) -> None:  # fmt: skip
    """Rows ``i0..i1-1`` (every column; no NaN prefill needed): ``step`` is one row, the batch
    all of them -- the same code. Inlined once into each, outside the row loop, because every
    inlined call or call taking arrays costs an atomic incref/decref per array argument: per
    row, that was most of the run time. So the parts are written out here; helpers take and
    return scalars (``_check``) or run on swing bars only (``_new_swing``, ``_nearest``)."""
    for i in range(i0, i1):
        # defaults of every column but the NEAR block, each written once, in column order
        for s in range(2):
            col = EQ + 4 * s
            out[i, col] = 0.0
            out[i, col + 1] = np.nan
            out[i, col + 2] = NONE
            out[i, col + 3] = NONE
        for x in range(N_TARGETS):
            col = TGT + 5 * x
            out[i, col] = 0.0
            out[i, col + 1] = 0.0
            out[i, col + 2] = np.nan
            out[i, col + 3] = NONE
            out[i, col + 4] = NONE
        for s in range(2):
            g = 1.0 if s == 0 else -1.0
            hh = bars[i, HIGH] if s == 0 else -bars[i, LOW]
            cc = g * bars[i, CLOSE]
            # running extremes of the single-swing candidates: candidates are in pivot order, so
            # their running maxima (over (pivot, i]) never increase from oldest to newest and a new
            # high raises a suffix of them -- stop at the first one it does not exceed
            for k in range(int(sizes[1, s]) - 1, -1, -1):
                if not hh > cands[s, k, C_MAX]:
                    break
                cands[s, k, C_MAX] = hh
            # sweeps/breaks of the side's pools; taken pools leave the table. The same pass finds
            # the nearest idle pool (lowest sign-adjusted level, first on ties) among the
            # survivors, which keep their order: what _nearest would return afterwards.
            # A bar below the nearest idle pool with no pool pending changes no pool (every level
            # is at or above the nearest): most bars skip the scan and keep its last result.
            col = TGT + 5 * s
            best = int(sizes[S_BEST, s])
            cnt = sizes[S_COUNT, s]
            quiet = sizes[S_RESCAN, s] == 0.0 and (best < 0 or not hh > pools[s, best, P_LEVEL])
            best_ev = 0
            best_first = -1.0
            w = 0
            rescan = 0.0
            if not quiet:
                best = -1
                cnt = 0.0
            for k in range(0 if quiet else int(sizes[0, s])):
                status = pools[s, k, P_STATUS]
                level = pools[s, k, P_LEVEL]
                if status == IDLE and not hh > level:  # untouched: no change
                    rescan += 0.0 if level == level else 1.0  # a NaN level is never "nearest"
                    if w != k:
                        for f in range(6):
                            pools[s, w, f] = pools[s, k, f]
                    cnt += 1.0
                    if best < 0 or level < pools[s, best, P_LEVEL]:
                        best = w
                    w += 1
                    continue
                ev, st, frm = _check(level, status, pools[s, k, P_FROM], hh, cc, m, i)
                pools[s, k, P_STATUS] = st
                pools[s, k, P_FROM] = frm
                if ev > 0:
                    out[i, col + ev - 1] += 1.0
                    better = (ev == 1 and best_ev != 1) or (
                        ev == best_ev and pools[s, k, P_FIRST] > best_first
                    )
                    if best_ev == 0 or better:
                        best_ev = ev
                        best_first = pools[s, k, P_FIRST]
                        out[i, col + 2] = g * level
                        out[i, col + 3] = pools[s, k, P_FIRST]
                        out[i, col + 4] = frm
                    continue
                if w != k:
                    for f in range(6):
                        pools[s, w, f] = pools[s, k, f]
                if st == IDLE:
                    cnt += 1.0
                    if best < 0 or level < pools[s, best, P_LEVEL]:
                        best = w
                else:
                    rescan += 1.0  # pending: its window runs on every bar
                w += 1
            if not quiet:
                sizes[0, s] = w
                sizes[S_RESCAN, s] = rescan
            if swings_out[i, swings_mod.SH + 4 * s] != 0.0:
                p2 = swings_out[i, swings_mod.SH_REF + 4 * s]
                lvl2 = g * swings_out[i, swings_mod.SH_LVL + 4 * s]
                tol = tol_atr * atr_out[i, atr_mod.ATR]
                _new_swing(i, s, g, p2, lvl2, tol, pools, cands, sizes, bars, out)
                best, cnt = _nearest(s, pools, sizes)  # (an evicted pending pool: one rescan)
            sizes[S_BEST, s] = best
            sizes[S_COUNT, s] = cnt
            # the followed single levels: kind 0 the latest swing, kind 1 the previous day; a new
            # key means a new level replaces the followed one (which then starts idle)
            for kind in range(2):
                if kind == 0:
                    key = swings_out[i, swings_mod.LAST_H_REF + 2 * s]
                    lvl = swings_out[i, swings_mod.LAST_H + 2 * s]
                    ref = key
                else:
                    key = periods_out[i, periods_mod.DAY + periods_mod.P_START]
                    lvl = periods_out[i, periods_mod.DAY + periods_mod.P_HIGH + 2 * s]
                    ref = periods_out[i, periods_mod.DAY + periods_mod.P_HIGH_REF + 2 * s]
                if key != levels[kind, s, L_KEY]:
                    levels[kind, s, L_KEY] = key
                    levels[kind, s, L_LEVEL] = g * lvl
                    levels[kind, s, L_REF] = ref
                    levels[kind, s, L_STATUS] = IDLE
                    levels[kind, s, L_FROM] = NONE
                ev, st, frm = _check(
                    levels[kind, s, L_LEVEL], levels[kind, s, L_STATUS], levels[kind, s, L_FROM],
                    hh, cc, m, i,
                )  # fmt: skip
                levels[kind, s, L_STATUS] = st
                levels[kind, s, L_FROM] = frm
                if ev > 0:
                    tcol = TGT + 5 * (2 + 2 * kind + s)
                    out[i, tcol + ev - 1] += 1.0
                    out[i, tcol + 2] = g * levels[kind, s, L_LEVEL]
                    out[i, tcol + 3] = levels[kind, s, L_REF]
                    out[i, tcol + 4] = frm
            # state: nearest idle pool
            col = NEAR + 4 * s
            if best >= 0:
                out[i, col] = g * pools[s, best, P_LEVEL]
                out[i, col + 1] = pools[s, best, P_FIRST]
                out[i, col + 2] = pools[s, best, P_COUNT]
            else:
                out[i, col] = np.nan
                out[i, col + 1] = NONE
                out[i, col + 2] = 0.0
            out[i, col + 3] = cnt


@njit(cache=True, **NO_NRT)
def step(
    i: int, bars: np.ndarray, swings_out: np.ndarray, atr_out: np.ndarray,
    periods_out: np.ndarray, tol_atr: float, m: int, pools: np.ndarray, cands: np.ndarray,
    sizes: np.ndarray, levels: np.ndarray, out: np.ndarray,
) -> None:  # fmt: skip
    """Write row ``i`` (every column) from bars ``0..i`` and row ``i`` of swings, ATR and
    periods."""
    _rows(
        i, i + 1, bars, swings_out, atr_out, periods_out, tol_atr, m, pools, cands, sizes, levels,
        out,
    )  # fmt: skip


@njit(cache=True, **NO_NRT)
def rows(
    i0: int, i1: int, bars: np.ndarray, swings_out: np.ndarray, atr_out: np.ndarray,
    periods_out: np.ndarray, tol_atr: float, m: int, pools: np.ndarray, cands: np.ndarray,
    sizes: np.ndarray, levels: np.ndarray, out: np.ndarray,
) -> None:  # fmt: skip
    """``step`` for rows ``i0..i1-1`` in one call (the batch's chunks): a call per bar passes
    the eight arrays' descriptors again and spills the loop's registers every row."""
    _rows(
        i0, i1, bars, swings_out, atr_out, periods_out, tol_atr, m, pools, cands, sizes, levels,
        out,
    )  # fmt: skip


@njit(cache=True, nogil=True)
def _run(
    bars: np.ndarray, swings_out: np.ndarray, atr_out: np.ndarray, periods_out: np.ndarray,
    tol_atr: float, m: int, pools: np.ndarray, cands: np.ndarray, sizes: np.ndarray,
    levels: np.ndarray, out: np.ndarray,
) -> None:  # fmt: skip
    _rows(
        0, bars.shape[0], bars, swings_out, atr_out, periods_out, tol_atr, m, pools, cands, sizes,
        levels, out,
    )  # fmt: skip


def _check_inputs(
    bars: np.ndarray, swings_out: np.ndarray, atr_out: np.ndarray, periods_out: np.ndarray
) -> None:
    check_bars(
        bars,
        ("swings_out", swings_out, len(swings_mod.COLUMNS)),
        ("atr_out", atr_out, len(atr_mod.COLUMNS)),
        ("periods_out", periods_out, len(periods_mod.COLUMNS)),
    )


def run(
    bars: np.ndarray,
    swings_out: np.ndarray,
    atr_out: np.ndarray,
    periods_out: np.ndarray,
    params: Params | None = None,
) -> np.ndarray:
    """Batch form over all bars, given the outputs of swings, atr and periods on the same bars."""
    p = params or Params()
    _check_inputs(bars, swings_out, atr_out, periods_out)
    out = empty_out(bars.shape[0], len(COLUMNS))
    pools, cands, sizes, levels = init_state(p)
    _run(
        bars, swings_out, atr_out, periods_out, p.liq_tol_atr, p.liq_reclaim_bars,
        pools, cands, sizes, levels, out,
    )  # fmt: skip
    return out
