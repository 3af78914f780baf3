"""Memory layout of the fused SMC stream: the state arena, the row arena and their header.

See ``strategies.smc.fused`` for why there are exactly two arenas. This module is the
Python side: it builds both from the parameters (each concept's state from the concept
module's own ``init_state``), grows the row arena, and refreshes the local-time tables.
The header constants are shared with the njit step, which reads the same offsets.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel

from strategies.smc import _fused_clock as clock
from strategies.smc import (
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
from strategies.smc._common import BAR_FIELDS

# graph order of ``pipeline.concept_nodes()``; SMCStream checks it so a new node cannot be forgotten here
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
# BASE: the absolute bar index held in row 0 of every block (0 until the stream drops old rows)
# COL_MAJOR: 1.0 when the node blocks are stored column by column (``Layout(column_major=True)``)
CAP, NZ_SESSIONS, NZ_CLOCK, WIDTH, BASE, COL_MAJOR = 0, 1, 2, 3, 4, 5
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
# node mask: MASK + k is 1.0 when node k (NODE_NAMES order) is computed (the stream computes
# every node; a batch worker only the nodes it writes and their dependencies, see _fused_batch)
MASK = BLOCKS + 2 * N_BLOCKS
HEADER = MASK + N_NODES


def _sub(cls: type[BaseModel], p: Any) -> Any:
    """A concept's own params model from the flat SMCParams (same as ``pipeline._module_params``)."""
    return cls(**{k: getattr(p, k) for k in cls.model_fields})


class Layout:
    """Build the two arenas for parameters ``p`` and keep the Python-side views of them.

    ``views[name]`` is node ``name``'s output block, ``bars`` the bar block (both ``(cap, k)``
    views of ``outs``, rebuilt by :meth:`grow`).

    ``column_major``: each node block stores its columns one after another (``cap`` values
    each) instead of its rows. Why: ``detect()`` converts a chunk of rows into the frame's
    per-column blocks (``_fused_batch``); read column-wise, row-major rows cost a strided load
    per value, column-major ones are contiguous runs the conversion loop vectorises. The bar and
    local-time blocks stay row-major (the batch passes whole arrays for those).
    """

    def __init__(self, p: Any, capacity: int = 1024, column_major: bool = False) -> None:
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
        st[MASK : MASK + N_NODES] = 1.0
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
        self.outs = np.empty(capacity * self.width)  # fused_step writes every cell of a row
        self.cap = capacity
        st[CAP] = capacity
        self.column_major = column_major
        st[COL_MAJOR] = float(column_major)
        self.base = 0  # absolute index of the bar in row 0 of every block
        st[BASE] = 0.0
        # the steps read bars back to 2 x the longer swing length (pivot confirmation), and back
        # to the structure's live swing references (break scans, order-block candle search)
        self.lookback = 2 * max(int(p.swing_length), int(p.internal_length)) + 3
        self._make_views()

    def _make_views(self) -> None:
        starts = np.cumsum((0, *self.ncols))
        self.blocks = [
            self.outs[self.cap * a : self.cap * b].reshape(b - a, self.cap).T
            if self.column_major and B_NODE0 <= k < B_NODE0 + N_NODES
            else self.outs[self.cap * a : self.cap * b].reshape(self.cap, b - a)
            for k, (a, b) in enumerate(zip(starts[:-1], starts[1:], strict=True))
        ]
        self.bars = self.blocks[B_BARS]
        self.views = {name: self.blocks[B_NODE0 + k] for k, name in enumerate(NODE_NAMES)}

    def grow(self, n: int) -> None:
        """Double the row capacity (keeping absolute rows ``base..n-1`` of every block).

        ``np.empty``: rows past ``n`` are written by ``fused_step`` (each concept ``step`` writes
        every column of its row, NaN / -1 for "none"), so every byte of the arena is written once — no fill pass, and the pages of the new half are
        faulted in as rows arrive rather than all at once.
        """
        old = self.blocks
        outs = np.empty(2 * self.cap * self.width)  # a MemoryError here changes nothing
        self.cap *= 2
        self.outs = outs
        self._make_views()
        kept = n - self.base
        for new, prev in zip(self.blocks, old, strict=True):
            new[:kept] = prev[:kept]
        self.st[CAP] = self.cap

    def oldest_needed(self, n: int) -> int:
        """The oldest bar any step may still read when bar ``n`` arrives.

        Every step reads bar rows only at the current bar, within ``lookback`` bars of it, or
        from a live swing reference of the two structure scales (``_H_REF``/``_L_REF``: the
        break scan and the order-block candle search run from there). Node output rows are
        read only at the current bar, so no older row is needed for the computation.
        """
        oldest = n - self.lookback
        for k in (S_STS, S_STI):
            off = int(self.st[PIECES + 4 * k])
            for ref in (structure._H_REF, structure._L_REF):
                r = self.st[off + ref]
                if r >= 0.0:
                    oldest = min(oldest, int(r))
        return max(oldest, 0)

    def drop_before(self, n: int, keep_from: int) -> None:
        """Forget absolute rows before ``keep_from`` (rows ``keep_from..n-1`` move to the front
        of every block); the capacity is unchanged."""
        if not self.base <= keep_from <= n:
            raise ValueError(f"cannot keep rows from {keep_from} (have {self.base}..{n - 1})")
        shift = keep_from - self.base
        if shift == 0:
            return
        kept = n - keep_from
        for blk in self.blocks:
            blk[:kept] = blk[shift : shift + kept]  # numpy copies overlapping slices safely
        self.base = keep_from
        self.st[BASE] = float(keep_from)

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
