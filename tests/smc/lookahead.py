"""A deliberately look-ahead swing detector: the negative control of the SMC prefix tests.

It is ``swings.run`` with the classic off-by-one: a pivot ``p`` is confirmed at row ``i`` from
the bars up to ``i + 1`` (the right-hand window is one bar too long), so each row reads the next
bar. ``guarded=False`` reads ``bars[i + 1]`` even on the last bar — invisible to a prefix test
that hands the kernel numpy *views* (the "next bar" is really there), caught only by copies plus
NUMBA_BOUNDSCHECK. ``guarded=True`` stops at the last bar (``i + 1 < n``), so the last row of a
prefix differs from the full run: caught by comparing every row.
"""

from __future__ import annotations

import types

import numpy as np
from numba import njit

from strategies.smc import swings
from strategies.smc._common import HIGH, LOW, NO_NRT, empty_out


@njit(**NO_NRT)
def _peeking_run(
    bars: np.ndarray, left: int, right: int, guarded: bool, state: np.ndarray, out: np.ndarray
) -> None:
    n = bars.shape[0]
    for i in range(n):
        swings._step(i, bars, left, right, state, out)  # the honest row, then the look-ahead
        end = i + 1
        if guarded and end >= n:
            continue
        p = end - right
        if p >= left and swings._is_pivot(bars, HIGH, 1.0, p, left, end):
            out[i, swings.SH] = 1.0
            out[i, swings.SH_REF] = p
            out[i, swings.SH_LVL] = bars[p, HIGH]
            state[0], state[1] = bars[p, HIGH], p
        if p >= left and swings._is_pivot(bars, LOW, -1.0, p, left, end):
            out[i, swings.SL] = 1.0
            out[i, swings.SL_REF] = p
            out[i, swings.SL_LVL] = bars[p, LOW]
            state[2], state[3] = bars[p, LOW], p
        out[i, swings.LAST_H] = state[0]
        out[i, swings.LAST_H_REF] = state[1]
        out[i, swings.LAST_L] = state[2]
        out[i, swings.LAST_L_REF] = state[3]


def peeking_swings(guarded: bool):  # type: ignore[no-untyped-def]
    """A drop-in for ``swings.run(bars, left, right)`` that looks one bar ahead."""

    def run(bars: np.ndarray, left: int, right: int) -> np.ndarray:
        out = empty_out(bars.shape[0], len(swings.COLUMNS))
        _peeking_run(bars, left, right, guarded, swings.init_state(), out)
        return out

    return run


def peeking_detect_runner(guarded: bool):  # type: ignore[no-untyped-def]
    """A drop-in for ``_fused_batch.run_chunks`` (detect()'s engine) whose graph row plants the
    same look-ahead in the swing-scale swings: after the honest rows of a chunk, a pivot
    confirmed from the bars up to ``i + 1`` is written on each row ``i`` (``guarded``: not on
    the last bar)."""
    from strategies.smc import _fused_batch, fused
    from strategies.smc._fused_layout import P_SWING_LEN

    @njit
    def rows(i0, i1, bars, loc_s, loc_p, outs, st, cap):  # type: ignore[no-untyped-def]
        fused._graph_rows(i0, i1, bars, loc_s, loc_p, outs, st, cap)
        out = fused._node(outs, st, cap, 0)
        length = int(st[P_SWING_LEN])
        for i in range(i0, i1):
            end = i + 1
            if guarded and end >= bars.shape[0]:
                return
            p = end - length
            if p >= length and swings._is_pivot(bars, HIGH, 1.0, p, length, end):
                out[i, swings.SH] = 1.0
                out[i, swings.SH_REF] = p
                out[i, swings.SH_LVL] = bars[p, HIGH]

    fake = types.ModuleType("peeking_fused")
    fake._graph_rows = rows  # type: ignore[attr-defined]
    fake._column = fused._column  # type: ignore[attr-defined]
    real = _fused_batch.run_chunks.py_func
    env = dict(real.__globals__, fused=fake)
    fn = types.FunctionType(real.__code__, env, real.__name__, real.__defaults__, real.__closure__)
    return njit(nogil=True)(fn)
