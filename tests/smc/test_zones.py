"""Premium / discount / equilibrium and OTE (smc.md §3.9)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from strategies.smc import swings as sw
from strategies.smc import zones as zn
from strategies.smc._common import CLOSE
from tests.causality import assert_prefix_property
from tests.smc.helpers import assert_stream_equals_batch
from tests.smc.test_structure import SEQ, assert_same, load_bars, make_bars, other_files

DEFAULT = zn.ZoneParams()


def _run(bars: np.ndarray, length: int = 1, params: zn.ZoneParams = DEFAULT) -> np.ndarray:
    return zn.run(bars, sw.run(bars, length, length), params)


def test_hand_made_sequence() -> None:
    rows = list(SEQ)
    rows[7] = (12.9, 10.5, 10.6)  # still no swing low at 7 (bar 8's low 9 is lower)
    out = _run(make_bars(rows))
    # bar 3: only the high 12 is known -> no range
    assert out[3, zn.HI] == 12 and np.isnan(out[3, zn.LO]) and np.isnan(out[3, zn.POSITION])
    assert out[3, zn.LEG] == 0 and out[3, zn.IN_OTE] == 0
    # bar 4: [9.5, 12], eq 10.75, band 0.025 * 2.5 = 0.0625; close 10.5 -> discount
    assert (out[4, zn.LO], out[4, zn.LO_REF], out[4, zn.HI_REF]) == (9.5, 3, 2)
    assert out[4, zn.EQ] == 10.75 and out[4, zn.POSITION] == -1
    assert out[4, zn.PCT] == pytest.approx(40.0)
    # latest swing is the low (3 > 2): down-leg, OTE = lo + f * 2.5
    assert out[4, zn.LEG] == -1
    assert out[4, zn.OTE_SHALLOW] == pytest.approx(9.5 + 0.618 * 2.5)
    assert out[4, zn.OTE_DEEP] == pytest.approx(9.5 + 0.786 * 2.5)
    assert out[4, zn.IN_OTE] == 0  # 10.5 < 11.045
    assert out[5, zn.POSITION] == 1  # close 12.2 > 10.8125: premium
    # bar 7: high 13 (pivot 6) confirmed: up-leg [9.5, 13], OTE = 13 - f * 3.5
    assert out[7, zn.LEG] == 1 and out[7, zn.EQ] == 11.25
    assert out[7, zn.OTE_SHALLOW] == pytest.approx(13 - 0.618 * 3.5)  # 10.837
    assert out[7, zn.OTE_MID] == pytest.approx(13 - 0.705 * 3.5)
    assert out[7, zn.OTE_DEEP] == pytest.approx(13 - 0.786 * 3.5)  # 10.249
    assert out[7, zn.IN_OTE] == 1  # close 10.6
    assert out[8, zn.IN_OTE] == 0  # close 9.2 below the deep level
    # equilibrium band on the original bar 7 (close 11.2)
    eq = _run(make_bars(SEQ))
    assert eq[7, zn.POSITION] == 0  # |11.2 - 11.25| = 0.05 <= 0.0875
    no_band = _run(make_bars(SEQ), params=zn.ZoneParams(zone_equilibrium_band=0.0))
    assert no_band[7, zn.POSITION] == -1


def test_outside_pivot_has_no_leg() -> None:
    bars = make_bars([(10.0, 9.0, 9.5), (12.0, 8.0, 10.0), (11.0, 9.0, 10.5)])
    out = _run(bars)
    assert out[2, zn.HI_REF] == out[2, zn.LO_REF] == 1
    assert out[2, zn.POSITION] == 1  # 10.5 > 10 + 0.1
    assert out[2, zn.LEG] == 0 and np.isnan(out[2, zn.OTE_MID]) and out[2, zn.IN_OTE] == 0


def test_params_validated() -> None:
    with pytest.raises(ValidationError, match="shallow <= mid <= deep"):
        zn.ZoneParams(zone_ote_shallow=0.8)
    with pytest.raises(ValidationError):
        zn.ZoneParams(zone_equilibrium_band=0.7)
    with pytest.raises(ValueError, match="swing_out"):
        zn.run(make_bars(SEQ), np.zeros((2, len(sw.COLUMNS))), DEFAULT)


@pytest.mark.parametrize("length", [3, 50])
def test_real_data_matches_vectorised_reference(length: int) -> None:
    bars = load_bars()
    swings = sw.run(bars, length, length)
    out = zn.run(bars, swings, DEFAULT)
    hi, lo = swings[:, sw.LAST_H], swings[:, sw.LAST_L]
    hr, lr = swings[:, sw.LAST_H_REF], swings[:, sw.LAST_L_REF]
    c = bars[:, CLOSE]
    with np.errstate(invalid="ignore"):
        ok = hi - lo > 0
        eq = (hi + lo) / 2
        pos = np.where(
            c > eq + 0.025 * (hi - lo), 1.0, np.where(c < eq - 0.025 * (hi - lo), -1.0, 0.0)
        )
        up = ok & (hr > lr)
        dn = ok & (hr < lr)
        deep = np.where(up, hi - 0.786 * (hi - lo), lo + 0.786 * (hi - lo))
        shallow = np.where(up, hi - 0.618 * (hi - lo), lo + 0.618 * (hi - lo))
        inside = (up & (deep <= c) & (c <= shallow)) | (dn & (shallow <= c) & (c <= deep))
    assert ok.mean() > 0.9
    np.testing.assert_array_equal(out[:, zn.POSITION], np.where(ok, pos, np.nan))
    np.testing.assert_array_equal(out[:, zn.EQ], np.where(ok, eq, np.nan))
    np.testing.assert_array_equal(out[:, zn.LEG], np.where(up, 1.0, np.where(dn, -1.0, 0.0)))
    np.testing.assert_array_equal(out[:, zn.IN_OTE], inside.astype(float))
    np.testing.assert_array_equal(out[:, zn.OTE_DEEP], np.where(up | dn, deep, np.nan))
    assert 0.03 < out[:, zn.IN_OTE].mean() < 0.5  # the rule fires, not always
    has = out[:, zn.HI_REF] >= 0
    assert (out[has, zn.HI_REF] <= np.flatnonzero(has) - length).all()  # ref known R bars later


def test_live_stream_equals_batch() -> None:
    """The live path (``SMCStream``: every concept's ``step`` in one fused call per bar)
    equals batch on every row and column."""
    params = zn.ZoneParams(zone_equilibrium_band=0.1, zone_ote_shallow=0.5)
    assert_stream_equals_batch(load_bars(), swing_length=20, **params.model_dump())


def test_live_stream_equals_batch_other_files() -> None:
    for bars in other_files():
        assert_stream_equals_batch(bars, swing_length=10, **DEFAULT.model_dump())


@pytest.mark.causality
def test_prefix_property() -> None:
    bars = load_bars()
    assert_prefix_property(lambda b: _run(b, 3), bars[:1500], range(1500))
    cuts = np.random.default_rng(5).integers(0, bars.shape[0], 30)
    assert_prefix_property(lambda b: _run(b, 50), bars, cuts)


@pytest.mark.causality
@given(
    length=st.integers(1, 60),
    band=st.floats(0.0, 0.5),
    start=st.integers(0, 30_000),
    cut=st.integers(0, 2_999),
)
def test_prefix_property_hypothesis(length: int, band: float, start: int, cut: int) -> None:
    bars = load_bars()[start : start + 3000]
    params = zn.ZoneParams(zone_equilibrium_band=band)
    assert_prefix_property(lambda b: _run(b, length, params), bars, [min(cut, len(bars) - 1)])


def test_step_writes_every_column() -> None:
    """The batch buffer is np.empty: a row must not depend on what the buffer held."""
    bars = load_bars()[:3000]
    swings = sw.run(bars, 5, 5)
    out = np.full((3000, len(zn.COLUMNS)), 123.25)
    zn._run(bars, swings, 0.025, 0.618, 0.705, 0.786, out)
    assert_same(out, zn.run(bars, swings, DEFAULT))
