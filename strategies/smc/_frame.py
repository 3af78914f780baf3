"""``detect()``'s DataFrame: typed blocks written once, wrapped by pandas without a copy.

A concept's ``step`` writes its row as float64 (levels, and whole numbers for events, flags and
bar references). The frame stores each column in the smallest dtype that holds every value it
can take (:func:`column_dtype`): levels float64 (NaN = none), bar references int32 (int64 past
2**31 - 1 bars; -1 = none), event kinds / directions / trend int8, event counts int16 or int32,
0/1 states bool. The frame is one 2-D block per dtype (column-major, as pandas stores them),
allocated once and filled by :func:`emit_column` straight from the kernels' rows, then handed to pandas
as they are (``create_dataframe_from_blocks``: no concat, no reorder, no copy). Every
conversion is checked: a value its dtype cannot hold exactly raises instead of changing.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
from numba import njit
from pandas.api.internals import create_dataframe_from_blocks

from strategies.smc._frame_pool import arena

# destination codes (``plan[:, 2]``); one block per dtype
F64, BOOL, I8, I16, I32, I64 = range(6)
DTYPES = (np.float64, np.bool_, np.int8, np.int16, np.int32, np.int64)
INT32_MAX_BARS = 2**31 - 1
ALIGN = 64

# integer columns by name (suffix of the concept's base name; scale prefixes do not matter)
_REF = ("_ref", "_from", "_first", "_start", "_known")  # a bar index, -1 for none
_SMALL = ("_kind", "_dir", "_trend", "zone_leg")  # 0 / ±1 / 2 codes
_FLAG = ("swing_high", "swing_low", "_active", "zone_in_ote")  # 0/1 states
# counts bounded by a table size (ob_max_active <= 1024, fvg_max_active <= 4096,
# liq_max_pools <= 1024): int16; a pool's member count is unbounded: int32
_COUNT16 = (
    "_new", "_touched", "_invalidated", "_retest", "_merged", "_ce", "_filled", "_inverted",
    "_n_bull", "_n_bear", "_sweep", "_break", "_n",
)  # fmt: skip
_COUNT32 = ("liq_eqh", "liq_eql", "_near_count")


def column_dtype(name: str, is_int: bool, n_bars: int) -> int:
    """Destination code of column ``name`` (``is_int``: the concept declares it whole-numbered).

    ``_active`` is a count for the order-block table (``ob_*_active``), a 0/1 state for sessions.
    Unknown integer columns raise: a new column must be given its dtype here.
    """
    if not is_int:
        return F64
    if name.endswith(_REF):
        return I32 if n_bars <= INT32_MAX_BARS else I64
    if name.endswith(_SMALL):
        return I8
    if name.startswith("ob_") and name.endswith("_active"):
        return I16
    if name.endswith(_FLAG):
        return BOOL
    if name.endswith(_COUNT32):
        return I32
    if name.endswith(_COUNT16):
        return I16
    raise RuntimeError(f"SMC column {name!r} has no frame dtype (see _frame.column_dtype)")


class _NodeColumns(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def columns(self) -> Sequence[str]: ...
    @property
    def int_columns(self) -> frozenset[str]: ...


@njit(cache=True, nogil=True, inline="always")
def emit_column(
    src: np.ndarray,
    code: int,
    row: int,
    d0: int,
    f64: np.ndarray,
    b1: np.ndarray,
    i8: np.ndarray,
    i16: np.ndarray,
    i32: np.ndarray,
    i64: np.ndarray,
) -> bool:
    """``src`` (one column's float64 values) into row ``row`` of block ``code`` from frame row
    ``d0`` on. True if a value its dtype cannot hold exactly was met (nothing is rounded or
    wrapped: the caller raises, the frame is never returned).

    Why a flag, not an early return: the loops stay branch-free, so for a contiguous ``src``
    they vectorise; a bad cell stores a placeholder (0) that nobody sees.
    """
    m = src.shape[0]
    bad = False
    if code == F64:
        d = f64[row, d0 : d0 + m]
        for i in range(m):
            d[i] = src[i]
    elif code == BOOL:
        db = b1[row, d0 : d0 + m]
        for i in range(m):
            x = src[i]
            bad |= (x != 0.0) & (x != 1.0)
            db[i] = x != 0.0
    elif code == I8:
        d8 = i8[row, d0 : d0 + m]
        for i in range(m):
            x = src[i]
            ok = (x >= -128.0) & (x <= 127.0)
            bad |= (not ok) | (x != np.floor(x))  # NaN fails the range test
            d8[i] = np.int8(np.int32(x if ok else 0.0))
    elif code == I16:
        d16 = i16[row, d0 : d0 + m]
        for i in range(m):
            x = src[i]
            ok = (x >= -32768.0) & (x <= 32767.0)
            bad |= (not ok) | (x != np.floor(x))
            d16[i] = np.int16(np.int32(x if ok else 0.0))
    elif code == I32:
        d32 = i32[row, d0 : d0 + m]
        for i in range(m):
            x = src[i]
            ok = (x >= -2147483648.0) & (x <= 2147483647.0)
            bad |= (not ok) | (x != np.floor(x))
            d32[i] = np.int32(x if ok else 0.0)
    else:
        d64 = i64[row, d0 : d0 + m]
        for i in range(m):
            x = src[i]
            ok = (x >= -9007199254740992.0) & (x <= 9007199254740992.0)  # exact in float64
            bad |= (not ok) | (x != np.floor(x))
            d64[i] = np.int64(x if ok else 0.0)
    return bad


@njit(cache=True, nogil=True)
def emit(
    out: np.ndarray,
    i0: int,
    i1: int,
    shift: int,
    plan: np.ndarray,
    f64: np.ndarray,
    b1: np.ndarray,
    i8: np.ndarray,
    i16: np.ndarray,
    i32: np.ndarray,
    i64: np.ndarray,
) -> int:
    """Rows ``i0..i1-1`` of one node's output into the typed blocks (frame row ``i - shift``).

    ``plan`` rows are ``(node column, destination code, block row)``. Returns -1, or the plan
    row of the first column holding a value its dtype cannot hold exactly.
    """
    for r in range(plan.shape[0]):
        j, code, row = plan[r, 0], plan[r, 1], plan[r, 2]
        if emit_column(out[i0:i1, j], code, row, i0 - shift, f64, b1, i8, i16, i32, i64):
            return r
    return -1


class FrameLayout:
    """Where each node column lands in the frame's typed blocks, for frames of ``n_bars`` rows
    (or referring to bars up to ``n_bars``: the reference dtype depends on it)."""

    def __init__(self, nodes: Sequence[_NodeColumns], n_bars: int) -> None:
        self.columns = pd.Index([c for node in nodes for c in node.columns])
        if self.columns.has_duplicates:
            dup = sorted(set(self.columns[self.columns.duplicated()]))
            raise ValueError(f"column(s) produced by two nodes: {', '.join(dup)}")
        self.plans: dict[str, np.ndarray] = {}
        self._names: dict[str, list[str]] = {}
        places: list[list[int]] = [[] for _ in DTYPES]
        pos = 0
        for node in nodes:
            plan = np.empty((len(node.columns), 3), dtype=np.int64)
            for j, col in enumerate(node.columns):
                code = column_dtype(col, col in node.int_columns, n_bars)
                plan[j] = (j, code, len(places[code]))
                places[code].append(pos)
                pos += 1
            self.plans[node.name] = plan
            self._names[node.name] = list(node.columns)
        self.places = [np.array(p, dtype=np.int64) for p in places]
        self._worker_plans: dict[
            tuple[frozenset[str], tuple[str, ...]], tuple[np.ndarray, np.ndarray]
        ] = {}

    @classmethod
    def cached(cls, nodes: Sequence[_NodeColumns], n_bars: int) -> FrameLayout:
        """The layout for ``nodes`` and ``n_bars``, built once per node set and reference width
        (building it loops over ~300 columns in Python: ~1 ms of a 100k-bar ``detect``, ~2 %).
        A layout is never changed after it is built, so calls can share it."""
        key = tuple((n.name, tuple(n.columns), frozenset(n.int_columns)) for n in nodes)
        return _cached_layout(key, n_bars <= INT32_MAX_BARS)

    def plan_of(
        self, writes: frozenset[str], order: tuple[str, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """One worker's emit plan: the plans of the nodes it ``writes``, concatenated in graph
        ``order`` (``plan[starts[k]:starts[k + 1]]`` is node ``k``'s; empty for the others).
        Kept per worker set (the layout never changes): not rebuilt on every call."""
        key = (writes, order)
        got = self._worker_plans.get(key)
        if got is None:
            empty = np.empty((0, 3), dtype=np.int64)
            parts = [self.plans[nm] if nm in writes else empty for nm in order]
            starts = np.cumsum([0] + [len(x) for x in parts]).astype(np.int64)
            got = self._worker_plans[key] = (np.ascontiguousarray(np.concatenate(parts)), starts)
        return got

    def dtypes(self) -> pd.Series:
        """The frame's dtype per column (what :meth:`frame` will hold)."""
        by_col: dict[str, np.dtype] = {}
        for name, plan in self.plans.items():
            for col, (_, code, _) in zip(self._names[name], plan, strict=True):
                by_col[col] = np.dtype(DTYPES[code])
        return pd.Series([by_col[c] for c in self.columns], index=self.columns, dtype=object)

    def alloc(self, n: int) -> list[np.ndarray]:
        """Uninitialised ``(columns, n)`` blocks, one per dtype (every cell is written by
        :meth:`split` / the batch runner; unused dtypes get an empty block), carved from one
        arena (``_frame_pool``: pages of a dropped frame when one is free), each 64-byte
        aligned so no two blocks share a cache line between the workers writing them."""
        sizes = [
            len(p) * n * np.dtype(dt).itemsize for p, dt in zip(self.places, DTYPES, strict=True)
        ]
        offsets = np.cumsum([0] + [-(-b // ALIGN) * ALIGN for b in sizes])
        mem = arena(int(offsets[-1]))
        return [
            mem[o : o + b].view(dt).reshape(len(p), n)
            for o, b, p, dt in zip(offsets, sizes, self.places, DTYPES, strict=False)
        ]

    def check(self, name: str, bad: int, out_row: float | None = None) -> None:
        """Raise for ``emit``'s answer ``bad`` on node ``name`` (no-op for -1)."""
        if bad < 0:
            return
        plan = self.plans[name]
        col = self._names[name][int(plan[bad, 0])]
        dt = np.dtype(DTYPES[int(plan[bad, 1])])
        raise RuntimeError(
            f"SMC column {col!r} holds a value {dt} cannot represent exactly"
            + (f" (e.g. {out_row})" if out_row is not None else "")
            + "; its frame dtype in _frame.column_dtype is wrong"
        )

    def split(self, name: str, out: np.ndarray, blocks: list[np.ndarray]) -> None:
        """Write node ``name``'s ``(n, k)`` float64 output (first ``n`` rows) into the blocks."""
        plan = self.plans[name]
        n = blocks[F64].shape[1]
        if out.ndim != 2 or out.shape[1] != len(plan) or out.shape[0] < n:
            raise ValueError(
                f"node {name!r}: output of shape {out.shape}, expected ({n}, {len(plan)})"
            )
        self.check(name, emit(np.ascontiguousarray(out), 0, n, 0, plan, *blocks))

    def frame(self, blocks: list[np.ndarray], index: pd.Index) -> pd.DataFrame:
        """The DataFrame over the blocks (no copy: each column is a row of its block)."""
        pairs = [(b, p) for b, p in zip(blocks, self.places, strict=True) if len(p)]
        # a copy of the Index object (not of its values): renaming one frame's columns in place
        # must not rename the next frame's (the layout is shared, see ``cached``)
        return create_dataframe_from_blocks(pairs, index=index, columns=self.columns.copy())


@dataclass(frozen=True)
class _KeyNode:
    name: str
    columns: tuple[str, ...]
    int_columns: frozenset[str]


@functools.lru_cache(maxsize=32)
def _cached_layout(
    key: tuple[tuple[str, tuple[str, ...], frozenset[str]], ...], narrow_refs: bool
) -> FrameLayout:
    return FrameLayout([_KeyNode(*k) for k in key], 1 if narrow_refs else INT32_MAX_BARS + 1)
