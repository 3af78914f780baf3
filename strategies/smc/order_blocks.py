"""Order blocks, their lifecycle and breaker blocks (smc.md §3.4), one instance per scale.

Creation (known at the breaking bar ``t``, written on row ``t``, ``ref`` = OB candle ``k``):
a bullish structure break of swing high ``p`` makes the candle with the lowest low in ``(p, t)``
(last on ties) a bullish OB with zone ``[l[k], h[k]]`` (body variant ``[min(o,c), max(o,c)]``).
Bearish mirrored (highest high after the broken swing low). Optional volatility filter: candles
with ``h - l > m * ATR_n(t)`` (Wilder ATR over bars ``<= t``) are not candidates (no filter
while the ATR is warming up); if no candle qualifies there is no OB.

Lifecycle, each an event on its own bar ``j > t`` (bullish; bearish mirrored):
touched ``l[j] <= top`` (first time only) → invalidated ``c[j] < bottom`` (wick mode ``l[j]``):
the zone becomes a *bearish breaker* with the same bounds, tracked from ``j + 1`` →
breaker retest ``h[j'] >= bottom`` (first time only) → breaker invalidated ``c[j'] > top``
(wick ``h[j']``) and dropped. An invalidation bar also counts as a touch when not touched before.

Events of several objects on one bar: the column holds the **count**, ``…_ref`` / ``…_dir``
describe the most recently created of them (``dir`` is the object's direction at that moment:
OB direction for touched/invalidated, breaker direction for retest/breaker-invalidated).
Objects live in a bounded table of ``ob_max_active`` slots (OBs and breakers together); when it is
full the oldest object (by creation) is evicted silently, so the output never depends on the
series length.

State columns at every bar, from the close ``c``: nearest active bullish OB (distance
``max(0, c - top)``, ties → most recent) and nearest bearish OB (``max(0, bottom - c)``), and the
nearest bullish / bearish breaker likewise, each as top/bottom/ref/known row (for a breaker:
the row it became a breaker); ``ob_active`` = objects in the table.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field

from strategies.smc import _ob_table as tb
from strategies.smc import structure as ms
from strategies.smc._common import (
    CLOSE,
    HIGH,
    LOW,
    NO_NRT,
    NONE,
    OPEN,
    check_bars,
    empty_out,
    wilder_atr_step,
)
from strategies.smc._ob_table import STATE_SIZE, TABLE_FIELDS

COLUMNS = (
    "ob_bull_new", "ob_bull_new_top", "ob_bull_new_bottom", "ob_bull_new_ref",
    "ob_bear_new", "ob_bear_new_top", "ob_bear_new_bottom", "ob_bear_new_ref",
    "ob_touched", "ob_touched_ref", "ob_touched_dir",
    "ob_invalidated", "ob_invalidated_ref", "ob_invalidated_dir",
    "ob_breaker_retest", "ob_breaker_retest_ref", "ob_breaker_retest_dir",
    "ob_breaker_invalidated", "ob_breaker_invalidated_ref", "ob_breaker_invalidated_dir",
    "ob_bull_top", "ob_bull_bottom", "ob_bull_ref", "ob_bull_known",
    "ob_bear_top", "ob_bear_bottom", "ob_bear_ref", "ob_bear_known",
    "ob_bull_breaker_top", "ob_bull_breaker_bottom", "ob_bull_breaker_ref",
    "ob_bull_breaker_known",
    "ob_bear_breaker_top", "ob_bear_breaker_bottom", "ob_bear_breaker_ref",
    "ob_bear_breaker_known",
    "ob_active",
)  # fmt: skip
INT_COLUMNS = frozenset(
    {"ob_bull_new", "ob_bull_new_ref", "ob_bear_new", "ob_bear_new_ref",
     "ob_touched", "ob_touched_ref", "ob_touched_dir",
     "ob_invalidated", "ob_invalidated_ref", "ob_invalidated_dir",
     "ob_breaker_retest", "ob_breaker_retest_ref", "ob_breaker_retest_dir",
     "ob_breaker_invalidated", "ob_breaker_invalidated_ref", "ob_breaker_invalidated_dir",
     "ob_bull_ref", "ob_bull_known", "ob_bear_ref", "ob_bear_known",
     "ob_bull_breaker_ref", "ob_bull_breaker_known", "ob_bear_breaker_ref",
     "ob_bear_breaker_known", "ob_active"}
)  # fmt: skip
BULL_NEW, BULL_NEW_TOP, BULL_NEW_BOT, BULL_NEW_REF = 0, 1, 2, 3
BEAR_NEW, BEAR_NEW_TOP, BEAR_NEW_BOT, BEAR_NEW_REF = 4, 5, 6, 7
TOUCHED, INVALIDATED, RETEST, BRK_INVALIDATED = 8, 11, 14, 17  # each: count, ref, dir
BULL_OB, BEAR_OB, BULL_BRK, BEAR_BRK = 20, 24, 28, 32  # each: top, bottom, ref, known
ACTIVE = 36


class OrderBlockParams(BaseModel):
    """Order-block parameters (one set shared by both structure scales)."""

    model_config = ConfigDict(frozen=True)

    ob_use_body: bool = Field(False, description="zone = candle body instead of its wick range")
    ob_close_invalidation: bool = Field(
        True, description="invalidate on a close beyond the zone (False: on the wick)"
    )
    ob_atr_period: int = Field(14, ge=1, le=1000, description="Wilder ATR period of the filter")
    ob_atr_mult: float = Field(
        0.0, ge=0.0, le=100.0, description="skip candles with range > mult*ATR (0 = no filter)"
    )
    ob_max_active: int = Field(
        32, ge=1, le=1024, description="capacity of the OB/breaker table (oldest evicted)"
    )


def column_names(scale: str) -> tuple[str, ...]:
    """Column names of one scale, e.g. ``ob_swing_bull_top`` for ``scale='swing'``."""
    return tuple(c.replace("ob_", f"ob_{scale}_", 1) for c in COLUMNS)


def int_column_names(scale: str) -> frozenset[str]:
    """``INT_COLUMNS`` renamed for one scale."""
    return frozenset(c.replace("ob_", f"ob_{scale}_", 1) for c in INT_COLUMNS)


def init_state(params: OrderBlockParams) -> tuple[np.ndarray, np.ndarray]:
    """Fresh ``(scalars, table)``: empty table of ``ob_max_active`` slots, ATR not started."""
    scal = np.zeros(STATE_SIZE)
    empty = np.zeros(STATE_SIZE)
    tb.refresh(np.zeros((0, TABLE_FIELDS)), 0.0, empty, 15)
    scal[tb.AGG : tb.AGG + 16] = empty[
        tb.AGG : tb.AGG + 16
    ]  # the nearest-inside cache stays invalid
    return scal, np.zeros((params.ob_max_active, TABLE_FIELDS))


@njit(cache=True, **NO_NRT)
def _candle(bars: np.ndarray, p: int, t: int, bullish: bool, atr: float, atr_mult: float) -> int:
    """OB candle in ``(p, t)``: lowest low (bullish) / highest high, last on ties; -1 if none."""
    best = -1
    lim = atr_mult * atr if atr_mult > 0.0 else np.inf  # NaN ATR: comparison false, no filter
    for k in range(p + 1, t):
        if bars[k, HIGH] - bars[k, LOW] > lim:
            continue
        if best < 0:
            best = k
        elif bullish:
            if bars[k, LOW] <= bars[best, LOW]:
                best = k
        elif bars[k, HIGH] >= bars[best, HIGH]:
            best = k
    return best


@njit(cache=True, inline="always")
def _note(
    out: np.ndarray, i: int, col: int, scal: np.ndarray, s_seq: float, ref: float, d: float
) -> None:
    """Count an event in ``out[i, col]``; ref/dir follow the most recently created object."""
    k = tb.SCRATCH + (col - TOUCHED) // 3
    out[i, col] += 1.0
    if s_seq > scal[k]:
        scal[k] = s_seq
        out[i, col + 1] = ref
        out[i, col + 2] = d


@njit(cache=True, **NO_NRT)
def _lifecycle(
    i: int,
    bars: np.ndarray,
    close_inval: bool,
    mask: int,
    table: np.ndarray,
    scal: np.ndarray,
    out: np.ndarray,
) -> int:
    """Events of the objects known before bar ``i`` in the categories of ``mask`` (the others
    cannot have one); returns the categories that changed.

    Groups are visited from the last slot down (breakers first), and a change only moves
    slots above the current one: visited objects, or ones of groups without events — so an OB
    turned breaker on this bar is not seen again as a breaker.
    """
    h, lo, c = bars[i, HIGH], bars[i, LOW], bars[i, CLOSE]
    up_px = c if close_inval else h
    dn_px = c if close_inval else lo
    for k in range(tb.SCRATCH, tb.SCRATCH + 4):  # latest event sequence per column
        scal[k] = -1.0
    dirty = 0
    for k in range(3, -1, -1):
        if mask & (1 << k):
            dirty |= _group_events(i, k, h, lo, up_px, dn_px, table, scal, out)
    return dirty


@njit(cache=True, inline="always")
def _group_events(
    i: int,
    k: int,
    h: float,
    lo: float,
    up_px: float,
    dn_px: float,
    table: np.ndarray,
    scal: np.ndarray,
    out: np.ndarray,
) -> int:
    """Events of group ``k`` (all of one kind and direction); returns the changed categories."""
    dirty = 0
    start = int(scal[tb.SEG + k])
    s = tb.seg_end(scal, k) - 1
    while s >= start:
        d = table[s, tb.DIR]
        top, bot = table[s, tb.TOP], table[s, tb.BOT]
        ref, seq = table[s, tb.REF], table[s, tb.SEQ]
        hit = lo <= top if d > 0 else h >= bot
        broken = dn_px < bot if d > 0 else up_px > top
        if k < 2:  # an OB: touched, then invalidated -> breaker of the other direction
            if hit and table[s, tb.TOUCHED] == 0.0:
                table[s, tb.TOUCHED] = 1.0
                _note(out, i, TOUCHED, scal, seq, ref, d)
                dirty |= 1 << k
            if broken:
                _note(out, i, INVALIDATED, scal, seq, ref, d)
                dirty |= (1 << k) | (1 << (3 - k))
                tb.to_breaker(table, scal, s, i)
        elif table[s, tb.BRK_KNOWN] < i:  # breakers are tracked from the bar after they formed
            if hit and table[s, tb.RETESTED] == 0.0:
                table[s, tb.RETESTED] = 1.0
                _note(out, i, RETEST, scal, seq, ref, d)
                dirty |= 1 << k
            if broken:
                _note(out, i, BRK_INVALIDATED, scal, seq, ref, d)
                dirty |= 1 << k
                tb.take_out(table, scal, s, k)
        s -= 1
    return dirty


@njit(cache=True, inline="always")
def _nearest(
    i: int,
    c: float,
    table: np.ndarray,
    count: int,
    scal: np.ndarray,
    out: np.ndarray,
) -> None:
    """Nearest OB / breaker per direction from the close: smallest distance (bullish
    ``max(0, c - top)``, bearish ``max(0, bottom - c)``), ties → most recently created.

    Outside every zone of a category this is the cached extreme (O(1)); inside, the most
    recent zone containing the close, cached per close interval.
    """
    for cat in range(4):
        col = BULL_OB + 4 * cat  # BULL_OB, BEAR_OB, BULL_BRK, BEAR_BRK are consecutive
        s = int(scal[tb.AGG + 4 * cat + tb.A_SLOT])
        near = scal[tb.AGG + 4 * cat + tb.A_NEAR]
        b = 4 * cat
        if s >= 0 and (c <= near if cat % 2 == 0 else c >= near):
            lo, hi = scal[tb.CACHE + b + 2], scal[tb.CACHE + b + 3]
            hit = (lo < c <= hi) if cat % 2 == 0 else (lo <= c < hi)
            if not (scal[tb.CACHE + b] == 1.0 and hit):  # the close left the cached interval
                tb.refresh_category(table, c, scal, cat)
            s = int(scal[tb.CACHE + b + 1])
        if s < 0:
            out[i, col] = np.nan
            out[i, col + 1] = np.nan
            out[i, col + 2] = NONE
            out[i, col + 3] = NONE
        else:
            out[i, col] = table[s, tb.TOP]
            out[i, col + 1] = table[s, tb.BOT]
            out[i, col + 2] = table[s, tb.REF]
            out[i, col + 3] = table[s, tb.BRK_KNOWN] if cat >= 2 else table[s, tb.KNOWN]


@njit(cache=True, **NO_NRT)
def _create(
    i: int,
    bars: np.ndarray,
    p: int,
    bullish: bool,
    use_body: bool,
    atr: float,
    atr_mult: float,
    table: np.ndarray,
    scal: np.ndarray,
    out: np.ndarray,
) -> int:
    """The OB of a structure break on bar ``i``; returns the categories that changed."""
    k = _candle(bars, p, i, bullish, atr, atr_mult)
    if k < 0:
        return 0
    if use_body:
        top = max(bars[k, OPEN], bars[k, CLOSE])
        bot = min(bars[k, OPEN], bars[k, CLOSE])
    else:
        top, bot = bars[k, HIGH], bars[k, LOW]
    col = BULL_NEW if bullish else BEAR_NEW
    out[i, col] = 1.0
    out[i, col + 1] = top
    out[i, col + 2] = bot
    out[i, col + 3] = k
    return tb.insert(table, scal, 1.0 if bullish else -1.0, top, bot, k, i, bars[i, CLOSE])


@njit(cache=True, inline="always")
def _step(
    i: int,
    bars: np.ndarray,
    structure_out: np.ndarray,
    use_body: bool,
    close_inval: bool,
    atr_period: int,
    atr_mult: float,
    scal: np.ndarray,
    table: np.ndarray,
    out: np.ndarray,
) -> None:
    atr = np.nan
    if atr_mult > 0.0:  # the ATR only feeds the filter
        atr = wilder_atr_step(i, bars, atr_period, scal[tb.ATR : tb.ATR + 2])
    for col in (BULL_NEW, BEAR_NEW):  # every column is written (the batch buffer is np.empty)
        out[i, col] = 0.0
        out[i, col + 1] = np.nan
        out[i, col + 2] = np.nan
        out[i, col + 3] = NONE
    for col in (TOUCHED, INVALIDATED, RETEST, BRK_INVALIDATED):
        out[i, col] = 0.0
        out[i, col + 1] = NONE
        out[i, col + 2] = 0.0
    h, lo, c = bars[i, HIGH], bars[i, LOW], bars[i, CLOSE]
    dirty = 0  # bit set of the categories whose objects changed on this bar
    mask = tb.triggered(h, lo, c if close_inval else h, c if close_inval else lo, scal)
    if mask:
        dirty |= _lifecycle(i, bars, close_inval, mask, table, scal, out)  # objects known before i
    if structure_out[i, ms.BULL_KIND] != ms.NO_BREAK:
        p = int(structure_out[i, ms.BULL_REF])
        dirty |= _create(i, bars, p, True, use_body, atr, atr_mult, table, scal, out)
    if structure_out[i, ms.BEAR_KIND] != ms.NO_BREAK:
        p = int(structure_out[i, ms.BEAR_REF])
        dirty |= _create(i, bars, p, False, use_body, atr, atr_mult, table, scal, out)
    count = int(scal[tb.COUNT])
    if dirty:
        tb.refresh(table, c, scal, dirty)
    _nearest(i, c, table, count, scal, out)
    out[i, ACTIVE] = count


# no array refcounting per call, and the batch loop inlines the step body (see swings.step)
@njit(cache=True, **NO_NRT)
def step(
    i: int,
    bars: np.ndarray,
    structure_out: np.ndarray,
    use_body: bool,
    close_inval: bool,
    atr_period: int,
    atr_mult: float,
    scal: np.ndarray,
    table: np.ndarray,
    out: np.ndarray,
) -> None:
    """Write row ``i`` from bars ``0..i`` and structure rows ``0..i``."""
    _step(i, bars, structure_out, use_body, close_inval, atr_period, atr_mult, scal, table, out)


@njit(cache=True, **NO_NRT)
def rows(
    i0: int,
    i1: int,
    bars: np.ndarray,
    structure_out: np.ndarray,
    use_body: bool,
    close_inval: bool,
    atr_period: int,
    atr_mult: float,
    scal: np.ndarray,
    table: np.ndarray,
    out: np.ndarray,
) -> None:
    """``step`` for rows ``i0..i1-1`` in one call (the batch runs a chunk at a time): a call per
    row passes every array descriptor again and spills the loop's registers (see liquidity.rows)."""
    for i in range(i0, i1):
        _step(i, bars, structure_out, use_body, close_inval, atr_period, atr_mult, scal, table, out)


@njit(cache=True, nogil=True, **NO_NRT)
def _run(
    bars: np.ndarray,
    structure_out: np.ndarray,
    use_body: bool,
    close_inval: bool,
    atr_period: int,
    atr_mult: float,
    scal: np.ndarray,
    table: np.ndarray,
    out: np.ndarray,
) -> None:
    for i in range(bars.shape[0]):
        _step(i, bars, structure_out, use_body, close_inval, atr_period, atr_mult, scal, table, out)


def run(bars: np.ndarray, structure_out: np.ndarray, params: OrderBlockParams) -> np.ndarray:
    """Batch form: the same ``step`` as the stream, in one njit loop."""
    check_bars(bars, ("structure_out", structure_out, len(ms.COLUMNS)))
    out = empty_out(bars.shape[0], len(COLUMNS))  # step writes every column of every row
    scal, table = init_state(params)
    p = params
    _run(
        bars, structure_out, p.ob_use_body, p.ob_close_invalidation, p.ob_atr_period,
        p.ob_atr_mult, scal, table, out,
    )  # fmt: skip
    return out
