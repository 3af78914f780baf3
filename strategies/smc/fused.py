"""One njit call per streamed bar for the whole SMC concept graph (``SMCStream``'s engine).

Why: a Python loop over the graph pays one numba dispatch per node (each unboxing every array
argument, ~0.2 µs per array) plus a zoneinfo lookup per bar. Here the bar goes through
:func:`fused_step`, which calls each concept module's own ``step`` in the order of
``detect._nodes()`` — the very functions the batch ``run`` loops, so batch and stream keep
running the same code. Only two arrays cross the Python→numba boundary:

* ``st`` — the *state arena*: a header (capacity, parameters, offsets and shapes of the pieces)
  followed by every concept's state arrays (as built by the modules' ``init_state``) and the
  local-time tables of ``_fused_clock``. Its size never changes.
* ``outs`` — the *row arena*: the bar array, every node's output and the per-bar local times,
  each a C-contiguous ``(cap, ncols)`` block stored one after another, so a block is a plain
  reshape of a slice. The step NaN-fills row ``i`` of every node block first (what batch's
  ``empty_out`` buffers hold), so the arena itself is allocated with ``np.empty``. :func:`grow` doubles ``cap`` (amortised O(1) appends; all blocks grow
  together) — the step then sees the same arrays, just longer.

Inside the step the pieces are borrowed views (``_fused_views.view``: no reference counting)
rebuilt on every call; the concept
``step`` functions receive C-contiguous float64 arrays of the same types as in batch, so they
reuse the batch compilations.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from numba import njit, types
from pydantic import BaseModel

from strategies.smc import (
    _common,
    _fused_views,
    atr,
    fvg,
    liquidity,
    order_blocks,
    periods,
    retracements,
    sessions,
    structure,
    swings,
    zones,
)
from strategies.smc import _fused_clock as clock
from strategies.smc._common import BAR_FIELDS, CLOSE, HIGH, LOW, OPEN, TIME, VOLUME
from strategies.smc._fused_views import view

# graph order of ``detect._nodes()``; SMCStream checks it so a new node cannot be forgotten here
NODE_NAMES = (
    "swings", "int_swings", "atr", "structure_swing", "structure_internal", "ob_swing",
    "ob_internal", "fvg", "periods", "sessions", "liquidity", "retracements", "zones",
)  # fmt: skip
NODE_NCOLS = (
    len(swings.COLUMNS), len(swings.COLUMNS), len(atr.COLUMNS), len(structure.COLUMNS),
    len(structure.COLUMNS), len(order_blocks.COLUMNS), len(order_blocks.COLUMNS),
    len(fvg.COLUMNS), len(periods.COLUMNS), len(sessions.COLUMNS), len(liquidity.COLUMNS),
    len(retracements.COLUMNS), len(zones.COLUMNS),
)  # fmt: skip

# status codes of fused_step
OK, ERR_ORDER, ERR_PRICE, ERR_TIME, ERR_CAPACITY, NEED_CLOCK = 0, 1, 2, 3, 4, 5

# --- state arena header -------------------------------------------------------------------
CAP, NZ_SESSIONS, NZ_CLOCK, WIDTH = 0, 1, 2, 3
# parameters (ints and bools stored as exact floats)
(
    P_SWING_LEN, P_INTERNAL_LEN, P_WICK_BREAK, P_FILTER_INTERNAL, P_ATR_PERIOD,
    P_OB_USE_BODY, P_OB_CLOSE_INVAL, P_OB_ATR_PERIOD, P_OB_ATR_MULT,
    P_FVG_MIDDLE_DIR, P_FVG_MIN_ATR, P_FVG_MERGE, P_LIQ_TOL_ATR, P_LIQ_RECLAIM,
    P_RET_USE_CLOSE, P_ZONE_EPS, P_ZONE_SHALLOW, P_ZONE_MID, P_ZONE_DEEP,
) = range(8, 27)  # fmt: skip
# state pieces: (offset, d0, d1, d2) each, from PIECES
(
    S_SW, S_ISW, S_ATR, S_STS, S_STI, S_OBS_SCAL, S_OBS_TAB, S_OBI_SCAL, S_OBI_TAB,
    S_FVG_TABS, S_FVG_META, S_FVG_SNAP, S_PER, S_SES_SPEC, S_SES, S_LIQ_POOLS, S_LIQ_CANDS,
    S_LIQ_SIZES, S_LIQ_LEVELS, S_RET, S_CLK_HOUR0, S_CLK_TAB, S_CLK_OVR, S_CLK_OVR_T,
) = range(24)  # fmt: skip
N_STATE = 24
PIECES = 32
# row blocks: (first column, ncols) each, from BLOCKS; block = outs[cap*c0 : cap*(c0+nc)]
B_BARS = 0
N_NODES = len(NODE_NAMES)
B_NODE0 = 1  # node k (NODE_NAMES order) is block B_NODE0 + k
B_LOCAL_S, B_LOCAL_P = B_NODE0 + len(NODE_NAMES), B_NODE0 + len(NODE_NAMES) + 1
N_BLOCKS = B_LOCAL_P + 1
BLOCKS = PIECES + 4 * N_STATE
HEADER = BLOCKS + 2 * N_BLOCKS


def _sub(cls: type[BaseModel], p: Any) -> Any:
    """A concept's own params model from the flat SMCParams (same as ``detect._module_params``)."""
    return cls(**{k: getattr(p, k) for k in cls.model_fields})


class Layout:
    """Build the two arenas for parameters ``p`` and keep the Python-side views of them.

    ``views[name]`` is node ``name``'s output block, ``bars`` the bar block (both ``(cap, k)``
    views of ``outs``, rebuilt by :meth:`grow`).
    """

    def __init__(self, p: Any, capacity: int = 1024) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 (got {capacity})")
        ses_zones, spec = sessions._spec(_sub(sessions.Params, p))
        self.clock_zones: tuple[str, ...] = (*ses_zones, p.periods_zone)
        ob_p = _sub(order_blocks.OrderBlockParams, p)
        obs_scal, obs_tab = order_blocks.init_state(ob_p)
        obi_scal, obi_tab = order_blocks.init_state(ob_p)
        fvg_p = _sub(fvg.Params, p)
        pieces = [
            swings.init_state(),
            swings.init_state(),
            atr.init_state(_sub(atr.Params, p)),
            structure.init_state(),
            structure.init_state(),
            obs_scal, obs_tab, obi_scal, obi_tab,
            *fvg.init_state(fvg_p),
            periods.init_state(_sub(periods.Params, p)),
            spec,
            sessions.init_state(_sub(sessions.Params, p)),
            *liquidity.init_state(_sub(liquidity.Params, p)),
            retracements.init_state(),
            *clock.init_pieces(len(self.clock_zones)),
        ]  # fmt: skip
        assert len(pieces) == N_STATE
        size = HEADER + sum(a.size for a in pieces)
        st = np.zeros(size, dtype=np.float64)
        st[NZ_SESSIONS] = len(ses_zones)
        st[NZ_CLOCK] = len(self.clock_zones)
        params = {
            P_SWING_LEN: p.swing_length, P_INTERNAL_LEN: p.internal_length,
            P_WICK_BREAK: p.structure_wick_break, P_FILTER_INTERNAL: p.structure_filter_internal,
            P_ATR_PERIOD: p.atr_period, P_OB_USE_BODY: p.ob_use_body,
            P_OB_CLOSE_INVAL: p.ob_close_invalidation, P_OB_ATR_PERIOD: p.ob_atr_period,
            P_OB_ATR_MULT: p.ob_atr_mult, P_FVG_MIDDLE_DIR: p.fvg_middle_dir,
            P_FVG_MIN_ATR: p.fvg_min_atr, P_FVG_MERGE: p.fvg_merge,
            P_LIQ_TOL_ATR: p.liq_tol_atr, P_LIQ_RECLAIM: p.liq_reclaim_bars,
            P_RET_USE_CLOSE: p.retracement_use_close, P_ZONE_EPS: p.zone_equilibrium_band,
            P_ZONE_SHALLOW: p.zone_ote_shallow, P_ZONE_MID: p.zone_ote_mid,
            P_ZONE_DEEP: p.zone_ote_deep,
        }  # fmt: skip
        for pos, val in params.items():
            st[pos] = float(val)
        off = HEADER
        for k, arr in enumerate(pieces):
            if arr.ndim > 3:
                raise RuntimeError("state pieces have at most 3 dimensions")
            shape = (*arr.shape, 1, 1, 1)[:3]
            st[PIECES + 4 * k : PIECES + 4 * k + 4] = (off, *shape)
            st[off : off + arr.size] = arr.ravel()
            off += arr.size
        self.ncols = (BAR_FIELDS, *NODE_NCOLS, len(ses_zones), 1)
        c0 = 0
        for b, nc in enumerate(self.ncols):
            st[BLOCKS + 2 * b : BLOCKS + 2 * b + 2] = (c0, nc)
            c0 += nc
        self.width = c0
        st[WIDTH] = c0
        self.st = st
        self.outs = np.empty(capacity * self.width)  # fused_step NaN-fills each new row
        self.cap = capacity
        st[CAP] = capacity
        self._make_views()

    def _make_views(self) -> None:
        starts = np.cumsum((0, *self.ncols))
        self.blocks = [
            self.outs[self.cap * a : self.cap * b].reshape(self.cap, b - a)
            for a, b in zip(starts[:-1], starts[1:], strict=True)
        ]
        self.bars = self.blocks[B_BARS]
        self.views = {name: self.blocks[B_NODE0 + k] for k, name in enumerate(NODE_NAMES)}

    def grow(self, n: int) -> None:
        """Double the row capacity (keeping the first ``n`` rows of every block).

        ``np.empty``: rows past ``n`` are written (NaN-filled first) by ``fused_step``, so every
        byte of the arena is written once — no fill pass, and the pages of the new half are
        faulted in as rows arrive rather than all at once.
        """
        old = self.blocks
        self.cap *= 2
        self.outs = np.empty(self.cap * self.width)
        self._make_views()
        for new, prev in zip(self.blocks, old, strict=True):
            new[:n] = prev[:n]
        self.st[CAP] = self.cap

    def clock_pieces(self) -> list[np.ndarray]:
        """Python-side views of the clock tables (``hour0, table, ovr, ovr_t``)."""
        res = []
        for k in (S_CLK_HOUR0, S_CLK_TAB, S_CLK_OVR, S_CLK_OVR_T):
            off, d0, d1, _ = (int(x) for x in self.st[PIECES + 4 * k : PIECES + 4 * k + 4])
            res.append(self.st[off : off + d0 * d1].reshape(d0, d1) if d1 > 1 else
                       self.st[off : off + d0])  # fmt: skip
        return res

    def refresh_clock(self, t: float) -> None:
        """Python side of a NEED_CLOCK answer (rare: a new block of hours or a split hour)."""
        hour0, table, ovr, ovr_t = self.clock_pieces()
        clock.refresh(t, self.clock_zones, hour0, table, ovr, ovr_t)


# --- njit side -------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _s1(st: np.ndarray, k: int) -> np.ndarray:
    b = PIECES + 4 * k
    off = int(st[b])
    return view(st, off, (int(st[b + 1]),))


@njit(cache=True, inline="always")
def _s2(st: np.ndarray, k: int) -> np.ndarray:
    b = PIECES + 4 * k
    off, d0, d1 = int(st[b]), int(st[b + 1]), int(st[b + 2])
    return view(st, off, (d0, d1))


@njit(cache=True, inline="always")
def _s3(st: np.ndarray, k: int) -> np.ndarray:
    b = PIECES + 4 * k
    off, d0, d1, d2 = int(st[b]), int(st[b + 1]), int(st[b + 2]), int(st[b + 3])
    return view(st, off, (d0, d1, d2))


@njit(cache=True, inline="always")
def _block(outs: np.ndarray, st: np.ndarray, cap: int, k: int) -> np.ndarray:
    c0, nc = int(st[BLOCKS + 2 * k]), int(st[BLOCKS + 2 * k + 1])
    return view(outs, cap * c0, (cap, nc))


@njit(cache=True, inline="always")
def _node(outs: np.ndarray, st: np.ndarray, cap: int, k: int) -> np.ndarray:
    return _block(outs, st, cap, B_NODE0 + k)


def _sources_digest() -> int:
    """Hash of the source files whose njit code ``fused_step`` links in.

    Why: numba's on-disk cache of a function is invalidated only by changes to *its own* file,
    yet the cached machine code of ``fused_step`` contains every concept ``step`` it calls. The
    digest is a closure constant of ``fused_step``, and numba keys cache entries on closure
    values, so editing any concept module recompiles the stream instead of loading stale code.
    """
    h = hashlib.sha256()
    for mod in DEPENDENCIES:
        h.update(Path(str(mod.__file__)).read_bytes())
    return int(h.hexdigest()[:15], 16)


DEPENDENCIES: tuple[ModuleType, ...] = (
    _common, clock, _fused_views, atr, fvg, liquidity, order_blocks, periods, retracements,
    sessions,
    structure, swings, zones,
)  # fmt: skip
SOURCES_DIGEST = _sources_digest()


def _build_step(digest: int) -> Any:
    """``fused_step`` with ``digest`` baked in as a closure constant (see ``_sources_digest``)."""

    @njit(cache=True)
    def fused_step(
        i: int,
        t: float,
        o: float,
        h: float,
        lo: float,
        c: float,
        v: float,
        outs: np.ndarray,
        st: np.ndarray,
    ) -> int:
        """Append bar ``i`` and write row ``i`` of every node; returns a status code (0 = OK).

        Nothing is written unless the bar is valid and its local times are known (NEED_CLOCK:
        call ``Layout.refresh_clock(t)`` and retry), so a rejected bar leaves the state intact.
        """
        cap = int(st[CAP])
        if i < 0 or i >= cap or outs.shape[0] != cap * int(st[WIDTH]) or digest < 0:
            return ERR_CAPACITY
        bars = _block(outs, st, cap, B_BARS)
        if i > 0 and t <= bars[i - 1, TIME]:
            return ERR_ORDER
        if not (np.isfinite(o) and np.isfinite(h) and np.isfinite(lo) and np.isfinite(c)):
            return ERR_PRICE
        if not np.isfinite(t):
            return ERR_TIME
        # local wall-clock times (sessions' zones, then the periods zone)
        loc_s = _block(outs, st, cap, B_LOCAL_S)
        c0 = int(st[BLOCKS + 2 * B_LOCAL_P])
        loc_p = view(outs, cap * c0, (cap,))  # 1-D, as periods.step reads it
        nzs = int(st[NZ_SESSIONS])
        hour0, table = _s1(st, S_CLK_HOUR0), _s2(st, S_CLK_TAB)
        ovr, ovr_t = _s1(st, S_CLK_OVR), _s1(st, S_CLK_OVR_T)
        for z in range(int(st[NZ_CLOCK])):
            lt = clock.local_time(t, z, hour0, table, ovr, ovr_t)
            if np.isnan(lt):
                return NEED_CLOCK
            if z < nzs:
                loc_s[i, z] = lt
            else:
                loc_p[i] = lt
        for b in range(B_NODE0, B_NODE0 + N_NODES):  # as batch's NaN-filled buffers
            c0, nc = int(st[BLOCKS + 2 * b]), int(st[BLOCKS + 2 * b + 1])
            for j in range(cap * c0 + i * nc, cap * c0 + (i + 1) * nc):
                outs[j] = np.nan
        bars[i, OPEN] = o
        bars[i, HIGH] = h
        bars[i, LOW] = lo
        bars[i, CLOSE] = c
        bars[i, VOLUME] = v
        bars[i, TIME] = t
        # the graph, in NODE_NAMES order
        sw_out = _node(outs, st, cap, 0)
        n = int(st[P_SWING_LEN])
        swings.step(i, bars, n, n, _s1(st, S_SW), sw_out)
        isw_out = _node(outs, st, cap, 1)
        n = int(st[P_INTERNAL_LEN])
        swings.step(i, bars, n, n, _s1(st, S_ISW), isw_out)
        atr_out = _node(outs, st, cap, 2)
        atr.step(i, bars, int(st[P_ATR_PERIOD]), _s1(st, S_ATR), atr_out)
        wick = st[P_WICK_BREAK] != 0.0
        sts_out = _node(outs, st, cap, 3)
        structure.step(i, bars, sw_out, wick, _s1(st, S_STS), sts_out)
        sti_out = _node(outs, st, cap, 4)
        structure.step(i, bars, isw_out, wick, _s1(st, S_STI), sti_out)
        if st[P_FILTER_INTERNAL] != 0.0:
            structure.filter_internal_step(i, sti_out, sts_out)
        use_body = st[P_OB_USE_BODY] != 0.0
        close_inval = st[P_OB_CLOSE_INVAL] != 0.0
        ob_period = int(st[P_OB_ATR_PERIOD])
        ob_mult = st[P_OB_ATR_MULT]
        order_blocks.step(
            i, bars, sts_out, use_body, close_inval, ob_period, ob_mult,
            _s1(st, S_OBS_SCAL), _s2(st, S_OBS_TAB), _node(outs, st, cap, 5),
        )  # fmt: skip
        order_blocks.step(
            i, bars, sti_out, use_body, close_inval, ob_period, ob_mult,
            _s1(st, S_OBI_SCAL), _s2(st, S_OBI_TAB), _node(outs, st, cap, 6),
        )  # fmt: skip
        fvg.step(
            i, bars, atr_out, st[P_FVG_MIDDLE_DIR] != 0.0, st[P_FVG_MIN_ATR], st[P_FVG_MERGE] != 0.0,
            _s3(st, S_FVG_TABS), _s1(st, S_FVG_META), _s2(st, S_FVG_SNAP), _node(outs, st, cap, 7),
        )  # fmt: skip
        per_out = _node(outs, st, cap, 8)
        periods.step(i, bars, loc_p, _s2(st, S_PER), per_out)
        sessions.step(i, bars, loc_s, _s2(st, S_SES_SPEC), _s2(st, S_SES), _node(outs, st, cap, 9))
        liquidity.step(
            i, bars, isw_out, atr_out, per_out, st[P_LIQ_TOL_ATR], int(st[P_LIQ_RECLAIM]),
            _s3(st, S_LIQ_POOLS), _s3(st, S_LIQ_CANDS), _s2(st, S_LIQ_SIZES), _s3(st, S_LIQ_LEVELS),
            _node(outs, st, cap, 10),
        )  # fmt: skip
        retracements.step(
            i, bars, sw_out, st[P_RET_USE_CLOSE] != 0.0, _s1(st, S_RET), _node(outs, st, cap, 11)
        )
        zones.step(
            i, bars, sw_out, st[P_ZONE_EPS], st[P_ZONE_SHALLOW], st[P_ZONE_MID], st[P_ZONE_DEEP],
            _node(outs, st, cap, 12),
        )  # fmt: skip
        return OK

    return fused_step


fused_step = _build_step(SOURCES_DIGEST)
# the one signature SMCStream uses: bar index, time, OHLCV, the two arenas
SIGNATURE = types.int64(types.int64, *([types.float64] * 6), types.float64[::1], types.float64[::1])


def prepare() -> None:
    """Compile (or load from cache) ``fused_step`` for SIGNATURE, then freeze it.

    Why: a caller passing an int epoch-ms time (or int prices) would otherwise trigger a new
    multi-second compilation of the whole graph; with compilation disabled numba converts the
    arguments to the existing float64 signature instead. Idempotent and cheap after the first.
    """
    if fused_step._can_compile:
        fused_step.compile(SIGNATURE.args)
        fused_step.disable_compile()
