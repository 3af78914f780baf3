"""``detect()``'s engine: the stream's fused graph run over cache-sized chunks of bars, each
chunk's rows converted straight into the frame's typed blocks.

Why: per-node batch outputs are ``(n, k)`` float64 arrays — 2.4 GB of fresh pages at 1M bars ×
299 columns, written once and copied once more into the frame. Here every node writes its rows
into a small arena of ``CHUNK`` rows (the stream's ``_fused_layout.Layout``, whose blocks are
indexed by absolute bar through ``st[BASE]``); after each chunk ``_frame.emit_column`` converts
the rows into the frame's blocks while they are still in cache, and the arena is reused. Only
the frame's own bytes are ever allocated at full length. Each chunk goes through
``fused._graph_rows`` — the code ``SMCStream`` runs for each bar — so batch and stream are one
graph of the same concept steps.

The arena is column-major (``Layout(column_major=True)``): the conversion then reads each
column as one contiguous run (a vectorised loop) instead of one strided load per value; the
steps write a row as one value in each of the node's columns, which cost the same. Measured at
100k bars, one thread, pages already faulted: graph 69 -> 51 ms (node by node over the chunk
instead of row by row), conversion 45 -> 18 ms.

A node reads only row ``i`` of its inputs (see ``Layout.oldest_needed``), so dropping the
previous chunk's rows is safe; bars and local times are whole arrays (absolute index).
Two workers (``threads >= 2``) split the graph by ``GROUPS``; each computes the nodes it writes
plus their dependencies (a little work twice: ``int_swings``), on its
own arena and state, in a ``nogil`` call.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numba import njit

from strategies.smc import _fused_layout, fused, periods, sessions
from strategies.smc._common import TIME
from strategies.smc._frame import FrameLayout, emit_column
from strategies.smc._fused_layout import BASE, CAP, MASK, NODE_NAMES, Layout

# rows per chunk: the arena (~312 float64 columns) stays in L2. Not a multiple of 64: in the
# column-major arena the columns are CHUNK * 8 bytes apart, and at 512 (4 KiB apart) a step
# writing one row hits one L1 set with ~40 lines (the graph ran 2.5x slower); 520 = 65 lines
CHUNK = 520
# the two workers' nodes, balanced by measured CPU (100k bars, one thread, pages reused: node +
# conversion of its columns, ms). The split follows the dependencies so little is computed
# twice: the structure chain (swings 2.8, int_swings 2.5, structure_swing 2.6,
# structure_internal 3.8, ob_swing 7.3, ob_internal 14.3, retracements 1.7, zones 1.3) needs no
# ATR; the rest (atr 0.7, fvg 17.0, sessions 3.2 + local times ~0.8, periods 2.6, liquidity 11.8)
# recomputes only int_swings for liquidity. The previous split (swing side / internal side)
# recomputed swings, structure_swing and atr (~4.3 ms) on the longer worker: 46.8 -> 44.0 ms.
# The first group runs on the calling thread (it also converts the local times), the second on
# the helper thread, which thus starts its nogil call sooner.
GROUPS = (
    frozenset({"atr", "fvg", "sessions", "periods", "liquidity"}),
    frozenset({"swings", "int_swings", "structure_swing", "structure_internal", "ob_swing",
               "ob_internal", "retracements", "zones"}),
)  # fmt: skip


def _build_runner(digest: int) -> Any:
    """``run_chunks`` with the concept sources' digest as a closure constant (``fused``'s reason:
    numba caches this function's machine code, which inlines every concept step)."""

    @njit(cache=True, nogil=True)
    def run_chunks(
        bars: np.ndarray,
        loc_s: np.ndarray,
        loc_p: np.ndarray,
        outs: np.ndarray,
        st: np.ndarray,
        plan: np.ndarray,
        starts: np.ndarray,
        f64: np.ndarray,
        b1: np.ndarray,
        i8: np.ndarray,
        i16: np.ndarray,
        i32: np.ndarray,
        i64: np.ndarray,
    ) -> tuple[int, int]:
        """Every row of the masked nodes, a chunk of ``st[CAP]`` rows at a time, on a
        column-major arena; node ``k``'s columns go out by ``plan[starts[k]:starts[k + 1]]``
        (``_frame.emit`` rows). Returns ``(-1, -1)`` or (node, its plan row) of the first
        column holding a value its dtype could not hold."""
        n = bars.shape[0]
        cap = int(st[CAP])
        for i0 in range(0, n, cap):
            i1 = min(i0 + cap, n)
            st[BASE] = float(i0)
            fused._graph_rows(i0, i1, bars, loc_s, loc_p, outs, st, cap)
            for k in range(starts.shape[0] - 1):
                for r in range(starts[k], starts[k + 1]):
                    j, code, row = plan[r, 0], plan[r, 1], plan[r, 2]
                    src = fused._column(outs, st, cap, k, j)[: i1 - i0]
                    if emit_column(src, code, row, i0, f64, b1, i8, i16, i32, i64):
                        return k, r - starts[k]
        return -1, -1 if digest >= 0 else -2

    return run_chunks


run_chunks = _build_runner(fused.SOURCES_DIGEST)


def _closure(names: set[str], deps: dict[str, tuple[str, ...]]) -> set[str]:
    need = set(names)
    for name in reversed(NODE_NAMES):
        if name in need:
            need.update(deps[name])
    return need


def worker_sets(
    names: Sequence[str], deps: dict[str, tuple[str, ...]], threads: int
) -> list[tuple[set[str], set[str]]]:
    """``(nodes written, nodes computed)`` per worker for the frame's nodes ``names``."""
    groups = [set(names)] if threads < 2 else [set(names) & g for g in GROUPS]
    groups = [g for g in groups if g] or [set()]
    return [(g, _closure(g, deps)) for g in groups]


def local_times(bars: np.ndarray, p: Any, computes: set[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-bar local wall-clock ms for the sessions' zones and the periods' zone (what the
    stream's clock tables give bar by bar), each only when its node is in ``computes`` (the
    graph reads ``loc_s`` only in ``sessions.step`` and ``loc_p`` only in ``periods.step``;
    otherwise an empty array of the same type stands in)."""
    zones, _ = sessions._spec(_fused_layout._sub(sessions.Params, p))
    loc_s = np.empty((0, len(zones)))
    loc_p = np.empty(0)
    if "sessions" in computes:
        loc_s = np.ascontiguousarray(sessions.local_times(bars, zones))
    if "periods" in computes:
        zone = p.periods_zone
        loc_p = (
            np.ascontiguousarray(bars[:, TIME]) if zone == "UTC" else periods.local_ms(bars, zone)
        )
    return loc_s, loc_p


def fill(
    bars: np.ndarray,
    p: Any,
    layout: FrameLayout,
    blocks: list[np.ndarray],
    deps: dict[str, tuple[str, ...]],
    threads: int,
) -> None:
    """Write every column of ``layout`` for all bars into ``blocks``.

    Each worker converts the bar times it needs to local time itself (sessions / periods), so
    that step (pandas, holding the GIL) runs beside the other worker. The calling thread is the
    first worker; the second is a kept helper thread (:func:`_helper`), handed a job whose
    arena and plan are ready so it enters its ``nogil`` call at once: a thread pool started
    per call, and arenas built in the workers while the first held the GIL for its local
    times, delayed the second worker by ~1.5-3.7 ms of a ~46 ms call at 100k bars.
    """
    jobs: list[Callable[[], None]] = []
    for writes, computes in worker_sets(list(layout.plans), deps, threads):
        arena = Layout(p, capacity=CHUNK, column_major=True)
        for k, name in enumerate(NODE_NAMES):
            arena.st[MASK + k] = float(name in computes)
        plan, starts = layout.plan_of(frozenset(writes), NODE_NAMES)

        def job(
            arena: Layout = arena,
            plan: np.ndarray = plan,
            starts: np.ndarray = starts,
            computes: set[str] = computes,
        ) -> None:
            loc_s, loc_p = local_times(bars, p, computes)
            k, bad = run_chunks(bars, loc_s, loc_p, arena.outs, arena.st, plan, starts, *blocks)
            layout.check(NODE_NAMES[k], bad) if k >= 0 else None

        jobs.append(job)
    if len(jobs) == 1:
        jobs[0]()
        return
    others = [_helper().submit(j) for j in jobs[1:]]
    try:
        jobs[0]()
    finally:
        futures.wait(others)  # no worker outlives the call, even when this one failed
    for fut in others:
        fut.result()


_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _helper() -> ThreadPoolExecutor:
    """The kept helper thread of :func:`fill` (one: the second worker). Made again in a forked
    child, where the parent's thread does not exist (its queue would never be served).
    Concurrent ``detect()`` calls share it: the second call's helper job waits its turn."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="smc-detect"))
        return _pool[1]
