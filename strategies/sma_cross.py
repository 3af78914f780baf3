"""Long-only SMA crossover: the engine's reference strategy.

At bar t's close: enter long when SMA(fast) crosses above SMA(slow)
(fast[t-1] <= slow[t-1] and fast[t] > slow[t]); exit when it crosses below
(fast[t-1] >= slow[t-1] and fast[t] < slow[t]). Both SMAs include bar t's close, nothing later,
so the signals are causal and a prefix of the data gives a prefix of the signals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit, prange
from pydantic import BaseModel, ConfigDict, Field, model_validator

from strategies.signals import Signals

NAME = "sma_cross"
DEFAULT_SIZING = "all_in"  # no stop, so risk-based sizing does not apply


class Params(BaseModel):
    """Window lengths in bars; `sweep` gives the default research grid (start, stop, step)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fast: int = Field(default=20, ge=1, le=10_000, json_schema_extra={"sweep": [5, 50, 5]})
    slow: int = Field(default=100, ge=2, le=100_000, json_schema_extra={"sweep": [60, 555, 5]})

    @model_validator(mode="after")
    def _fast_below_slow(self) -> Params:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")
        return self


@njit(cache=True, inline="always")
def _neumaier(s: float, comp: float, v: float) -> tuple[float, float]:
    t = s + v
    if abs(s) >= abs(v):
        comp += (s - t) + v
    else:
        comp += (v - t) + s
    return t, comp


@njit(cache=True)
def sma_into(
    x: np.ndarray, window: int, start: int, stop: int, state: np.ndarray, out: np.ndarray
) -> None:
    """SMA of bars [start, stop) into out[: stop - start], carrying the compensated running sum
    (state = [sum, compensation]) from the previous block.

    Why blocks: a fused grid computes each window's SMA a few thousand bars at a time so the
    rows stay in cache; calling this over consecutive blocks performs exactly the operations
    of one whole-series call, so the values are bit-identical to sma()."""
    s = state[0]
    comp = state[1]
    for i in range(start, stop):
        s, comp = _neumaier(s, comp, x[i])
        if i >= window:
            s, comp = _neumaier(s, comp, -x[i - window])
        out[i - start] = (s + comp) / window if i >= window - 1 else np.nan
    state[0] = s
    state[1] = comp


@njit(cache=True)
def sma(x: np.ndarray, window: int) -> np.ndarray:
    """Simple moving average with a compensated running sum (NaN for the first window-1 bars).

    Why compensated: a plain running sum over a million bars drifts enough to flip
    near-equal crossings; Neumaier summation keeps it at pandas' rolling-mean accuracy."""
    out = np.empty(x.shape[0])
    sma_into(x, window, 0, x.shape[0], np.zeros(2), out)
    return out


@njit(cache=True, inline="always")
def cross(a0: float, a1: float) -> int:
    """The rule on fast - slow at bars t-1 (a0) and t (a1): +1 enter, -1 exit, 0 nothing.

    NaN compares False, so nothing fires before both SMAs exist at t-1. Shared by the signal
    arrays and the fused grid kernel (research/backtest/sma_grid.py), so both apply one rule."""
    if a0 <= 0.0 and a1 > 0.0:
        return 1
    if a0 >= 0.0 and a1 < 0.0:
        return -1
    return 0


@njit(cache=True)
def _cross(f: np.ndarray, s: np.ndarray, entry: np.ndarray, exit_: np.ndarray) -> None:
    for t in range(1, f.shape[0]):
        x = cross(f[t - 1] - s[t - 1], f[t] - s[t])
        entry[t] = 1 if x > 0 else 0
        exit_[t] = x < 0


@njit(cache=True)
def _cross_signals(close: np.ndarray, fast: int, slow: int, entry: np.ndarray, exit_: np.ndarray):
    _cross(sma(close, fast), sma(close, slow), entry, exit_)


@njit(cache=True, parallel=True)
def _grid(close, windows, fast_idx, slow_idx, entry, exit_) -> None:  # type: ignore[no-untyped-def]
    smas = np.empty((windows.shape[0], close.shape[0]))
    for u in prange(windows.shape[0]):
        smas[u] = sma(close, windows[u])
    for v in prange(fast_idx.shape[0]):
        _cross(smas[fast_idx[v]], smas[slow_idx[v]], entry[v], exit_[v])


def _close(data: Any) -> npt.NDArray[np.float64]:
    if isinstance(data, np.ndarray):
        close = data
    elif hasattr(data, "columns"):
        if "close" not in data.columns:
            raise ValueError("sma_cross needs a 'close' column")
        close = data["close"].to_numpy()
    elif hasattr(data, "close"):
        close = data.close
    else:
        raise TypeError(f"sma_cross: cannot read closes from {type(data).__name__}")
    close = np.ascontiguousarray(close, dtype=np.float64)
    if close.ndim != 1 or close.size == 0:
        raise ValueError("sma_cross needs a non-empty 1-D close series")
    if not np.isfinite(close).all():
        raise ValueError(f"close has NaN/inf at bar {int(np.flatnonzero(~np.isfinite(close))[0])}")
    return close


def generate(data: Any, params: Params | None = None) -> Signals:
    """Signals for one parameter set; `data` is a frame with `close`, an object with `.close`,
    or the close array itself."""
    params = params or Params()
    close = _close(data)
    entry = np.zeros(close.size, dtype=np.int8)
    exit_long = np.zeros(close.size, dtype=np.bool_)
    _cross_signals(close, params.fast, params.slow, entry, exit_long)
    return Signals.build(close.size, entry=entry, exit_long=exit_long)


def generate_grid(
    data: Any,
    fast: npt.ArrayLike,
    slow: npt.ArrayLike,
    out: tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_]] | None = None,
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_]]:
    """Entry and exit arrays (variants x bars) for many (fast, slow) pairs in one parallel call.

    Memory: 2 bytes per bar-variant plus 8 bytes per bar per distinct window; callers chunk
    large grids and may pass `out` buffers (int8, bool) of at least that many rows to reuse."""
    close = _close(data)
    f = np.asarray(fast, dtype=np.int64)
    s = np.asarray(slow, dtype=np.int64)
    if f.shape != s.shape or f.ndim != 1:
        raise ValueError("fast and slow must be 1-D arrays of the same length")
    for a, b in zip(f, s, strict=True):
        Params(fast=int(a), slow=int(b))  # same checks as a single run
    # each distinct window's SMA is computed once (the same function as a single run, so a
    # grid row is bit-identical to generate()); memory: one float64 row per distinct window
    windows, inverse = np.unique(np.concatenate((f, s)), return_inverse=True)
    if out is None:
        entry = np.zeros((f.size, close.size), dtype=np.int8)
        exit_long = np.zeros((f.size, close.size), dtype=np.bool_)
    else:  # reuse caller buffers across chunks: fresh pages cost ~1.3 s per GiB
        entry, exit_long = out[0][: f.size], out[1][: f.size]
        if entry.shape != (f.size, close.size) or exit_long.shape != entry.shape:
            raise ValueError(f"out buffers must hold ({f.size}, {close.size})")
        entry[:, 0] = 0
        exit_long[:, 0] = False
    _grid(close, windows, inverse[: f.size], inverse[f.size :], entry, exit_long)
    return entry, exit_long
