"""Causal swing highs/lows: definition, confirmation lag, stream == batch, prefix property."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.smc import swings
from strategies.smc._common import GrowableRows
from tests.smc.helpers import frame_bars, load_frame, make_bars


def test_swing_high_is_known_right_bars_after_the_pivot() -> None:
    #            0  1  2  3  4  5  6
    highs = [1, 2, 5, 3, 2, 1, 1]
    lows = [0.5] * 7
    out = swings.run(make_bars(highs, lows), left=2, right=2)
    # pivot at bar 2 (5 > 1, 2 on the left; >= 3, 2 on the right) known at bar 4
    assert out[:, swings.SH].tolist() == [0, 0, 0, 0, 1, 0, 0]
    assert out[4, swings.SH_REF] == 2 and out[4, swings.SH_LVL] == 5
    assert np.all(np.isnan(out[:4, swings.LAST_H]))
    assert np.all(out[4:, swings.LAST_H] == 5)


def test_plateau_gives_one_pivot_on_its_first_bar() -> None:
    highs = [1, 2, 5, 5, 2, 1, 1]
    out = swings.run(make_bars(highs, [0.5] * 7), left=2, right=2)
    assert out[:, swings.SH].sum() == 1
    assert out[4, swings.SH_REF] == 2  # bar 3 fails the strict-left rule


def test_right_side_break_cancels_pivot() -> None:
    highs = [1, 2, 5, 3, 6, 1, 1]
    out = swings.run(make_bars(highs, [0.5] * 7), left=2, right=2)
    assert out[4, swings.SH] == 0


def test_lows_mirror_highs_and_kinds() -> None:
    lows = [5, 4, 1, 3, 4, 2, 3, 4, 4]
    highs = [x + 1 for x in lows]
    out = swings.run(make_bars(highs, lows), left=1, right=1)
    idx = np.flatnonzero(out[:, swings.SL])
    assert out[idx, swings.SL_REF].tolist() == [2, 5]
    assert out[idx, swings.SL_KIND].tolist() == [
        0,
        1,
    ]  # second low (2) is higher than the first (1)


def test_no_swing_in_first_left_or_last_right_bars() -> None:
    bars = frame_bars(load_frame().iloc[:2000])
    out = swings.run(bars, 5, 5)
    assert out[:10, swings.SH].sum() == 0  # earliest possible known row is left + right
    refs = out[out[:, swings.SH] == 1, swings.SH_REF]
    rows = np.flatnonzero(out[:, swings.SH] == 1)
    assert np.all(rows - refs == 5)


def test_rejects_bad_lengths() -> None:
    with pytest.raises(ValueError, match="swing lengths"):
        swings.run(make_bars([1, 2], [0, 1]), 0, 3)


def test_stream_equals_batch_on_real_data() -> None:
    bars = frame_bars(load_frame())
    batch = swings.run(bars, 5, 5)
    stream = swings.SwingStream(5, 5)
    buf = GrowableRows(bars.shape[1], capacity=16)
    for i in range(bars.shape[0]):
        b = buf.ensure(i + 1)
        b[i] = bars[i]
        stream.update(i, b)
    np.testing.assert_array_equal(stream.out[: bars.shape[0]], batch)


def test_prefix_property_every_cut_on_first_1500_bars() -> None:
    bars = frame_bars(load_frame().iloc[:1500])
    full = swings.run(bars, 5, 5)
    for t in range(bars.shape[0]):
        np.testing.assert_array_equal(swings.run(bars[: t + 1], 5, 5), full[: t + 1])


@given(left=st.integers(1, 20), right=st.integers(1, 20), cut=st.integers(0, 38_000))
def test_prefix_property_random_params_and_cuts(left: int, right: int, cut: int) -> None:
    bars = frame_bars(load_frame())
    full = swings.run(bars, left, right)
    np.testing.assert_array_equal(swings.run(bars[: cut + 1], left, right), full[: cut + 1])
