"""The order-block table: slot layout, insert/evict/remove, and the cached per-category
aggregates that let a bar skip the table (``order_blocks`` owns the concept and its columns).

Why a module of its own: the table is a small data structure with invariants of its own
(slots hold OBs and breakers of both directions; removal moves the last slot into the hole, so
slot order is not creation order — ``SEQ`` is; after a change only the aggregates of the
categories whose objects changed are recomputed),
and the concept's lifecycle rules read better without it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from strategies.smc._common import NO_NRT, NONE

# table fields
KIND, DIR, TOP, BOT, REF, KNOWN, BRK_KNOWN, TOUCHED, RETESTED, SEQ = range(10)
TABLE_FIELDS = 10
OB, BREAKER = 1.0, 2.0
# scalar state: active count, next sequence number, ATR state (2), per-bar scratch (4: latest
# event sequence per lifecycle column), then per category (bull OB, bear OB, bull breaker,
# bear breaker) 4 cached aggregates and 4 nearest-inside cache slots (valid, slot, lo, hi)
COUNT, NEXT_SEQ, ATR, SCRATCH, AGG, CACHE = 0, 1, 2, 4, 8, 24
STATE_SIZE = 40
# aggregate fields per category (bull: max, bear: min): first-touch trigger over untouched /
# unretested objects, invalidation trigger, nearest level, slot of the nearest (most recent on ties)
A_TOUCH, A_INVAL, A_NEAR, A_SLOT = 0, 1, 2, 3


@njit(cache=True, inline="always")
def category(table: np.ndarray, s: int) -> int:
    """Aggregate category of slot ``s``: 0 bull OB, 1 bear OB, 2 bull breaker, 3 bear breaker."""
    return (0 if table[s, DIR] > 0 else 1) + (2 if table[s, KIND] == BREAKER else 0)


@njit(cache=True, **NO_NRT)
def remove(table: np.ndarray, s: int, count: int, scal: np.ndarray) -> int:
    """Drop slot ``s`` by moving the last active slot into it; returns the new count.

    The cached slots that pointed at the moved object follow it (the caller marks the removed
    object's category dirty; a stale slot of a dirty category is recomputed anyway).
    """
    last = count - 1
    for f in range(TABLE_FIELDS):  # field by field: a row copy would allocate a temporary
        if s != last:
            table[s, f] = table[last, f]
        table[last, f] = 0.0
    if s != last:
        for b in range(0, 16, 4):
            if scal[AGG + b + A_SLOT] == last:
                scal[AGG + b + A_SLOT] = s
            if scal[CACHE + b + 1] == last:
                scal[CACHE + b + 1] = s
    return last


@njit(cache=True, **NO_NRT)
def insert(
    table: np.ndarray,
    scal: np.ndarray,
    d: float,
    top: float,
    bot: float,
    ref: int,
    i: int,
    c: float,
) -> int:
    """Append a fresh OB (evicting the oldest object when full); returns the dirty-category
    bits (the evicted object's; the new one is folded into its category's aggregates)."""
    count = int(scal[COUNT])
    dirty = 0
    if count == table.shape[0]:  # evict the oldest object
        oldest = 0
        for s in range(1, count):
            if table[s, SEQ] < table[oldest, SEQ]:
                oldest = s
        dirty |= 1 << category(table, oldest)
        count = remove(table, oldest, count, scal)
    table[count, KIND] = OB
    table[count, DIR] = d
    table[count, TOP] = top
    table[count, BOT] = bot
    table[count, REF] = ref
    table[count, KNOWN] = i
    table[count, BRK_KNOWN] = NONE
    table[count, TOUCHED] = 0.0
    table[count, RETESTED] = 0.0
    table[count, SEQ] = scal[NEXT_SEQ]
    scal[NEXT_SEQ] += 1.0
    scal[COUNT] = count + 1
    _fold_new(table, count, scal, c)
    return dirty


@njit(cache=True, inline="always")
def _fold_new(table: np.ndarray, s: int, scal: np.ndarray, c: float) -> None:
    """Fold the just-inserted (fresh, most recent) object at slot ``s`` into its category's
    aggregates without a rescan; mirrored like ``refresh_category``. If the category is dirty
    anyway (changed earlier on this bar) its refresh overwrites this."""
    cat = category(table, s)
    bull = cat % 2 == 0
    sg = 1.0 if bull else -1.0
    x = table[s, TOP] if bull else -table[s, BOT]
    y = table[s, BOT] if bull else -table[s, TOP]
    b = 4 * cat
    scal[AGG + b + A_TOUCH] = sg * max(sg * scal[AGG + b + A_TOUCH], x)
    scal[AGG + b + A_INVAL] = sg * max(sg * scal[AGG + b + A_INVAL], y)
    if x >= sg * scal[AGG + b + A_NEAR]:  # ties: the new object is the most recent
        scal[AGG + b + A_NEAR] = sg * x
        scal[AGG + b + A_SLOT] = s
    if scal[CACHE + b] != 1.0:
        return
    lo = scal[CACHE + b + 2] if bull else -scal[CACHE + b + 3]  # mirrored interval (lo, hi]
    hi = scal[CACHE + b + 3] if bull else -scal[CACHE + b + 2]
    if x >= hi:  # inside wherever the cache holds: it becomes the cached (most recent) slot
        scal[CACHE + b + 1] = s
    elif x > lo:  # splits the interval: keep the part holding the close
        if sg * c <= x:
            scal[CACHE + b + 1] = s
            hi = x
        else:
            lo = x
        scal[CACHE + b + 2] = lo if bull else -hi
        scal[CACHE + b + 3] = hi if bull else -lo


@njit(cache=True, **NO_NRT)
def refresh(table: np.ndarray, count: int, c: float, scal: np.ndarray, dirty: int) -> None:
    """Recompute the aggregates and nearest-inside cache of the categories in the bit set
    ``dirty`` (those whose objects changed); the others stay valid as they are."""
    for cat in range(4):
        if dirty & (1 << cat):
            refresh_category(table, count, c, scal, cat)


@njit(cache=True, **NO_NRT)
def refresh_category(table: np.ndarray, count: int, c: float, scal: np.ndarray, cat: int) -> None:
    """Recompute one category's triggers and its nearest-inside cache at the close ``c``.

    The triggers let a bar skip the table when no object can change (``triggered``) and give
    the nearest object in O(1) while price is outside every zone of the category. Every
    aggregate is a function of the category's objects only (ties by ``SEQ``, not by slot), so
    categories can be refreshed one at a time. Bearish objects are folded mirrored (``x = -bot``,
    ``y = -top``, close ``-c``) so both directions share the bullish max/``>=`` code.
    """
    bull = cat % 2 == 0
    kind = BREAKER if cat >= 2 else OB
    fresh_field = RETESTED if cat >= 2 else TOUCHED
    sg = 1.0 if bull else -1.0
    cc = sg * c
    touch = inval = near = lo = -np.inf
    hi = np.inf
    nslot = cslot = -1
    nseq = cseq = -1.0
    for s in range(count):
        if table[s, KIND] != kind or (table[s, DIR] > 0) != bull:
            continue
        x = table[s, TOP] if bull else -table[s, BOT]  # level facing price
        y = table[s, BOT] if bull else -table[s, TOP]  # invalidation level
        seq = table[s, SEQ]
        if table[s, fresh_field] == 0.0 and x > touch:
            touch = x
        inval = max(inval, y)
        if x > near or (x == near and seq > nseq):
            near, nslot, nseq = x, s, seq
        if x >= cc:  # zone reaches the close
            if seq > cseq:
                cslot, cseq = s, seq
            hi = min(hi, x)
        else:
            lo = max(lo, x)
    b = 4 * cat
    scal[AGG + b + A_TOUCH] = sg * touch
    scal[AGG + b + A_INVAL] = sg * inval
    scal[AGG + b + A_NEAR] = sg * near
    scal[AGG + b + A_SLOT] = nslot
    scal[CACHE + b] = 1.0
    scal[CACHE + b + 1] = cslot
    scal[CACHE + b + 2] = lo if bull else -hi  # close interval (lo, hi] / [lo, hi) of the cache
    scal[CACHE + b + 3] = hi if bull else -lo


@njit(cache=True, inline="always")
def triggered(h: float, lo: float, up_px: float, dn_px: float, scal: np.ndarray) -> bool:
    """Can any object touch/retest or be invalidated on this bar? (False ⇒ skip the table)."""
    for cat in (0, 2):
        if lo <= scal[AGG + 4 * cat + A_TOUCH] or dn_px < scal[AGG + 4 * cat + A_INVAL]:
            return True
    for cat in (1, 3):
        if h >= scal[AGG + 4 * cat + A_TOUCH] or up_px > scal[AGG + 4 * cat + A_INVAL]:
            return True
    return False
