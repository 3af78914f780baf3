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
    """

    def __init__(self, **params: Any) -> None:
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
        if i == self._layout.cap:
            self._layout.grow(i)
            self._outs = self._layout.outs
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
        return [self._layout.views[node.name][k] for node in self.nodes]

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
        """Everything emitted so far, in detect()'s layout."""
        times = pd.to_datetime(
            self._layout.bars[: self.n, TIME].astype(np.int64), unit="ms", utc=True
        )
        layout = FrameLayout(self.nodes)
        floats, ints = layout.alloc(self.n)
        for node in self.nodes:
            layout.split(node.name, self._layout.views[node.name], floats, ints)
        return layout.frame(floats, ints, pd.DatetimeIndex(times, name="time"))
