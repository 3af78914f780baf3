"""Retracements of the latest swing leg (smc.md §3.8)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.smc import retracements as rt
from strategies.smc import swings as sw
from strategies.smc._common import CLOSE, HIGH, LOW
from tests.causality import assert_prefix_property
from tests.smc.helpers import assert_stream_equals_batch
from tests.smc.test_structure import SEQ, assert_same, load_bars, make_bars, other_files

DEFAULT = rt.RetracementParams()
CLOSE_P = rt.RetracementParams(retracement_use_close=True)


def _run(bars: np.ndarray, length: int = 1, params: rt.RetracementParams = DEFAULT) -> np.ndarray:
    return rt.run(bars, sw.run(bars, length, length), params)


def test_hand_made_sequence() -> None:
    # SEQ with L = R = 1: swing high 2 (12) known at 3, low 3 (9.5) at 4, high 6 (13) at 7
    out = _run(make_bars(SEQ))
    assert out[:3, rt.DIR].tolist() == [0, 0, 0] and np.isnan(out[:3, rt.CURRENT]).all()
    # bar 3: only a high is known -> direction +1 but no range yet
    assert out[3, rt.DIR] == 1 and out[3, rt.REF] == 2 and np.isnan(out[3, rt.CURRENT])
    # bar 4: after the low 9.5 (range 12 - 9.5 = 2.5): current = (h - 9.5) / 2.5
    assert out[4, rt.DIR] == -1 and out[4, rt.REF] == 3
    assert out[4, rt.CURRENT] == pytest.approx((11.0 - 9.5) / 2.5 * 100)
    # deepest includes pivot bar 3 (h 11.5), read when the low is confirmed
    assert out[4, rt.DEEPEST] == pytest.approx((11.5 - 9.5) / 2.5 * 100)
    assert out[5, rt.CURRENT] == pytest.approx((12.5 - 9.5) / 2.5 * 100)  # beyond the range
    assert out[6, rt.DEEPEST] == pytest.approx((13.0 - 9.5) / 2.5 * 100)
    # bar 7: high 13 confirmed: direction +1, range 13 - 9.5, current = (13 - l) / 3.5
    assert out[7, rt.DIR] == 1 and out[7, rt.REF] == 6
    assert (out[7, rt.TOP], out[7, rt.TOP_REF], out[7, rt.BOTTOM], out[7, rt.BOTTOM_REF]) == (
        13.0, 6, 9.5, 3,
    )  # fmt: skip
    assert out[7, rt.CURRENT] == pytest.approx((13.0 - 11.0) / 3.5 * 100)
    assert out[7, rt.DEEPEST] == pytest.approx((13.0 - 11.0) / 3.5 * 100)  # bar 6 only 28.6
    assert out[8, rt.DEEPEST] == pytest.approx((13.0 - 9.0) / 3.5 * 100)
    # bar 10 confirms the low 9 (8.5): direction -1 from pivot 9, range 13 - 8.5 = 4.5
    assert out[9, rt.DEEPEST] == pytest.approx((13.0 - 8.5) / 3.5 * 100)
    assert out[10, rt.DIR] == -1 and out[10, rt.REF] == 9
    assert out[10, rt.CURRENT] == pytest.approx((9.9 - 8.5) / 4.5 * 100)
    assert out[10, rt.DEEPEST] == pytest.approx((10.0 - 8.5) / 4.5 * 100)  # pivot bar 9, h 10
    close = _run(make_bars(SEQ), params=CLOSE_P)
    assert close[4, rt.CURRENT] == pytest.approx((10.5 - 9.5) / 2.5 * 100)


def _reference(bars: np.ndarray, swings: np.ndarray, use_close: bool) -> np.ndarray:
    """Plain-Python transcription of §3.8 (full rescan since the pivot every bar)."""
    n = bars.shape[0]
    cur = np.full(n, np.nan)
    deep = np.full(n, np.nan)
    d, ref = 0, -1
    for t in range(n):
        nh, nl = swings[t, sw.SH] == 1, swings[t, sw.SL] == 1
        if nh and nl:
            d, ref = d or 1, int(swings[t, sw.SH_REF])
        elif nh:
            d, ref = 1, int(swings[t, sw.SH_REF])
        elif nl:
            d, ref = -1, int(swings[t, sw.SL_REF])
        top, bot = swings[t, sw.LAST_H], swings[t, sw.LAST_L]
        if d == 0 or not top - bot > 0:
            continue
        lo = bars[:, CLOSE] if use_close else bars[:, LOW]
        hi = bars[:, CLOSE] if use_close else bars[:, HIGH]
        pct = (top - lo[ref : t + 1]) if d > 0 else (hi[ref : t + 1] - bot)
        pct = pct / (top - bot) * 100
        cur[t], deep[t] = pct[-1], pct.max()
    return np.column_stack([cur, deep])


@pytest.mark.parametrize("length", [2, 5, 50])
@pytest.mark.parametrize("params", [DEFAULT, CLOSE_P])
def test_real_data_matches_reference(length: int, params: rt.RetracementParams) -> None:
    bars = load_bars()[:8000]
    swings = sw.run(bars, length, length)
    out = rt.run(bars, swings, params)
    ref = _reference(bars, swings, params.retracement_use_close)
    np.testing.assert_allclose(out[:, [rt.CURRENT, rt.DEEPEST]], ref, rtol=1e-12, atol=1e-9)
    ok = ~np.isnan(out[:, rt.CURRENT])
    assert ok.mean() > 0.9
    assert (out[ok, rt.DEEPEST] >= out[ok, rt.CURRENT]).all()
    has = out[:, rt.REF] >= 0
    assert (out[has, rt.REF] <= np.flatnonzero(has) - length).all()  # pivot known R bars later
    assert set(np.unique(out[:, rt.DIR])) <= {-1.0, 0.0, 1.0}


def test_live_stream_equals_batch() -> None:
    """The live path (``SMCStream``: every concept's ``step`` in one fused call per bar)
    equals batch on every row and column."""
    bars = load_bars()
    for length, params in ((5, DEFAULT), (50, CLOSE_P)):
        assert_stream_equals_batch(bars, swing_length=length, **params.model_dump())


def test_live_stream_equals_batch_other_files() -> None:
    for bars in other_files():
        assert_stream_equals_batch(bars, swing_length=10, **DEFAULT.model_dump())


@pytest.mark.causality
def test_prefix_property() -> None:
    bars = load_bars()
    assert_prefix_property(lambda b: _run(b, 3), bars[:1500], range(1500))
    cuts = np.random.default_rng(3).integers(0, bars.shape[0], 30)
    assert_prefix_property(lambda b: _run(b, 20, CLOSE_P), bars, cuts)


@pytest.mark.causality
@given(
    length=st.integers(1, 40),
    close=st.booleans(),
    start=st.integers(0, 30_000),
    cut=st.integers(0, 2_999),
)
def test_prefix_property_hypothesis(length: int, close: bool, start: int, cut: int) -> None:
    bars = load_bars()[start : start + 3000]
    params = rt.RetracementParams(retracement_use_close=close)
    assert_prefix_property(lambda b: _run(b, length, params), bars, [min(cut, len(bars) - 1)])


def test_bad_input_is_rejected() -> None:
    bars = make_bars(SEQ)
    with pytest.raises(ValueError, match="swing_out"):
        rt.run(bars, np.zeros((len(SEQ), 3)), DEFAULT)


def test_step_writes_every_column() -> None:
    """The batch buffer is np.empty: a row must not depend on what the buffer held."""
    bars = load_bars()[:3000]
    swings = sw.run(bars, 5, 5)
    out = np.full((3000, len(rt.COLUMNS)), 123.25)
    rt._run(bars, swings, False, rt.init_state(), out)
    assert_same(out, rt.run(bars, swings, DEFAULT))
