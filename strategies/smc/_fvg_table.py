"""The FVG zone tables and the cached per-table state: layout, push/evict, and the nearest
unfilled zone with its runner-up (``fvg`` owns the concept, its lifecycle rules and its columns).

Why a module of its own: the tables are a small data structure with invariants of their own
(zones in creation order, which breaks ties: newest wins, oldest is evicted; ``snap`` follows
every change in O(1) except when the nearest zone goes with no runner-up known), and the
concept's lifecycle rules read better without it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from strategies.smc._common import NO_NRT, NONE

# zone tables: tabs[t] with t = bullish FVG, bearish FVG, bullish IFVG, bearish IFVG
T_BULL, T_BEAR, T_IBULL, T_IBEAR = 0, 1, 2, 3
Z_TOP, Z_BOT, Z_REF, Z_BORN, Z_TOUCH, Z_CE, Z_FILL, Z_THR = range(8)
Z_FIELDS = 8
# meta: table sizes [0:4], per table the extreme trigger price [4:8] (highest for bullish, lowest
# for bearish: a bar reaching neither cannot change the table, so most bars skip it in O(1)),
# born row of the zone whose ref each event column holds on this bar [8:12]
M_THR, M_BEST = 4, 8
# cached state per table: nearest top, bottom, ref, unfilled count, then the runner-up (the nearest
# once the nearest is gone: top, bottom, ref (NONE: no other unfilled zone) and 1.0 if known)
SNAP = 8
S_NEXT, S_NEXT_KNOWN = 4, 7


def init_state(cap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zone tables ``(4, cap, Z_FIELDS)``, ``meta``, cached state ``(4, SNAP)``."""
    meta = np.zeros(12)
    meta[M_THR : M_THR + 4] = [-np.inf, np.inf, -np.inf, np.inf]
    snap = np.full((4, SNAP), np.nan)
    snap[:, 2] = NONE
    snap[:, 3] = 0.0
    snap[:, S_NEXT + 2] = NONE
    snap[:, S_NEXT_KNOWN] = 1.0
    return np.zeros((4, cap, Z_FIELDS)), meta, snap


@njit(cache=True, **NO_NRT)
def push(
    tabs: np.ndarray,
    meta: np.ndarray,
    snap: np.ndarray,
    t: int,
    top: float,
    bot: float,
    ref: float,
    born: float,
) -> bool:
    """Append a zone to table ``t``, evicting the oldest when full; True if the evicted zone was
    the nearest (``snap[t]`` is then stale: the caller recomputes it).

    The table's trigger price may stay too wide after an eviction: that only costs a pass.
    ``snap[t]`` is updated in O(1) as :func:`state` would extend its scan by the new (last,
    unfilled) zone; an evicted unfilled zone only lowers the count unless it was the nearest
    (refs are unique within a table; a false match would only cost a recompute).
    """
    n = int(meta[t])
    stale = False
    if n == tabs.shape[1]:
        if tabs[t, 0, Z_FILL] == 0.0:
            snap[t, 3] -= 1.0
            stale = gone(snap, t, tabs[t, 0, Z_REF])
        for k in range(1, n):
            for f in range(Z_FIELDS):
                tabs[t, k - 1, f] = tabs[t, k, f]
        n -= 1
    tabs[t, n, Z_TOP] = top
    tabs[t, n, Z_BOT] = bot
    tabs[t, n, Z_REF] = ref
    tabs[t, n, Z_BORN] = born
    tabs[t, n, Z_TOUCH] = 0.0
    tabs[t, n, Z_CE] = 0.0
    tabs[t, n, Z_FILL] = 0.0
    bull = t % 2 == 0
    if bull:
        tabs[t, n, Z_THR] = top
        meta[M_THR + t] = max(meta[M_THR + t], top)
    else:
        tabs[t, n, Z_THR] = bot
        meta[M_THR + t] = min(meta[M_THR + t], bot)
    meta[t] = n + 1
    if snap[t, 3] == 0.0 or (top >= snap[t, 0] if bull else bot <= snap[t, 1]):
        some = snap[t, 3] != 0.0  # the new zone's runner-up: the old nearest, if any
        snap[t, S_NEXT] = snap[t, 0] if some else np.nan
        snap[t, S_NEXT + 1] = snap[t, 1] if some else np.nan
        snap[t, S_NEXT + 2] = snap[t, 2] if some else NONE
        snap[t, S_NEXT_KNOWN] = 1.0
        snap[t, 0] = top
        snap[t, 1] = bot
        snap[t, 2] = ref
    elif snap[t, S_NEXT_KNOWN] != 0.0 and (
        snap[t, S_NEXT + 2] == NONE
        or (top >= snap[t, S_NEXT] if bull else bot <= snap[t, S_NEXT + 1])
    ):
        snap[t, S_NEXT] = top
        snap[t, S_NEXT + 1] = bot
        snap[t, S_NEXT + 2] = ref
    snap[t, 3] += 1.0
    return stale


@njit(cache=True, inline="always")
def gone(snap: np.ndarray, t: int, ref: float) -> bool:
    """An unfilled zone of table ``t`` filled or left: the runner-up replaces it if it was the
    nearest; True if ``snap[t]`` is then unknown (the caller recomputes it with :func:`state`).

    Why: the nearest zone is usually the first one price fills, and the recompute is an O(n)
    pass; knowing the runner-up makes most of them O(1).
    """
    if ref == snap[t, 2]:
        if snap[t, S_NEXT_KNOWN] == 0.0:
            return True
        snap[t, 0] = snap[t, S_NEXT]
        snap[t, 1] = snap[t, S_NEXT + 1]
        snap[t, 2] = snap[t, S_NEXT + 2]
        snap[t, S_NEXT_KNOWN] = 0.0
    elif ref == snap[t, S_NEXT + 2]:
        snap[t, S_NEXT_KNOWN] = 0.0
    return False


@njit(cache=True, inline="always")
def state(tabs: np.ndarray, t: int, n: int, bull: bool, snap: np.ndarray) -> None:
    """Nearest unfilled zone (bullish: highest top, bearish: lowest bottom; ties: newest), the
    runner-up (the nearest of the others, same rule) and the unfilled count. Depends on the table
    only, so it is recomputed only after a change that cannot be followed in O(1): the nearest
    zone filled, dropped or evicted with the runner-up unknown."""
    # branch-free (the fill flags and comparisons are unpredictable): same picks as "first
    # unfilled zone, then any unfilled zone at least as near"; a zone that takes the lead hands
    # the old nearest to the runner-up, another one at least as near as the runner-up replaces it
    best = nxt = -1
    b_top = b_bot = n_top = n_bot = np.nan
    cnt = 0.0
    for k in range(n):
        top = tabs[t, k, Z_TOP]
        bot = tabs[t, k, Z_BOT]
        unfilled = tabs[t, k, Z_FILL] == 0.0
        lead = unfilled & ((best < 0) | ((top >= b_top) if bull else (bot <= b_bot)))
        second = unfilled & ~lead & ((nxt < 0) | ((top >= n_top) if bull else (bot <= n_bot)))
        cnt += 1.0 if unfilled else 0.0
        nxt = best if lead else (k if second else nxt)
        n_top = b_top if lead else (top if second else n_top)
        n_bot = b_bot if lead else (bot if second else n_bot)
        best = k if lead else best
        b_top = top if lead else b_top
        b_bot = bot if lead else b_bot
    snap[t, 0] = b_top
    snap[t, 1] = b_bot
    snap[t, 2] = tabs[t, best, Z_REF] if best >= 0 else NONE
    snap[t, 3] = cnt
    snap[t, S_NEXT] = n_top
    snap[t, S_NEXT + 1] = n_bot
    snap[t, S_NEXT + 2] = tabs[t, nxt, Z_REF] if nxt >= 0 else NONE
    snap[t, S_NEXT_KNOWN] = 1.0
