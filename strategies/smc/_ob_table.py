"""The order-block table: slot layout, insert/evict/move, and the cached per-category
aggregates that let a bar skip the table (``order_blocks`` owns the concept and its columns).

Why a module of its own: the table is a small data structure with invariants of its own, and
the concept's lifecycle rules read better without it. Slots are grouped by category (bull OB,
bear OB, bull breaker, bear breaker: ``SEG`` holds each group's first slot), so a bar visits
only the groups that can have an event and a refresh scans one group without a per-slot
membership test (a mispredicted branch per slot was most of the kernel's cost). Order inside a
group is not creation order (``SEQ`` is): objects move when groups grow or shrink, and the
cached slots follow them. After a change only the changed categories' aggregates are rebuilt.
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
# bear breaker) 4 cached aggregates and 4 nearest-inside cache slots (valid, slot, lo, hi), and
# the first slot of each category's group
COUNT, NEXT_SEQ, ATR, SCRATCH, AGG, CACHE, SEG = 0, 1, 2, 4, 8, 24, 40
STATE_SIZE = 44
# aggregate fields per category (bull: max, bear: min): first-touch trigger over untouched /
# unretested objects, invalidation trigger, nearest level, slot of the nearest (most recent on ties)
A_TOUCH, A_INVAL, A_NEAR, A_SLOT = 0, 1, 2, 3


@njit(cache=True, inline="always")
def category(table: np.ndarray, s: int) -> int:
    """Aggregate category of slot ``s``: 0 bull OB, 1 bear OB, 2 bull breaker, 3 bear breaker."""
    return (0 if table[s, DIR] > 0 else 1) + (2 if table[s, KIND] == BREAKER else 0)


@njit(cache=True, inline="always")
def seg_end(scal: np.ndarray, k: int) -> int:
    """One past the last slot of category ``k``'s group."""
    return int(scal[SEG + k + 1]) if k < 3 else int(scal[COUNT])


@njit(cache=True, **NO_NRT)
def _move(table: np.ndarray, src: int, dst: int, scal: np.ndarray) -> None:
    """Copy slot ``src`` to ``dst``; cached slots pointing at the object follow it (a stale
    slot of a category changed on this bar is rebuilt by its refresh anyway)."""
    for f in range(TABLE_FIELDS):  # field by field: a row copy would allocate a temporary
        table[dst, f] = table[src, f]
    for b in range(0, 16, 4):
        if scal[AGG + b + A_SLOT] == src:
            scal[AGG + b + A_SLOT] = dst
        if scal[CACHE + b + 1] == src:
            scal[CACHE + b + 1] = dst


@njit(cache=True, **NO_NRT)
def take_out(table: np.ndarray, scal: np.ndarray, s: int, k: int) -> None:
    """Drop slot ``s`` of group ``k``: the group's last object fills the hole, then each later
    group moves its last object into the slot freed before it. Only slots above ``s`` move."""
    hole = s
    last = seg_end(scal, k) - 1
    if last != hole:
        _move(table, last, hole, scal)
    hole = last
    for j in range(k + 1, 4):  # invariant: hole == first slot of group j - 1
        start, end = int(scal[SEG + j]), seg_end(scal, j)
        if end > start:
            _move(table, end - 1, hole, scal)
            hole = end - 1
        scal[SEG + j] = start - 1
    for f in range(TABLE_FIELDS):
        table[hole, f] = 0.0
    scal[COUNT] -= 1.0


@njit(cache=True, **NO_NRT)
def put_in(table: np.ndarray, scal: np.ndarray, k: int) -> int:
    """Open a free slot at the end of group ``k`` (each later group moves its first object
    to its end); returns it. Only slots above the returned one move."""
    hole = int(scal[COUNT])
    for j in range(3, k, -1):  # invariant: hole == one past the last slot of group j
        start = int(scal[SEG + j])
        if hole > start:
            _move(table, start, hole, scal)
            hole = start
        scal[SEG + j] = start + 1
    scal[COUNT] += 1.0
    return hole


@njit(cache=True, **NO_NRT)
def _swap(table: np.ndarray, a: int, b: int, scal: np.ndarray) -> None:
    """Exchange slots ``a`` and ``b``; cached slots follow their objects."""
    if a == b:
        return
    for f in range(TABLE_FIELDS):
        t = table[a, f]
        table[a, f] = table[b, f]
        table[b, f] = t
    for k in range(0, 16, 4):
        for f in (AGG + k + A_SLOT, CACHE + k + 1):
            if scal[f] == a:
                scal[f] = b
            elif scal[f] == b:
                scal[f] = a


@njit(cache=True, **NO_NRT)
def to_breaker(table: np.ndarray, scal: np.ndarray, s: int, i: int) -> None:
    """The invalidated OB in slot ``s`` becomes a breaker of the other direction (known at
    ``i``): it walks up to that group, swapped with each group's last slot which then becomes
    the next group's first. Works on a full table; only slots above ``s`` move."""
    k = category(table, s)
    p = s
    for j in range(k, 3 - k):  # bull OB (0) -> bear breaker (3), bear OB (1) -> bull breaker (2)
        last = seg_end(scal, j) - 1
        _swap(table, p, last, scal)
        scal[SEG + j + 1] = last
        p = last
    table[p, KIND] = BREAKER
    table[p, DIR] = -table[p, DIR]
    table[p, BRK_KNOWN] = i


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
        k = category(table, oldest)
        dirty |= 1 << k
        take_out(table, scal, oldest, k)
    s = put_in(table, scal, 0 if d > 0 else 1)
    table[s, KIND] = OB
    table[s, DIR] = d
    table[s, TOP] = top
    table[s, BOT] = bot
    table[s, REF] = ref
    table[s, KNOWN] = i
    table[s, BRK_KNOWN] = NONE
    table[s, TOUCHED] = 0.0
    table[s, RETESTED] = 0.0
    table[s, SEQ] = scal[NEXT_SEQ]
    scal[NEXT_SEQ] += 1.0
    _fold_new(table, s, scal, c)
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
def refresh(table: np.ndarray, c: float, scal: np.ndarray, dirty: int) -> None:
    """Recompute the aggregates and nearest-inside cache of the categories in the bit set
    ``dirty`` (those whose objects changed); the others stay valid as they are."""
    for cat in range(4):
        if dirty & (1 << cat):
            refresh_category(table, c, scal, cat)


@njit(cache=True, **NO_NRT)
def refresh_category(table: np.ndarray, c: float, scal: np.ndarray, cat: int) -> None:
    """Recompute one category's triggers and its nearest-inside cache at the close ``c``.

    The triggers let a bar skip the table when no object can change (``triggered``) and give
    the nearest object in O(1) while price is outside every zone of the category. Every
    aggregate is a function of the category's objects only (ties by ``SEQ``, not by slot), so
    categories can be refreshed one at a time. Bearish objects are folded mirrored (``x = -bot``,
    ``y = -top``, close ``-c``) so both directions share the bullish max/``>=`` code.
    """
    bull = cat % 2 == 0
    fresh_field = RETESTED if cat >= 2 else TOUCHED
    sg = 1.0 if bull else -1.0
    cc = sg * c
    touch = inval = near = lo = -np.inf
    hi = np.inf
    nslot = cslot = -1
    nseq = cseq = -1.0
    for s in range(int(scal[SEG + cat]), seg_end(scal, cat)):
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
def triggered(h: float, lo: float, up_px: float, dn_px: float, scal: np.ndarray) -> int:
    """Categories in which an object can touch/retest or be invalidated on this bar (bit set;
    0 ⇒ skip the table)."""
    mask = 0
    for cat in range(4):
        b = AGG + 4 * cat
        if cat % 2 == 0:
            hit = lo <= scal[b + A_TOUCH] or dn_px < scal[b + A_INVAL]
        else:
            hit = h >= scal[b + A_TOUCH] or up_px > scal[b + A_INVAL]
        if hit:
            mask |= 1 << cat
    return mask
