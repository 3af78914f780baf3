"""The numba functions in strategies/ run identically interpreted (`.py_func`).

Why: coverage cannot see inside compiled code, and the interpreted path is what a debugger
steps through; both must give the same answers as the compiled one."""

from __future__ import annotations

import numpy as np
import pytest

from strategies import sizing as z
from strategies import sma_cross as sc

CASES = [
    (z.RISK, 10_000.0, 100.0, 98.0, 0.01, 0.0, 2.0, 0.0),
    (z.RISK, 10_000.0, 100.0, 99.99, 0.01, 0.0, 2.0, 0.0),
    (z.RISK, 10_000.0, 100.0, np.nan, 0.01, 0.0, 2.0, 0.0),
    (z.RISK, -5.0, 100.0, 99.0, 0.01, 0.0, 2.0, 0.0),
    (z.FRACTION, 10_000.0, 100.0, np.nan, 0.0, 0.5, 1.0, 0.0),
    (z.FRACTION, 0.0, 100.0, np.nan, 0.0, 0.5, 1.0, 0.0),
    (z.ALL_IN, 10_000.0, 30.0, np.nan, 0.0, 0.0, 1.0, 1.0),
    (z.ALL_IN, 10_000.0, 30.0, np.nan, 0.0, 0.0, 1.0, 0.0),
]


@pytest.mark.parametrize("args", CASES)
def test_sizing_interpreted_equals_compiled(args: tuple) -> None:
    mode, equity, price, stop, risk, frac, lev, step = args
    want = z.position_size(*args)
    if mode == z.RISK:
        raw = z.risk_size.py_func(equity, price, stop, risk)
    elif mode == z.FRACTION:
        raw = z.fraction_size.py_func(equity, price, frac)
    else:
        raw = z.fraction_size.py_func(equity, price, lev)
    cap = z.fraction_size.py_func(equity, price, lev)
    assert z.round_to_step.py_func(min(raw, cap), step) == pytest.approx(want)
    assert z.position_size.py_func(*args) == pytest.approx(want)


def test_sma_cross_interpreted_equals_compiled() -> None:
    close = 100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.01, 400)))
    close[50:60] = close[49]  # flat run: ties and equal-magnitude Neumaier branches
    np.testing.assert_array_equal(sc.sma.py_func(close, 7), sc.sma(close, 7))
    assert sc._neumaier.py_func(1.0, 0.0, 1e-20) == (1.0, 1e-20)
    assert sc._neumaier.py_func(1e-20, 0.0, 1.0) == (1.0, 1e-20)
    e1, x1 = np.zeros(400, np.int8), np.zeros(400, np.bool_)
    e2, x2 = np.zeros(400, np.int8), np.zeros(400, np.bool_)
    sc._cross_signals.py_func(close, 3, 9, e1, x1)
    sc._cross_signals(close, 3, 9, e2, x2)
    assert (e1 == e2).all() and (x1 == x2).all() and e1.any() and x1.any()
    f = np.array([3, 5])
    s = np.array([9, 9])
    windows, inv = np.unique(np.concatenate((f, s)), return_inverse=True)
    eg, xg = np.zeros((2, 400), np.int8), np.zeros((2, 400), np.bool_)
    sc._grid.py_func(close, windows, inv[:2], inv[2:], eg, xg)
    assert (eg[0] == e2).all() and (xg[0] == x2).all()


def test_sma_blocks_and_cross_rule_interpreted() -> None:
    """sma_into (block by block) and the crossing rule, run as Python, match the compiled sma."""
    x = 100 * np.exp(np.cumsum(np.random.default_rng(5).normal(0, 0.01, 300)))
    out = np.empty(300)
    state = np.zeros(2)
    for a in range(0, 300, 64):
        sc.sma_into.py_func(x, 9, a, min(a + 64, 300), state, out[a:])
    np.testing.assert_array_equal(out, sc.sma(x, 9))
    assert sc.cross.py_func(-1.0, 1.0) == 1 and sc.cross.py_func(0.0, 1.0) == 1
    assert sc.cross.py_func(1.0, -1.0) == -1 and sc.cross.py_func(0.0, -1.0) == -1
    assert sc.cross.py_func(1.0, 2.0) == 0 and sc.cross.py_func(np.nan, 1.0) == 0
