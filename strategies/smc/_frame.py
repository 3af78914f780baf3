"""Assemble the concept nodes' outputs into ``detect()``'s DataFrame with one copy.

A node writes an ``(n, k)`` float64 array whose index/flag columns hold whole numbers. The frame
wants those as int64 and the levels as float64, in node order. At 1M bars × 300 columns every
extra pass is 2.4 GB of memory traffic, so: one float64 and one int64 block (column-major, as
pandas stores them) are allocated once, each node's output is split into them by a tiled njit
copy (run on the node's own worker thread as soon as it finishes), and the frame wraps the two
blocks as they are (no ``concat``, no column reordering copy).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd
from numba import njit
from pandas.api.internals import create_dataframe_from_blocks

TILE = 512  # rows per tile: a tile of the widest node (46 columns) stays in L2


class _NodeColumns(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def columns(self) -> Sequence[str]: ...
    @property
    def int_columns(self) -> frozenset[str]: ...


@njit(cache=True, nogil=True)
def _split_columns(
    out: np.ndarray, pos: np.ndarray, is_int: np.ndarray, floats: np.ndarray, ints: np.ndarray
) -> None:
    """Row-major node output → rows ``pos[j]`` of the column-major float / int64 blocks."""
    n, k = out.shape
    for i0 in range(0, n, TILE):
        i1 = min(i0 + TILE, n)
        for j in range(k):
            row = pos[j]
            if is_int[j]:
                for i in range(i0, i1):
                    ints[row, i] = np.int64(out[i, j])
            else:
                for i in range(i0, i1):
                    floats[row, i] = out[i, j]


class FrameLayout:
    """Where each node column lands in the frame's float64 / int64 blocks."""

    def __init__(self, nodes: Sequence[_NodeColumns]) -> None:
        self.columns = pd.Index([c for node in nodes for c in node.columns])
        if self.columns.has_duplicates:
            dup = sorted(set(self.columns[self.columns.duplicated()]))
            raise ValueError(f"column(s) produced by two nodes: {', '.join(dup)}")
        self._node: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
        counts = [0, 0]  # float, int block rows used so far
        flags: list[bool] = []
        for node in nodes:
            is_int = np.array([c in node.int_columns for c in node.columns], dtype=np.bool_)
            pos = np.empty(len(node.columns), dtype=np.int64)
            for j, flag in enumerate(is_int):
                pos[j] = counts[int(flag)]
                counts[int(flag)] += 1
            self._node[node.name] = (pos, is_int, len(node.columns))
            flags.extend(bool(f) for f in is_int)
        # the frame column of each block row (blocks are filled in frame order)
        is_int_col = np.array(flags, dtype=np.bool_)
        order = np.arange(len(self.columns), dtype=np.int64)
        self.float_place = order[~is_int_col]
        self.int_place = order[is_int_col]

    def alloc(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Uninitialised blocks for ``n`` bars (every cell is written by :meth:`split`)."""
        return (
            np.empty((len(self.float_place), n), dtype=np.float64),
            np.empty((len(self.int_place), n), dtype=np.int64),
        )

    def split(self, name: str, out: np.ndarray, floats: np.ndarray, ints: np.ndarray) -> None:
        """Copy the first ``floats.shape[1]`` rows of node ``name``'s output into the blocks."""
        pos, is_int, k = self._node[name]
        n = floats.shape[1]
        if out.ndim != 2 or out.shape[1] != k or out.shape[0] < n:
            raise ValueError(f"node {name!r}: output of shape {out.shape}, expected ({n}, {k})")
        _split_columns(np.ascontiguousarray(out[:n]), pos, is_int, floats, ints)

    def frame(self, floats: np.ndarray, ints: np.ndarray, index: pd.Index) -> pd.DataFrame:
        """The DataFrame over the two blocks (no copy)."""
        return create_dataframe_from_blocks(
            [(floats, self.float_place), (ints, self.int_place)], index=index, columns=self.columns
        )
