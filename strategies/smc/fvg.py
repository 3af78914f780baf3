"""Fair value gaps and inverse FVGs, known at the third bar (docs/smc.md §3.2).

Bars ``t-2, t-1, t``: bullish if ``l[t] > h[t-2]`` (zone ``[h[t-2], l[t]]``), bearish if
``h[t] < l[t-2]`` (zone ``[h[t], l[t-2]]``); written on row ``t`` with ``ref`` = the middle bar
``t-1`` (lag 1). Options: the package rule "middle bar closes in the gap's direction"
(``fvg_middle_dir``) and a size filter ``top - bottom >= k * ATR(t)`` (``fvg_min_atr``; no gap
while ATR is still NaN).

Lifecycle, from the bar after the zone became known (bullish; bearish mirrored): touched
``l <= top``, consequent encroachment ``l <= (top + bottom) / 2``, filled ``l <= bottom`` — each
once, each an event on its own row — and **inversion** ``c < bottom``: the zone leaves the FVG
table and enters the IFVG table as a bearish zone with the same bounds, tracked anew from the next
bar with the same three events plus ``invalidated`` (a close back through its far side, which
drops it). A filled FVG stays tracked until it inverts (or is evicted).

Merging (``fvg_merge``): when bar ``t+1`` confirms a gap in the same direction as the zone created
on row ``t`` (still active), row ``t+1`` also reports a merged zone = union of both bounds, with
``ref`` = the first middle bar of the chain; the merged zone replaces the earlier one in the table
(row ``t`` stays as written). Chains extend further the same way.

When several zones change on one bar, an event column holds the count and its ``_ref`` (and
the inversion's dir/top/bottom) the most recently created of them. Four tables (bullish FVG,
bearish FVG, bullish IFVG, bearish IFVG) hold at most ``fvg_max_active`` zones each; the oldest is
evicted (silently) when a new one does not fit, so state never depends on the series length.

State columns (every row): nearest unfilled active bullish zone (highest top; its bottom is at or
below the close) and bearish zone (lowest bottom), for FVGs and IFVGs, plus unfilled counts.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field

from strategies.smc import _fvg_table as tb
from strategies.smc import atr as atr_mod
from strategies.smc._common import CLOSE, HIGH, LOW, NO_NRT, NONE, OPEN, check_bars, empty_out
from strategies.smc._fvg_table import (
    M_BEST,
    M_THR,
    S_NEXT,
    S_NEXT_KNOWN,
    T_BEAR,
    T_BULL,
    T_IBEAR,
    T_IBULL,
    Z_BORN,
    Z_BOT,
    Z_CE,
    Z_FIELDS,
    Z_FILL,
    Z_REF,
    Z_THR,
    Z_TOP,
    Z_TOUCH,
)

COLUMNS = (
    # events: new gap, merged zone
    "fvg_dir", "fvg_ref", "fvg_top", "fvg_bottom",
    "fvg_merged", "fvg_merged_ref", "fvg_merged_top", "fvg_merged_bottom",
    # events: FVG lifecycle
    "fvg_touched", "fvg_touched_ref", "fvg_ce", "fvg_ce_ref", "fvg_filled", "fvg_filled_ref",
    "fvg_inverted", "fvg_inverted_ref", "fvg_inverted_dir", "fvg_inverted_top",
    "fvg_inverted_bottom",
    # events: IFVG lifecycle
    "fvg_inv_touched", "fvg_inv_touched_ref", "fvg_inv_ce", "fvg_inv_ce_ref",
    "fvg_inv_filled", "fvg_inv_filled_ref", "fvg_inv_invalidated", "fvg_inv_invalidated_ref",
    # state
    "fvg_bull_top", "fvg_bull_bottom", "fvg_bull_ref", "fvg_bear_top", "fvg_bear_bottom",
    "fvg_bear_ref",
    "fvg_inv_bull_top", "fvg_inv_bull_bottom", "fvg_inv_bull_ref", "fvg_inv_bear_top",
    "fvg_inv_bear_bottom", "fvg_inv_bear_ref",
    "fvg_n_bull", "fvg_n_bear", "fvg_inv_n_bull", "fvg_inv_n_bear",
)  # fmt: skip
INT_COLUMNS = frozenset(
    c for c in COLUMNS
    if not c.endswith(("_top", "_bottom"))
)  # fmt: skip
(
    DIR, REF, TOP, BOT, M_DIR, M_REF, M_TOP, M_BOT,
    TOUCHED, TOUCHED_REF, CE, CE_REF, FILLED, FILLED_REF,
    INVERTED, INVERTED_REF, INVERTED_DIR, INVERTED_TOP, INVERTED_BOT,
    I_TOUCHED, I_TOUCHED_REF, I_CE, I_CE_REF, I_FILLED, I_FILLED_REF, I_INVALID, I_INVALID_REF,
    BULL_TOP, BULL_BOT, BULL_REF, BEAR_TOP, BEAR_BOT, BEAR_REF,
    I_BULL_TOP, I_BULL_BOT, I_BULL_REF, I_BEAR_TOP, I_BEAR_BOT, I_BEAR_REF,
    N_BULL, N_BEAR, I_N_BULL, I_N_BEAR,
) = range(len(COLUMNS))  # fmt: skip


class Params(BaseModel):
    """FVG settings."""

    model_config = ConfigDict(frozen=True)

    fvg_middle_dir: bool = Field(
        default=False, description="package rule: the middle bar must close in the gap direction"
    )
    fvg_min_atr: float = Field(
        default=0.0, ge=0.0, le=100.0, description="minimum gap size in ATR(t) units (0 = off)"
    )
    fvg_merge: bool = Field(
        default=True, description="merge consecutive same-direction gaps into one zone"
    )
    fvg_max_active: int = Field(
        default=64, ge=1, le=4096, description="capacity of each zone table (oldest evicted)"
    )


def init_state(params: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zone tables, ``meta`` and cached state (``_fvg_table.init_state``)."""
    return tb.init_state(params.fvg_max_active)


@njit(cache=True, inline="always")
def _event(
    out: np.ndarray, i: int, col: int, meta: np.ndarray, e: int, ref: float, born: float
) -> bool:
    """Count one event in ``col``; ``col + 1`` keeps the ref of the newest zone. True if newest."""
    out[i, col] += 1.0
    if born >= meta[M_BEST + e]:
        meta[M_BEST + e] = born
        out[i, col + 1] = ref
        return True
    return False


@njit(cache=True, inline="always")
def _advance(
    i: int,
    bars: np.ndarray,
    tabs: np.ndarray,
    meta: np.ndarray,
    snap: np.ndarray,
    t: int,
    out: np.ndarray,
    col: int,
) -> tuple[bool, bool]:
    """Lifecycle of table ``t`` on bar ``i``, events from column ``col``.

    Returns (``snap[t]`` needs a recompute, an inversion evicted the nearest zone of the opposite
    IFVG table). Touches and CE leave the state as it is, and so does dropping a zone already
    filled; a zone that fills or leaves unfilled lowers the count in O(1), and only the nearest
    one (the state's ``ref``) needs the O(n) recompute.

    A close through the far side drops the zone; an FVG then re-enters the opposite IFVG table
    (born ``i``, so tracked from the next bar). ``Z_THR`` is the price whose reach can trigger the
    zone's next event, so most zones cost one comparison per bar.
    """
    bull = t % 2 == 0
    h = bars[i, HIGH]
    lo = bars[i, LOW]
    c = bars[i, CLOSE]
    if (bull and not lo <= meta[M_THR + t]) or (not bull and not h >= meta[M_THR + t]):
        return False, False
    n = int(meta[t])
    changed = False
    evicted = False
    thr = -np.inf if bull else np.inf
    w = 0
    for k in range(n):
        if (lo <= tabs[t, k, Z_THR]) if bull else (h >= tabs[t, k, Z_THR]):
            top = tabs[t, k, Z_TOP]
            bot = tabs[t, k, Z_BOT]
            mid = 0.5 * (top + bot)
            ref = tabs[t, k, Z_REF]
            born = tabs[t, k, Z_BORN]
            if bull:
                touch, ce, fill, through = lo <= top, lo <= mid, lo <= bot, c < bot
            else:
                touch, ce, fill, through = h >= bot, h >= mid, h >= top, c > top
            if touch and tabs[t, k, Z_TOUCH] == 0.0:
                tabs[t, k, Z_TOUCH] = 1.0
                tabs[t, k, Z_THR] = mid
                _event(out, i, col, meta, 0, ref, born)
            if ce and tabs[t, k, Z_CE] == 0.0:
                tabs[t, k, Z_CE] = 1.0
                tabs[t, k, Z_THR] = bot if bull else top
                _event(out, i, col + 2, meta, 1, ref, born)
            if fill and tabs[t, k, Z_FILL] == 0.0:
                tabs[t, k, Z_FILL] = 1.0
                snap[t, 3] -= 1.0
                changed |= tb.gone(snap, t, ref)
                _event(out, i, col + 4, meta, 2, ref, born)
            if through:
                if tabs[t, k, Z_FILL] == 0.0:  # an unfilled zone leaves (only if low > close)
                    snap[t, 3] -= 1.0
                    changed |= tb.gone(snap, t, ref)
                newest = _event(out, i, col + 6, meta, 3, ref, born)
                if t < 2:
                    if newest:
                        out[i, col + 8] = -1.0 if bull else 1.0
                        out[i, col + 9] = top
                        out[i, col + 10] = bot
                    if tb.push(tabs, meta, snap, 3 - t, top, bot, ref, float(i)):
                        evicted = True
                continue
        thr = max(thr, tabs[t, k, Z_THR]) if bull else min(thr, tabs[t, k, Z_THR])
        if w != k:
            for f in range(Z_FIELDS):
                tabs[t, w, f] = tabs[t, k, f]
        w += 1
    meta[t] = w
    meta[M_THR + t] = thr
    return changed, evicted


@njit(cache=True, inline="always")
def _init_row(i: int, out: np.ndarray, meta: np.ndarray) -> None:
    """Every event column's default, each written once (counts 0, refs -1, levels NaN)."""
    row = out[i]
    for col in (DIR, M_DIR, TOUCHED, CE, FILLED, INVERTED, INVERTED_DIR):
        row[col] = 0.0
    for col in (I_TOUCHED, I_CE, I_FILLED, I_INVALID):
        row[col] = 0.0
    for col in (REF, M_REF, TOUCHED_REF, CE_REF, FILLED_REF, INVERTED_REF, I_TOUCHED_REF):
        row[col] = NONE
    for col in (I_CE_REF, I_FILLED_REF, I_INVALID_REF):
        row[col] = NONE
    for col in (TOP, BOT, M_TOP, M_BOT, INVERTED_TOP, INVERTED_BOT):
        row[col] = np.nan
    for e in range(4):
        meta[M_BEST + e] = -1.0


@njit(cache=True, **NO_NRT)
def step(
    i: int,
    bars: np.ndarray,
    atr_out: np.ndarray,
    middle_dir: bool,
    min_atr: float,
    merge: bool,
    tabs: np.ndarray,
    meta: np.ndarray,
    snap: np.ndarray,
    out: np.ndarray,
) -> None:
    """Write row ``i`` (every column) from bars ``0..i`` and ``atr_out[i]``."""
    _step(i, bars, atr_out, middle_dir, min_atr, merge, tabs, meta, snap, out)


@njit(cache=True, **NO_NRT)
def rows(
    i0: int,
    i1: int,
    bars: np.ndarray,
    atr_out: np.ndarray,
    middle_dir: bool,
    min_atr: float,
    merge: bool,
    tabs: np.ndarray,
    meta: np.ndarray,
    snap: np.ndarray,
    out: np.ndarray,
) -> None:
    """``step`` for rows ``i0..i1-1``, in order: one call per chunk, not per bar.

    Why: a call passes ten array descriptors and spills the step's registers; per bar that was
    about 15 % of the kernel. The body is inlined, so each row costs what ``step``'s body does.
    """
    for i in range(i0, i1):
        _step(i, bars, atr_out, middle_dir, min_atr, merge, tabs, meta, snap, out)


@njit(cache=True, inline="always")
def _step(
    i: int,
    bars: np.ndarray,
    atr_out: np.ndarray,
    middle_dir: bool,
    min_atr: float,
    merge: bool,
    tabs: np.ndarray,
    meta: np.ndarray,
    snap: np.ndarray,
    out: np.ndarray,
) -> None:
    """``step``'s body, inlined into the batch loop (no per-bar call passing array descriptors)."""
    _init_row(i, out, meta)
    # 1) IFVGs first, so a zone inverted on this bar is only tracked from the next one
    # c<t>: snap[t] needs a full recompute (pushes keep it current otherwise)
    # (each table's trigger price is checked here, before the call: most bars skip all four)
    lo = bars[i, LOW]
    h = bars[i, HIGH]
    c0 = c1 = c2 = c3 = ev2 = ev3 = False
    if lo <= meta[M_THR + T_IBULL]:
        c2 = _advance(i, bars, tabs, meta, snap, T_IBULL, out, I_TOUCHED)[0]
    if h >= meta[M_THR + T_IBEAR]:
        c3 = _advance(i, bars, tabs, meta, snap, T_IBEAR, out, I_TOUCHED)[0]
    for e in range(4):
        meta[M_BEST + e] = -1.0
    if lo <= meta[M_THR + T_BULL]:
        c0, ev3 = _advance(i, bars, tabs, meta, snap, T_BULL, out, TOUCHED)
    if h >= meta[M_THR + T_BEAR]:
        c1, ev2 = _advance(i, bars, tabs, meta, snap, T_BEAR, out, TOUCHED)
    c2 = c2 or ev2
    c3 = c3 or ev3
    # 2) a new gap confirmed by this bar
    if i >= 2:
        t = -1
        top = np.nan
        bot = np.nan
        up = bars[i - 1, CLOSE] > bars[i - 1, OPEN]
        down = bars[i - 1, CLOSE] < bars[i - 1, OPEN]
        if bars[i, LOW] > bars[i - 2, HIGH] and (up or not middle_dir):
            t, top, bot = T_BULL, bars[i, LOW], bars[i - 2, HIGH]
        elif bars[i, HIGH] < bars[i - 2, LOW] and (down or not middle_dir):
            t, top, bot = T_BEAR, bars[i - 2, LOW], bars[i, HIGH]
        if t >= 0 and min_atr > 0.0 and not (top - bot >= min_atr * atr_out[i, atr_mod.ATR]):
            t = -1
        if t >= 0:
            d = 1.0 if t == T_BULL else -1.0
            out[i, DIR] = d
            out[i, REF] = i - 1
            out[i, TOP] = top
            out[i, BOT] = bot
            last = int(meta[t]) - 1
            if merge and last >= 0 and tabs[t, last, Z_BORN] == i - 1:
                m_top = max(top, tabs[t, last, Z_TOP])
                m_bot = min(bot, tabs[t, last, Z_BOT])
                m_ref = tabs[t, last, Z_REF]
                meta[t] = last  # the merged zone replaces the one created on the previous row
                # its bounds contain the replaced zone's: nearest if that one was (push's rule),
                # and then the runner-up stays what it was
                lead = tabs[t, last, Z_FILL] == 0.0 and m_ref == snap[t, 2]
                runner_up = (snap[t, S_NEXT], snap[t, S_NEXT + 1], snap[t, S_NEXT + 2])
                known = snap[t, S_NEXT_KNOWN]
                if tabs[t, last, Z_FILL] == 0.0:
                    snap[t, 3] -= 1.0
                    if m_ref == snap[t, S_NEXT + 2]:
                        snap[t, S_NEXT_KNOWN] = 0.0
                changed = tb.push(tabs, meta, snap, t, m_top, m_bot, m_ref, float(i))
                if lead:
                    snap[t, S_NEXT], snap[t, S_NEXT + 1], snap[t, S_NEXT + 2] = runner_up
                    snap[t, S_NEXT_KNOWN] = known
                out[i, M_DIR] = d
                out[i, M_REF] = m_ref
                out[i, M_TOP] = m_top
                out[i, M_BOT] = m_bot
            else:
                changed = tb.push(tabs, meta, snap, t, top, bot, float(i - 1), float(i))
            if t == T_BULL:
                c0 = c0 or changed
            else:
                c1 = c1 or changed
    # 3) state
    for t, changed in ((T_BULL, c0), (T_BEAR, c1), (T_IBULL, c2), (T_IBEAR, c3)):
        if changed:
            tb.state(tabs, t, int(meta[t]), t % 2 == 0, snap)
    for t, col, ncol in ((T_BULL, BULL_TOP, N_BULL), (T_BEAR, BEAR_TOP, N_BEAR)):
        for k in range(3):
            out[i, col + k] = snap[t, k]
            out[i, col + 6 + k] = snap[t + 2, k]
        out[i, ncol] = snap[t, 3]
        out[i, ncol + 2] = snap[t + 2, 3]


@njit(cache=True, nogil=True, **NO_NRT)
def _run(
    bars: np.ndarray,
    atr_out: np.ndarray,
    middle_dir: bool,
    min_atr: float,
    merge: bool,
    tabs: np.ndarray,
    meta: np.ndarray,
    snap: np.ndarray,
    out: np.ndarray,
) -> None:
    """No reference counting (``NO_NRT``: nothing here allocates): with it, every array handed to
    an inlined helper costs an atomic incref/decref pair per bar, about half of the loop's time."""
    for i in range(bars.shape[0]):  # step writes every column: no NaN prefill needed
        _step(i, bars, atr_out, middle_dir, min_atr, merge, tabs, meta, snap, out)


def run(bars: np.ndarray, atr_out: np.ndarray, params: Params | None = None) -> np.ndarray:
    """Batch form over all bars (``atr_out`` = ``atr.run(bars)``)."""
    p = params or Params()
    check_bars(bars, ("atr_out", atr_out, len(atr_mod.COLUMNS)))
    out = empty_out(bars.shape[0], len(COLUMNS))
    tabs, meta, snap = init_state(p)
    _run(bars, atr_out, p.fvg_middle_dir, p.fvg_min_atr, p.fvg_merge, tabs, meta, snap, out)
    return out
