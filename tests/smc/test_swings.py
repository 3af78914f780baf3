"""Causal swing highs/lows: definition, confirmation lag, stream == batch, prefix property."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.smc import swings
from tests.causality import assert_prefix_property, prefix_failure
from tests.smc.helpers import assert_stream_equals_batch, frame_bars, load_frame, make_bars
from tests.smc.lookahead import peeking_swings


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


def test_live_stream_equals_batch_on_real_data() -> None:
    """The live path (``SMCStream``: every concept's ``step`` in one fused call per bar)
    equals batch on every row and column."""
    assert_stream_equals_batch(load_frame(), swing_length=5, internal_length=3)


def every_cut_failure(run: Callable[[np.ndarray, int, int], np.ndarray] = swings.run) -> str | None:
    """The prefix check at every cut of 1,500 real bars (None = it holds)."""
    bars = frame_bars(load_frame().iloc[:1500])
    return prefix_failure(lambda b: run(b, 5, 5), bars, range(bars.shape[0]))


@pytest.mark.causality
def test_prefix_property_every_cut_on_first_1500_bars() -> None:
    found = every_cut_failure()
    assert found is None, found


@pytest.mark.causality
@pytest.mark.parametrize("guarded", [False, True], ids=["reads-past-the-end", "guarded"])
def test_negative_control_a_one_bar_look_ahead_fails_the_same_check(guarded: bool) -> None:
    """Concept-kernel layer: the check above flags a swing kernel that reads bar i + 1 (past the
    end of a prefix copy: bounds check; stopping at the last bar: a changed last row)."""
    found = every_cut_failure(peeking_swings(guarded))
    assert found is not None
    assert ("out-of-bounds" in found) is not guarded, found


@pytest.mark.causality
@given(left=st.integers(1, 20), right=st.integers(1, 20), cut=st.integers(0, 38_000))
def test_prefix_property_random_params_and_cuts(left: int, right: int, cut: int) -> None:
    bars = frame_bars(load_frame())
    cuts = [min(cut, len(bars) - 1)]
    assert_prefix_property(lambda b: swings.run(b, left, right), bars, cuts)
