"""Liquidity (docs/smc.md §3.5): equal highs/lows pools, sweeps with and without close-back,
breaks, mirror symmetry, stream == batch, prefix property."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.smc import atr, liquidity, periods, swings
from strategies.smc._common import CLOSE, HIGH, LOW, TIME, as_bars
from tests.causality import assert_prefix_property
from tests.smc.helpers import assert_stream_equals_batch
from tests.smc.test_atr import BTC_5M, ETH_1H, assert_int_columns_clean, assert_same, real_bars
from tests.smc.test_fvg import mirror

C = {name: k for k, name in enumerate(liquidity.COLUMNS)}

# (high, low, close); with L = R = 1: swing highs 1 (12), 4 (12.05), 6 (11.98), 8 (12.2);
# swing lows 2, 5, 7 (all 9)
SCENARIO = [
    (10, 9, 9.5), (12, 11, 11.5), (10, 9, 9.5), (11, 10, 10.5), (12.05, 11, 11.5),
    (10, 9, 9.5), (11.98, 11, 11.5), (10, 9, 9.5), (12.2, 11, 12.0), (10, 9, 9.5),
]  # fmt: skip


def make(rows: list[tuple[float, float, float]], step_ms: float = 60_000.0) -> np.ndarray:
    a = np.asarray(rows, float)
    t = 1_736_121_600_000 + step_ms * np.arange(len(a))  # 2025-01-06 00:00 UTC
    return as_bars(a[:, 2], a[:, 0], a[:, 1], a[:, 2], np.ones(len(a)), t)


def detect(
    bars: np.ndarray, unit_atr: bool = True, left: int = 1, right: int = 1, **kw: object
) -> np.ndarray:
    """ATR fixed at 1 in hand cases, so the tolerance is ``liq_tol_atr`` itself."""
    a = np.ones((len(bars), 1)) if unit_atr else atr.run(bars)
    return liquidity.run(
        bars,
        swings.run(bars, left, right),
        a,
        periods.run(bars),
        liquidity.Params(**kw),  # type: ignore[arg-type]
    )


def col(out: np.ndarray, name: str) -> np.ndarray:
    return out[:, C[name]]


def rows_where(out: np.ndarray, name: str) -> list[int]:
    return [int(k) for k in np.flatnonzero(col(out, name) != 0)]


def test_equal_highs_form_and_extend_a_pool_then_it_is_swept() -> None:
    out = detect(make(SCENARIO), liq_tol_atr=0.1)
    assert rows_where(out, "liq_eqh") == [5, 7]  # known at p2 + R
    assert [out[5, C[f"liq_eqh{f}"]] for f in ("", "_level", "_ref", "_first")] == [2, 12.05, 4, 1]
    assert [out[7, C[f"liq_eqh{f}"]] for f in ("", "_level", "_ref", "_first")] == [3, 12.05, 6, 1]
    assert list(col(out, "liq_bsl_near_level")[5:8]) == [12.05] * 3
    assert list(col(out, "liq_bsl_near_count")[5:8]) == [2, 2, 3]
    # bar 8: high 12.2 > 12.05 and close 12.0 < 12.05 -> sweep of the pool, known at 8
    assert rows_where(out, "liq_bsl_sweep") == [8] and rows_where(out, "liq_bsl_break") == []
    assert [out[8, C[f"liq_bsl_{f}"]] for f in ("level", "ref", "from")] == [12.05, 1, 8]
    assert np.isnan(col(out, "liq_bsl_near_level")[8]) and col(out, "liq_bsl_n")[8] == 0
    # the latest swing high (6, 11.98) is closed above on bar 8: a break, not a sweep
    assert rows_where(out, "liq_swing_high_break") == [8]
    # ... while bar 4 (12.05, close 11.5) swept the then-latest swing high 1 (12)
    assert rows_where(out, "liq_swing_high_sweep") == [4]
    assert [out[4, C[f"liq_swing_high_{f}"]] for f in ("level", "ref", "from")] == [12, 1, 4]
    assert out[8, C["liq_swing_high_ref"]] == 6 and out[8, C["liq_swing_high_level"]] == 11.98
    # equal lows 2, 5 (row 6) extended by 7 (row 8); level = group min
    assert rows_where(out, "liq_eql") == [6, 8]
    assert [out[8, C[f"liq_eql{f}"]] for f in ("", "_level", "_ref", "_first")] == [3, 9, 7, 2]


def test_tolerance_and_no_higher_high_between() -> None:
    # tol 0.06: the pair (1, 4) still forms, but 11.98 is 0.07 below the pool level 12.05
    assert rows_where(detect(make(SCENARIO), liq_tol_atr=0.06), "liq_eqh") == [5]
    # tol 0.04: 12 vs 12.05 too far apart; 11.98 vs 12 close enough, but 12.05 lies between
    # them above max(12, 11.98) + 0.04
    assert rows_where(detect(make(SCENARIO), liq_tol_atr=0.04), "liq_eqh") == []
    assert rows_where(detect(make(SCENARIO), liq_tol_atr=0.0), "liq_eqh") == []
    # ATR still NaN (period 14) -> no tolerance yet, no pool
    assert rows_where(detect(make(SCENARIO), unit_atr=False, liq_tol_atr=10), "liq_eqh") == []


def test_close_back_within_m_bars_is_a_sweep_else_a_break() -> None:
    rows = [*SCENARIO[:8], (12.2, 11, 12.1), (10, 9, 9.5)]  # bar 8 closes above the pool
    assert rows_where(detect(make(rows), liq_tol_atr=0.1), "liq_bsl_break") == [8]
    out = detect(make(rows), liq_tol_atr=0.1, liq_reclaim_bars=2)
    assert rows_where(out, "liq_bsl_break") == [] and rows_where(out, "liq_bsl_sweep") == [9]
    assert out[9, C["liq_bsl_from"]] == 8 and out[9, C["liq_bsl_ref"]] == 1
    assert col(out, "liq_bsl_n")[8] == 0  # pending: no longer an untaken pool above price
    held = [*SCENARIO[:8], (12.2, 11, 12.1), (12.4, 12.1, 12.3), (12.4, 12.1, 12.3), (12, 9, 9)]
    out = detect(make(held), liq_tol_atr=0.1, liq_reclaim_bars=2)
    assert rows_where(out, "liq_bsl_break") == [10] and rows_where(out, "liq_bsl_sweep") == []
    assert out[10, C["liq_bsl_from"]] == 8


def test_previous_day_high_sweep_on_the_day_s_first_bar() -> None:
    day1 = [(100 + (k == 7) * 10, 99, 100) for k in range(24)]  # high 110 at hour 7
    day2 = [(111, 105, 109), (109, 100, 101), (112, 100, 111)]
    out = detect(make(day1 + day2, step_ms=3_600_000.0))
    assert rows_where(out, "liq_pdh_sweep") == [24]  # 111 > 110, close 109 < 110
    assert [out[24, C[f"liq_pdh_{f}"]] for f in ("level", "ref", "from")] == [110, 7, 24]
    assert rows_where(out, "liq_pdh_break") == []  # taken: bar 26 does not count again
    assert rows_where(out, "liq_pdl_sweep") == rows_where(out, "liq_pdl_break") == []


def deps(bars: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return swings.run(bars, 5, 5), atr.run(bars), periods.run(bars)


def test_real_data_invariants() -> None:
    bars = real_bars(BTC_5M)
    s_out, a_out, p_out = deps(bars)
    out = liquidity.run(bars, s_out, a_out, p_out, liquidity.Params(liq_reclaim_bars=3))
    rows = np.arange(len(bars))
    for side, g in (("eqh", 1), ("eql", -1)):
        ev = col(out, f"liq_{side}") > 0
        assert ev.sum() > 20, side
        ref = col(out, f"liq_{side}_ref")[ev].astype(int)
        first = col(out, f"liq_{side}_first")[ev].astype(int)
        assert np.all(ref == rows[ev] - 5) and np.all(first < ref)  # lag R exactly
        price = bars[:, HIGH] if g > 0 else bars[:, LOW]
        tol = 0.1 * a_out[rows[ev], 0]
        new = col(out, f"liq_{side}")[ev] == 2
        assert np.all(np.abs(price[ref] - price[first])[new] <= tol[new])
        assert np.all(g * col(out, f"liq_{side}_level")[ev] >= g * price[ref])
    for tgt, g in (("bsl", 1), ("ssl", -1), ("swing_high", 1), ("swing_low", -1), ("pdh", 1)):
        sw = col(out, f"liq_{tgt}_sweep") > 0
        assert sw.sum() > 5, tgt
        frm = col(out, f"liq_{tgt}_from")[sw].astype(int)
        lvl = col(out, f"liq_{tgt}_level")[sw]
        assert np.all((frm <= rows[sw]) & (frm >= rows[sw] - 3))
        assert np.all(col(out, f"liq_{tgt}_ref")[sw] < rows[sw])
        extreme = bars[frm, HIGH] if g > 0 else bars[frm, LOW]
        assert np.all(g * extreme > g * lvl)  # traded beyond P on the `from` bar
        assert np.all(g * bars[sw, CLOSE] < g * lvl)  # closed back inside on the known bar
    near = ~np.isnan(col(out, "liq_bsl_near_level"))
    assert np.all(col(out, "liq_bsl_near_level")[near] >= bars[near, CLOSE])


def test_mirror_symmetry_on_real_data() -> None:
    bars = real_bars(ETH_1H, 6000)
    p = liquidity.Params(liq_reclaim_bars=2)
    up = liquidity.run(bars, *deps(bars), p)
    mb = mirror(bars)
    down = liquidity.run(mb, *deps(mb), p)
    pairs = [("eqh", "eql"), ("bsl", "ssl"), ("swing_high", "swing_low"), ("pdh", "pdl")]
    for a, b in pairs:
        for f in ("", "_ref", "_first", "_sweep", "_break", "_from", "_n", "_near_count"):
            if f"liq_{a}{f}" in C:
                assert_same(col(up, f"liq_{a}{f}"), col(down, f"liq_{b}{f}"))
                assert_same(col(up, f"liq_{b}{f}"), col(down, f"liq_{a}{f}"))


@pytest.mark.parametrize("path", [BTC_5M, ETH_1H])
def test_live_stream_equals_batch(path: object) -> None:
    """The live path (``SMCStream``: every concept's ``step`` in one fused call per bar)
    equals batch on every row and column."""
    assert_stream_equals_batch(real_bars(path), liq_reclaim_bars=3, liq_max_pools=4)


@pytest.mark.causality
def test_prefix_property_every_t() -> None:
    bars = real_bars(BTC_5M, 1500)
    p = liquidity.Params(liq_reclaim_bars=2)
    assert_prefix_property(lambda b: liquidity.run(b, *deps(b), p), bars, range(len(bars)))
    long = real_bars(BTC_5M)
    cuts = np.random.default_rng(3).integers(0, len(long), 25)
    assert_prefix_property(lambda b: liquidity.run(b, *deps(b), p), long, cuts)


@pytest.mark.causality
@given(
    st.integers(0, 5999),
    st.sampled_from([0.0, 0.05, 0.3]),
    st.integers(0, 4),
    st.integers(1, 4),
    st.integers(1, 4),
)
def test_prefix_property_any_params(t: int, k: float, m: int, pools: int, cands: int) -> None:
    bars = real_bars(ETH_1H, 6000)
    p = liquidity.Params(
        liq_tol_atr=k, liq_reclaim_bars=m, liq_max_pools=pools, liq_max_swings=cands
    )
    assert_prefix_property(lambda b: liquidity.run(b, *deps(b), p), bars, [t])


def test_bad_dependency_is_named() -> None:
    bars = make(SCENARIO)
    s_out, a_out, p_out = deps(bars)
    with pytest.raises(ValueError, match="periods_out"):
        liquidity.run(bars, s_out, a_out, p_out[:, :3])
    with pytest.raises(ValueError, match="swings_out"):
        liquidity.run(bars, s_out[:4], a_out, p_out)
    assert TIME == 5 and LOW == 2  # the bar layout the hand cases rely on


def test_int_columns_are_whole_numbers() -> None:
    bars = real_bars(BTC_5M)
    out = liquidity.run(bars, *deps(bars), liquidity.Params(liq_reclaim_bars=2))
    assert_int_columns_clean(out, liquidity.COLUMNS, liquidity.INT_COLUMNS)
