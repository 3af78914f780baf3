"""Wilder ATR as a concept of its own, so tolerances and filters of other concepts share one array.

Row ``i`` holds ``ATR_n(i)`` from bars ``<= i`` (NaN for the first ``n - 1`` bars); see
``_common.wilder_atr_step``. Dependants read column ``ATR`` of this ``out``.

Also home of ``check_bars``, the input check shared by the concepts that build on ATR.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field

from strategies.smc._common import BAR_FIELDS, GrowableRows, empty_out, wilder_atr_step

COLUMNS = ("atr",)
INT_COLUMNS: frozenset[str] = frozenset()
ATR = 0  # column position


class Params(BaseModel):
    """ATR settings."""

    model_config = ConfigDict(frozen=True)

    atr_period: int = Field(default=14, ge=1, le=10_000, description="Wilder ATR length in bars")


def check_bars(bars: np.ndarray, *deps: tuple[str, np.ndarray, int]) -> None:
    """Reject bars (and dependency outputs ``(name, array, ncols)``) a step cannot read safely."""
    if not isinstance(bars, np.ndarray) or bars.ndim != 2 or bars.shape[1] != BAR_FIELDS:
        raise ValueError(f"bars must be a 2-D array with {BAR_FIELDS} columns (OHLCV + time)")
    if bars.dtype != np.float64:
        raise ValueError(f"bars must be float64 (got {bars.dtype})")
    for name, arr, ncols in deps:
        if not isinstance(arr, np.ndarray) or arr.ndim != 2 or arr.shape[1] != ncols:
            raise ValueError(f"{name} must be a 2-D array with {ncols} columns")
        if arr.dtype != np.float64:
            raise ValueError(f"{name} must be float64 (got {arr.dtype})")
        if arr.shape[0] < bars.shape[0]:
            raise ValueError(f"{name} has {arr.shape[0]} rows, fewer than the {bars.shape[0]} bars")


def init_state(params: Params) -> np.ndarray:
    """``[sum_or_atr, count]`` for ``wilder_atr_step``."""
    return np.zeros(2, dtype=np.float64)


@njit(cache=True)
def step(i: int, bars: np.ndarray, period: int, state: np.ndarray, out: np.ndarray) -> None:
    """Write row ``i`` from bars ``0..i``."""
    out[i, ATR] = wilder_atr_step(i, bars, period, state)


@njit(cache=True)
def _run(bars: np.ndarray, period: int, state: np.ndarray, out: np.ndarray) -> None:
    for i in range(bars.shape[0]):
        step(i, bars, period, state, out)


def run(bars: np.ndarray, params: Params | None = None) -> np.ndarray:
    """Batch form: the same ``step`` as the stream, in a loop."""
    params = params or Params()
    check_bars(bars)
    out = empty_out(bars.shape[0], len(COLUMNS))
    _run(bars, params.atr_period, init_state(params), out)
    return out


class Stream:
    """Streaming form: ``update(i, bars)`` after bar ``i`` was appended; returns row ``i``."""

    def __init__(self, params: Params | None = None) -> None:
        self.params = params or Params()
        self.state = init_state(self.params)
        self.rows = GrowableRows(len(COLUMNS))

    @property
    def out(self) -> np.ndarray:
        return self.rows.data

    def update(self, i: int, bars: np.ndarray) -> np.ndarray:
        out = self.rows.ensure(i + 1)
        step(i, bars, self.params.atr_period, self.state, out)
        return out[i]
