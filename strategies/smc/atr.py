"""Wilder ATR as a concept of its own, so tolerances and filters of other concepts share one array.

Row ``i`` holds ``ATR_n(i)`` from bars ``<= i`` (NaN for the first ``n - 1`` bars); see
``_common.wilder_atr_step``. Dependants read column ``ATR`` of this ``out``.

"""

from __future__ import annotations

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field

from strategies.smc._common import NO_NRT, check_bars, empty_out, wilder_atr_step

COLUMNS = ("atr",)
INT_COLUMNS: frozenset[str] = frozenset()
ATR = 0  # column position


class Params(BaseModel):
    """ATR settings."""

    model_config = ConfigDict(frozen=True)

    atr_period: int = Field(default=14, ge=1, le=10_000, description="Wilder ATR length in bars")


def init_state(params: Params) -> np.ndarray:
    """``[sum_or_atr, count]`` for ``wilder_atr_step``."""
    return np.zeros(2, dtype=np.float64)


@njit(cache=True, **NO_NRT)
def step(i: int, bars: np.ndarray, period: int, state: np.ndarray, out: np.ndarray) -> None:
    """Write row ``i`` from bars ``0..i``."""
    out[i, ATR] = wilder_atr_step(i, bars, period, state)


@njit(cache=True, **NO_NRT)
def rows(
    i0: int, i1: int, bars: np.ndarray, period: int, state: np.ndarray, out: np.ndarray
) -> None:
    """``step`` for rows ``i0..i1-1`` in one call (the batch runs a chunk at a time): a call per
    row passes every array descriptor again and spills the loop's registers (see liquidity.rows)."""
    for i in range(i0, i1):
        out[i, ATR] = wilder_atr_step(i, bars, period, state)


@njit(cache=True, nogil=True, **NO_NRT)
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
