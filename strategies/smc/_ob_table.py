"""The order-block table: slot layout, insert/evict/remove, and the cached per-category
aggregates that let a bar skip the table (``order_blocks`` owns the concept and its columns).

Why a module of its own: the table is a small data structure with invariants of its own
(slots hold OBs and breakers of both directions; removal moves the last slot into the hole, so
slot order is not creation order — ``SEQ`` is; the aggregates are recomputed after any change),
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


@njit(cache=True, **NO_NRT)
def remove(table: np.ndarray, s: int, count: int) -> int:
    """Drop slot ``s`` by moving the last active slot into it; returns the new count."""
    last = count - 1
    for f in range(TABLE_FIELDS):  # field by field: a row copy would allocate a temporary
        if s != last:
            table[s, f] = table[last, f]
        table[last, f] = 0.0
    return last


@njit(cache=True, **NO_NRT)
def insert(
    table: np.ndarray, scal: np.ndarray, d: float, top: float, bot: float, ref: int, i: int
) -> None:
    count = int(scal[COUNT])
    if count == table.shape[0]:  # evict the oldest object
        oldest = 0
        for s in range(1, count):
            if table[s, SEQ] < table[oldest, SEQ]:
                oldest = s
        count = remove(table, oldest, count)
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


@njit(cache=True, **NO_NRT)
def aggregate(table: np.ndarray, count: int, c: float, scal: np.ndarray) -> None:
    """Recompute the cached per-category triggers after the table changed, and the
    nearest-inside cache of every category at the close ``c``, in one pass over the table.

    The triggers let a bar skip the table when no object can change (``triggered``) and give
    the nearest object in O(1) while price is outside every zone of a category.
    """
    for cat in range(4):
        b = 4 * cat
        v = -np.inf if cat % 2 == 0 else np.inf
        scal[AGG + b + A_TOUCH] = v
        scal[AGG + b + A_INVAL] = v
        scal[AGG + b + A_NEAR] = v
        scal[AGG + b + A_SLOT] = -1.0
        scal[CACHE + b] = 1.0
        scal[CACHE + b + 1] = -1.0
        scal[CACHE + b + 2] = -np.inf
        scal[CACHE + b + 3] = np.inf
    for s in range(count):
        brk = table[s, KIND] == BREAKER
        top, bot, seq = table[s, TOP], table[s, BOT], table[s, SEQ]
        fresh = table[s, RETESTED if brk else TOUCHED] == 0.0
        if table[s, DIR] > 0:  # bullish: price above, events when it comes down
            cat = 2 if brk else 0
            b = 4 * cat
            if fresh and top > scal[AGG + b + A_TOUCH]:
                scal[AGG + b + A_TOUCH] = top
            scal[AGG + b + A_INVAL] = max(scal[AGG + b + A_INVAL], bot)
            near = scal[AGG + b + A_NEAR]
            if top > near or (top == near and seq > table[int(scal[AGG + b + A_SLOT]), SEQ]):
                scal[AGG + b + A_NEAR] = top
                scal[AGG + b + A_SLOT] = s
            if top >= c:  # zone reaches the close
                if scal[CACHE + b + 1] < 0.0 or seq > table[int(scal[CACHE + b + 1]), SEQ]:
                    scal[CACHE + b + 1] = s
                scal[CACHE + b + 3] = min(scal[CACHE + b + 3], top)
            else:
                scal[CACHE + b + 2] = max(scal[CACHE + b + 2], top)
        else:
            cat = 3 if brk else 1
            b = 4 * cat
            if fresh and bot < scal[AGG + b + A_TOUCH]:
                scal[AGG + b + A_TOUCH] = bot
            scal[AGG + b + A_INVAL] = min(scal[AGG + b + A_INVAL], top)
            near = scal[AGG + b + A_NEAR]
            if bot < near or (bot == near and seq > table[int(scal[AGG + b + A_SLOT]), SEQ]):
                scal[AGG + b + A_NEAR] = bot
                scal[AGG + b + A_SLOT] = s
            if bot <= c:
                if scal[CACHE + b + 1] < 0.0 or seq > table[int(scal[CACHE + b + 1]), SEQ]:
                    scal[CACHE + b + 1] = s
                scal[CACHE + b + 2] = max(scal[CACHE + b + 2], bot)
            else:
                scal[CACHE + b + 3] = min(scal[CACHE + b + 3], bot)


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
