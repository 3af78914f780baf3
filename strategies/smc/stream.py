"""``SMCStream``: the bar-by-bar form of ``detect()`` (one fused njit call per bar).

Why a module of its own: the batch pipeline (graph, scheduler, frame) and the live stream
share the concept graph and parameters but nothing else; the stream's engine is ``fused.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from strategies.smc import fused
from strategies.smc._common import TIME
from strategies.smc._frame import FrameLayout
from strategies.smc.fused import fused_step as _fused_step
from strategies.smc.pipeline import concept_nodes, make_params


class SMCStream:
    """Bar-by-bar form of :func:`detect`; ``update`` returns the row the batch would hold.

    Each bar is one call of ``fused.fused_step`` (every concept's own ``step``, in graph order,
    on two preallocated arenas); rows live in buffers that double their capacity when full.

    ``max_rows`` bounds memory for long-running (live) streams: only the latest ``max_rows``
    output rows stay readable (:meth:`row`, :meth:`frame`), and older bars are dropped as soon
    as no detector can read them any more (``Layout.oldest_needed``: the swing look-back and
    the live swing references of the structure scales). Rows emitted are identical either
    way; only the history kept for reading back differs. ``None`` keeps everything.
    """

    def __init__(self, *, max_rows: int | None = None, **params: Any) -> None:
        if max_rows is not None and max_rows < 1:
            raise ValueError(f"max_rows must be >= 1 or None, got {max_rows}")
        self.max_rows = max_rows
        self.params = make_params(**params)
        self.nodes = concept_nodes()
        if tuple(node.name for node in self.nodes) != fused.NODE_NAMES:
            raise RuntimeError("fused.NODE_NAMES is out of date with pipeline.concept_nodes()")
        fused.prepare()
        self._layout = fused.Layout(self.params)
        self._outs, self._st = self._layout.outs, self._layout.st
        self.n = 0
        self.columns = [c for node in self.nodes for c in node.columns]

    def update_arrays(
        self, time_ms: float, o: float, h: float, lo: float, c: float, v: float = 0.0
    ) -> int:
        """Append one closed bar (time = open time in epoch ms); returns its row index.

        The cheap form (one njit call, nothing boxed): read the row with :meth:`row` or
        :meth:`frame`. Ints are converted to float64; anything else raises TypeError.
        """
        i = self.n
        if i - self._layout.base == self._layout.cap:
            self._make_room(i)
        try:
            code = _fused_step(i, time_ms, o, h, lo, c, v, self._outs, self._st)
        except TypeError:
            raise TypeError(
                "bar time (epoch ms) and o, h, lo, c, v must be real numbers, got "
                + ", ".join(type(x).__name__ for x in (time_ms, o, h, lo, c, v))
            ) from None
        if code:
            self._retry(code, i, time_ms, o, h, lo, c, v)
        self.n = i + 1
        return i

    def _make_room(self, n: int) -> None:
        """Full arena: drop rows nobody needs (bounded mode) if that frees half, else grow."""
        layout = self._layout
        if self.max_rows is not None:
            keep_from = min(n - self.max_rows, layout.oldest_needed(n), n - 1)
            if keep_from - layout.base >= layout.cap // 2:
                layout.drop_before(n, keep_from)
                return
        layout.grow(n)
        self._outs = layout.outs

    @property
    def first_row(self) -> int:
        """Absolute index of the oldest row still readable."""
        return self._layout.base

    def nbytes(self) -> int:
        """Bytes held by the stream's two arenas (constant once a bounded stream is warm)."""
        return int(self._layout.outs.nbytes + self._layout.st.nbytes)

    def _retry(
        self, code: int, i: int, t: float, o: float, h: float, lo: float, c: float, v: float
    ) -> None:
        """Slow path: refresh the local-time tables, or raise for a bad bar."""
        if code == fused.NEED_CLOCK:  # once: afterwards the tables cover t
            self._layout.refresh_clock(t)
            code = _fused_step(i, t, o, h, lo, c, v, self._outs, self._st)
        if code == fused.ERR_ORDER:
            raise ValueError("bar time must be later than the previous bar's")
        if code == fused.ERR_PRICE:
            raise ValueError("bar has NaN or infinite prices")
        if code == fused.ERR_TIME:
            raise ValueError(f"bar {i}: open time {t} is not a finite epoch-ms value")
        if code != fused.OK:
            raise RuntimeError(f"fused SMC step failed with status {code} at bar {i}")

    def row(self, i: int = -1) -> list[np.ndarray]:
        """Row ``i`` (default: the latest) of every node, as views into the buffers."""
        k = i + self.n if i < 0 else i
        if not 0 <= k < self.n:
            raise IndexError(f"row {i} out of range for {self.n} bars")
        if k < self._layout.base:
            raise IndexError(f"row {i} was dropped (max_rows={self.max_rows} keeps from "
                             f"{self._layout.base})")  # fmt: skip
        return [self._layout.views[node.name][k - self._layout.base] for node in self.nodes]

    def update(
        self, time: pd.Timestamp, o: float, h: float, lo: float, c: float, v: float = 0.0
    ) -> pd.Series:
        """Append one closed bar and return its row as a Series (columns as in detect())."""
        ts = pd.Timestamp(time)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
        time_ms = float(ts.as_unit("ns").value // 1_000_000)
        self.update_arrays(time_ms, float(o), float(h), float(lo), float(c), float(v))
        values: list[Any] = []
        for node, row in zip(self.nodes, self.row(), strict=True):
            values.extend(
                int(x) if col in node.int_columns else float(x)
                for col, x in zip(node.columns, row, strict=True)
            )
        return pd.Series(values, index=self.columns, name=ts, dtype=object)

    def frame(self) -> pd.DataFrame:
        """Every row still held (all rows emitted unless ``max_rows`` dropped old ones), in
        detect()'s layout."""
        kept = self.n - self._layout.base
        times = pd.to_datetime(self._layout.bars[:kept, TIME].astype(np.int64), unit="ms", utc=True)
        layout = FrameLayout(self.nodes, self.n)
        blocks = layout.alloc(kept)
        for node in self.nodes:
            layout.split(node.name, self._layout.views[node.name][:kept], blocks)
        return layout.frame(blocks, pd.DatetimeIndex(times, name="time"))
