"""Signals.validate checks the rules in one numba pass and names a broken one with the numpy
checks: the two must reach the same verdict on every input, or a broken signal would pass."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.signals import LIMIT, MARKET, STOP, SignalError, Signals

PRICES = [np.nan, np.inf, -np.inf, -1.0, 0.0, 1e-300, 99.0, 100.0, 100.0 + 1e-12, 101.0, 5e300]


def _numpy_verdict(sig: Signals, close: np.ndarray | None) -> bool:
    try:
        sig._check_rules(close)
    except SignalError:
        return False
    return True


@st.composite
def signals(draw: st.DrawFn) -> tuple[Signals, np.ndarray | None]:
    n = draw(st.integers(1, 12))

    def floats() -> np.ndarray:
        return np.array(draw(st.lists(st.sampled_from(PRICES), min_size=n, max_size=n)))

    entry = np.array(draw(st.lists(st.sampled_from([-2, -1, 0, 0, 1, 1, 2]), min_size=n,
                                   max_size=n)), dtype=np.int8)  # fmt: skip
    kind = np.array(draw(st.lists(st.sampled_from([MARKET, LIMIT, STOP, 3, -1]), min_size=n,
                                  max_size=n)), dtype=np.int8)  # fmt: skip
    sig = Signals(
        entry=entry, entry_kind=kind, entry_price=floats(), stop=floats(), target=floats(),
        trail=floats(), exit_long=np.zeros(n, dtype=np.bool_),
        exit_short=np.zeros(n, dtype=np.bool_),
    )  # fmt: skip
    close = floats() if draw(st.booleans()) else None
    return sig, close


@given(signals())
def test_one_pass_check_and_numpy_checks_agree(case: tuple[Signals, np.ndarray | None]) -> None:
    sig, close = case
    fast = sig._rules_hold(close)
    assert fast == _numpy_verdict(sig, close)
    if fast:
        sig.validate(close)
    else:
        with pytest.raises(SignalError):
            sig.validate(close)


def test_both_verdicts_occur_on_valid_and_broken_signals() -> None:
    """Control: the generator's verdicts are not all one way (the agreement above means
    something), and strided views (the sweep's kernel-output columns) take the fast path."""
    n = 6
    out = np.full((n, 3), np.nan)
    out[:, 0] = 90.0  # long stops below the close
    entry = np.array([0, 1, 1, 0, 1, 0], dtype=np.int8)
    sig = Signals(
        entry=entry, entry_kind=np.zeros(n, dtype=np.int8), entry_price=out[:, 1], stop=out[:, 0],
        target=out[:, 2], trail=np.full(n, np.nan), exit_long=np.zeros(n, dtype=np.bool_),
        exit_short=np.zeros(n, dtype=np.bool_),
    )  # fmt: skip
    close = np.full(n, 100.0)
    assert sig._rules_hold(close) and _numpy_verdict(sig, close)
    sig.validate(close)
    out[2, 0] = 100.0  # a stop at the entry's reference price: wrong side
    assert not sig._rules_hold(close) and not _numpy_verdict(sig, close)
    with pytest.raises(SignalError, match="stop on the wrong side at bar 2"):
        sig.validate(close)
    with pytest.raises(SignalError, match="close: expected shape"):
        sig.validate(np.ones(n + 1))
