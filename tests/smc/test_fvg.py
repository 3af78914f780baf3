"""Fair value gaps: hand cases from docs/smc.md §3.2, mirror symmetry, stream == batch, prefix."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.smc import atr, fvg
from strategies.smc._common import CLOSE, HIGH, LOW, OPEN
from tests.causality import assert_prefix_property
from tests.smc.fvg_reference import reference
from tests.smc.helpers import assert_stream_equals_batch
from tests.smc.test_atr import (
    BTC_5M,
    ETH_1H,
    assert_int_columns_clean,
    assert_same,
    make_bars,
    real_bars,
)

C = {name: k for k, name in enumerate(fvg.COLUMNS)}

# bullish gap on row 2 (zone [11, 12], ref 1), then touched 4, CE 5, filled 6, inverted 7;
# the bearish IFVG is touched 9, CE 10, filled + invalidated 11. No other gap anywhere.
LIFECYCLE = [
    (10, 11, 9, 10.5),
    (10.5, 13, 10.5, 12.8),
    (12.8, 13.5, 12, 13.2),
    (13.2, 13.4, 12.2, 12.5),
    (12.5, 12.9, 11.8, 12.0),
    (12.0, 12.3, 11.4, 11.6),
    (11.6, 11.9, 10.9, 11.2),
    (11.2, 11.5, 10.6, 10.8),
    (10.8, 10.95, 10.5, 10.7),
    (10.7, 11.1, 10.6, 10.9),
    (10.9, 11.6, 10.8, 11.3),
    (11.3, 12.1, 11.05, 12.05),
]


def mirror(bars: np.ndarray) -> np.ndarray:
    """Price p -> 100 - p: highs become lows, every bullish rule becomes its bearish twin."""
    m = bars.copy()
    m[:, OPEN] = 100 - bars[:, OPEN]
    m[:, HIGH] = 100 - bars[:, LOW]
    m[:, LOW] = 100 - bars[:, HIGH]
    m[:, CLOSE] = 100 - bars[:, CLOSE]
    return m


def detect(bars: np.ndarray, **kw: object) -> np.ndarray:
    return fvg.run(bars, atr.run(bars, atr.Params(atr_period=3)), fvg.Params(**kw))  # type: ignore[arg-type]


def col(out: np.ndarray, name: str) -> np.ndarray:
    return out[:, C[name]]


def rows_where(out: np.ndarray, name: str) -> list[int]:
    return [int(k) for k in np.flatnonzero(col(out, name) != 0)]


def test_bullish_lifecycle_by_hand() -> None:
    out = detect(make_bars(LIFECYCLE))
    assert rows_where(out, "fvg_dir") == [2]
    assert (out[2, C["fvg_dir"]], out[2, C["fvg_ref"]]) == (1, 1)
    assert (out[2, C["fvg_bottom"]], out[2, C["fvg_top"]]) == (11, 12)
    for event, row in [("touched", 4), ("ce", 5), ("filled", 6), ("inverted", 7)]:
        assert rows_where(out, f"fvg_{event}") == [row], event
        assert out[row, C[f"fvg_{event}_ref"]] == 1
    assert out[7, C["fvg_inverted_dir"]] == -1
    assert (out[7, C["fvg_inverted_bottom"]], out[7, C["fvg_inverted_top"]]) == (11, 12)
    for event, row in [("touched", 9), ("ce", 10), ("filled", 11), ("invalidated", 11)]:
        assert rows_where(out, f"fvg_inv_{event}") == [row], event
        assert out[row, C[f"fvg_inv_{event}_ref"]] == 1
    # state: the unfilled bullish zone rows 2..5, the bearish IFVG rows 7..10 (unfilled)
    assert list(np.flatnonzero(col(out, "fvg_n_bull"))) == [2, 3, 4, 5]
    assert np.all(col(out, "fvg_bull_top")[2:6] == 12) and np.all(
        col(out, "fvg_bull_ref")[2:6] == 1
    )
    assert np.isnan(col(out, "fvg_bull_top")[6:]).all()
    assert list(np.flatnonzero(col(out, "fvg_inv_n_bear"))) == [7, 8, 9, 10]
    assert np.all(col(out, "fvg_inv_bear_bottom")[7:11] == 11)
    assert np.isnan(col(out, "fvg_inv_bear_top")[11])
    assert np.all(col(out, "fvg_ref")[[0, 1, 3]] == -1)


def test_bearish_is_the_mirror() -> None:
    bars = make_bars(LIFECYCLE)
    up, down = detect(bars), detect(mirror(bars))
    assert out_dir(down) == [(2, -1)]
    assert (down[2, C["fvg_bottom"]], down[2, C["fvg_top"]]) == (88, 89)
    assert col(down, "fvg_inverted_dir")[7] == 1
    for name in fvg.COLUMNS:
        if name.endswith(("_top", "_bottom", "_dir")) or "bull" in name or "bear" in name:
            continue
        assert_same(col(up, name), col(down, name))
    assert_same(col(up, "fvg_n_bull"), col(down, "fvg_n_bear"))
    assert_same(col(up, "fvg_inv_n_bear"), col(down, "fvg_inv_n_bull"))


def out_dir(out: np.ndarray) -> list[tuple[int, int]]:
    return [(r, int(col(out, "fvg_dir")[r])) for r in rows_where(out, "fvg_dir")]


def test_gap_must_be_strict_and_middle_rule() -> None:
    touching = [(10, 11, 9, 10.5), (10.5, 13, 10.5, 12.8), (12.8, 13.5, 11, 13.2)]
    assert rows_where(detect(make_bars(touching)), "fvg_dir") == []
    bearish_middle = [(10, 11, 9, 10.5), (12.9, 13, 10.5, 12.5), (12.8, 13.5, 12, 13.2)]
    assert out_dir(detect(make_bars(bearish_middle))) == [(2, 1)]
    assert out_dir(detect(make_bars(bearish_middle), fvg_middle_dir=True)) == []
    assert out_dir(detect(make_bars(LIFECYCLE[:3]), fvg_middle_dir=True)) == [(2, 1)]


def test_size_filter_uses_atr_at_t() -> None:
    bars = make_bars(LIFECYCLE)  # ATR(3) at row 2: true ranges 2, 2.5, 1.5 -> 2.0; gap size 1
    assert out_dir(detect(bars, fvg_min_atr=0.5)) == [(2, 1)]
    assert out_dir(detect(bars, fvg_min_atr=0.51)) == []
    early = make_bars(LIFECYCLE)  # with ATR(14) still NaN at row 2 a filter rejects the gap
    a = atr.run(early)
    assert rows_where(fvg.run(early, a, fvg.Params(fvg_min_atr=0.01)), "fvg_dir") == []


def test_consecutive_gaps_merge_on_the_second_row() -> None:
    rows = [(10, 11, 9, 10.5), (10.5, 13, 10.5, 12.8), (12.8, 15, 12, 14.8), (14.8, 17, 14, 16.5)]
    merged, apart = detect(make_bars(rows)), detect(make_bars(rows), fvg_merge=False)
    assert out_dir(merged) == out_dir(apart) == [(2, 1), (3, 1)]
    assert_same(merged[:3], apart[:3])  # row 2 is written once and stays
    assert rows_where(merged, "fvg_merged") == [3] and rows_where(apart, "fvg_merged") == []
    assert (merged[3, C["fvg_merged_bottom"]], merged[3, C["fvg_merged_top"]]) == (11, 14)
    assert merged[3, C["fvg_merged_ref"]] == 1
    assert (merged[3, C["fvg_n_bull"]], apart[3, C["fvg_n_bull"]]) == (1, 2)
    assert (merged[3, C["fvg_bull_bottom"]], merged[3, C["fvg_bull_ref"]]) == (11, 1)
    assert (apart[3, C["fvg_bull_bottom"]], apart[3, C["fvg_bull_ref"]]) == (13, 2)


def test_capacity_evicts_the_oldest() -> None:
    rows = [(10, 11, 9, 10.5), (10.5, 13, 10.5, 12.8), (12.8, 15, 12, 14.8), (14.8, 17, 14, 16.5)]
    assert detect(make_bars(rows), fvg_merge=False, fvg_max_active=1)[3, C["fvg_n_bull"]] == 1


def test_new_gaps_match_the_definition_on_real_data() -> None:
    bars = real_bars(BTC_5M)
    out = fvg.run(bars, atr.run(bars), fvg.Params(fvg_merge=False))
    h, lo = bars[:, HIGH], bars[:, LOW]
    bull = np.zeros(len(bars), bool)
    bear = np.zeros(len(bars), bool)
    bull[2:] = lo[2:] > h[:-2]
    bear[2:] = h[2:] < lo[:-2]
    assert_same(col(out, "fvg_dir"), bull.astype(float) - bear.astype(float))
    assert 0.05 < (bull | bear).mean() < 0.5
    ev = col(out, "fvg_dir") != 0
    assert np.all(col(out, "fvg_ref")[ev] == np.flatnonzero(ev) - 1)  # lag exactly 1
    assert np.all(col(out, "fvg_top")[ev] > col(out, "fvg_bottom")[ev])
    rows = np.arange(len(bars))
    for name in ("touched", "ce", "filled", "inverted", "inv_touched", "inv_invalidated"):
        hit = col(out, f"fvg_{name}") > 0
        assert hit.sum() > 0, name
        assert np.all(col(out, f"fvg_{name}_ref")[hit] <= rows[hit] - 2), name  # next bar at least
    have = ~np.isnan(col(out, "fvg_bull_bottom"))
    assert np.all(col(out, "fvg_bull_bottom")[have] <= bars[have, CLOSE])
    have = ~np.isnan(col(out, "fvg_bear_top"))
    assert np.all(col(out, "fvg_bear_top")[have] >= bars[have, CLOSE])
    assert np.all(col(out, "fvg_n_bull") <= 64) and np.all(col(out, "fvg_n_bear") <= 64)


def test_mirror_symmetry_on_real_data() -> None:
    bars = real_bars(ETH_1H, 6000)
    up, down = detect(bars), detect(mirror(bars))
    assert_same(col(up, "fvg_dir"), -col(down, "fvg_dir"))
    for event in ("touched", "ce", "filled", "inverted", "inv_touched", "inv_invalidated"):
        assert_same(col(up, f"fvg_{event}"), col(down, f"fvg_{event}"))
    assert_same(col(up, "fvg_n_bull"), col(down, "fvg_n_bear"))


@pytest.mark.parametrize("path", [BTC_5M, ETH_1H])
def test_live_stream_equals_batch(path: object) -> None:
    """The live path (``SMCStream``: every concept's ``step`` in one fused call per bar)
    equals batch on every row and column."""
    assert_stream_equals_batch(real_bars(path), fvg_min_atr=0.1, fvg_merge=False)


@pytest.mark.causality
def test_prefix_property_every_t_and_random_cuts() -> None:
    bars = real_bars(BTC_5M, 1500)
    assert_prefix_property(lambda b: fvg.run(b, atr.run(b)), bars, range(len(bars)))
    long = real_bars(BTC_5M)
    cuts = np.random.default_rng(1).integers(0, len(long), 25)
    assert_prefix_property(lambda b: fvg.run(b, atr.run(b)), long, cuts)


@pytest.mark.causality
@given(
    st.integers(0, 5999),
    st.booleans(),
    st.booleans(),
    st.sampled_from([0.0, 0.05, 0.5]),
    st.integers(1, 8),
)
def test_prefix_property_any_params(t: int, middle: bool, merge: bool, k: float, cap: int) -> None:
    bars = real_bars(ETH_1H, 6000)
    p = fvg.Params(fvg_middle_dir=middle, fvg_merge=merge, fvg_min_atr=k, fvg_max_active=cap)
    assert_prefix_property(lambda b: fvg.run(b, atr.run(b), p), bars, [t])


def test_bad_dependency_is_named() -> None:
    bars = make_bars(LIFECYCLE)
    with pytest.raises(ValueError, match="atr_out"):
        fvg.run(bars, np.zeros((3, 1)))


def test_int_columns_are_whole_numbers() -> None:
    bars = real_bars(BTC_5M)
    out = fvg.run(bars, atr.run(bars))
    assert_int_columns_clean(out, fvg.COLUMNS, fvg.INT_COLUMNS)


def tick_walk(n: int, seed: int, tick: float) -> np.ndarray:
    """A random walk on a coarse price grid: many equal levels (tie-breaks) and many gaps."""
    rng = np.random.default_rng(seed)
    c = 100 + np.cumsum(rng.normal(0, 0.3, n))
    o = np.concatenate([[100.0], c[:-1]])
    h = np.maximum(o, c) + np.abs(rng.normal(0, 0.2, n))
    lo = np.minimum(o, c) - np.abs(rng.normal(0, 0.2, n))
    o, h, lo, c = (np.round(x / tick) * tick for x in (o, h, lo, c))
    h, lo = np.maximum.reduce([h, o, c]), np.minimum.reduce([lo, o, c])
    return make_bars(list(zip(o, h, lo, c, strict=True)))


def by_steps(bars: np.ndarray, a: np.ndarray, p: fvg.Params, chunks: list[int]) -> np.ndarray:
    """Rows written by ``fvg.step`` one bar at a time (``chunks`` empty) or by ``fvg.rows`` over
    the chunks ``[chunks[k], chunks[k + 1])`` (as detect()'s fused batch and the stream call it)."""
    out = np.full((len(bars), len(fvg.COLUMNS)), 7.5)  # a sentinel no step writes
    tabs, meta, snap = fvg.init_state(p)
    args = (bars, a, p.fvg_middle_dir, p.fvg_min_atr, p.fvg_merge, tabs, meta, snap, out)
    if not chunks:
        for i in range(len(bars)):
            fvg.step(i, *args)
    for i0, i1 in zip(chunks[:-1], chunks[1:], strict=True):
        fvg.rows(i0, i1, *args)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_rows_in_any_chunks_equal_step_per_bar_and_run(seed: int) -> None:
    """``rows`` (one call per chunk, the fused graph's entry) writes exactly what ``step`` bar by
    bar and ``run`` write, whatever the chunk boundaries, with evictions, merges and ties."""
    rng = np.random.default_rng(seed)
    bars = tick_walk(3000, seed, tick=(0.1, 0.5)[seed % 2])
    a = atr.run(bars, atr.Params(atr_period=3))
    for p in (
        fvg.Params(),
        fvg.Params(fvg_max_active=1 + seed, fvg_merge=seed % 2 == 0),
        fvg.Params(fvg_max_active=3, fvg_middle_dir=True, fvg_min_atr=0.2),
    ):
        batch = fvg.run(bars, a, p)
        cuts = sorted({0, len(bars), *(int(x) for x in rng.integers(1, len(bars), 40))})
        assert_same(by_steps(bars, a, p, []), batch)
        assert_same(by_steps(bars, a, p, cuts), batch)
        # negative control: chunks that overlap by one row (a new gap's bar, stepped twice)
        gap = int(np.flatnonzero(batch[:, C["fvg_dir"]])[10])
        overlap = np.full_like(batch, 7.5)
        tabs, meta, snap = fvg.init_state(p)
        args = (bars, a, p.fvg_middle_dir, p.fvg_min_atr, p.fvg_merge, tabs, meta, snap, overlap)
        fvg.rows(0, gap + 1, *args)
        fvg.rows(gap, len(bars), *args)
        assert not np.array_equal(overlap, batch, equal_nan=True)


@pytest.mark.parametrize("seed", range(3))
def test_kernel_equals_plain_reference(seed: int) -> None:
    """Every column equals ``fvg_reference`` (every zone looked at on every bar, the state
    recomputed every row): the trigger prices, the cached nearest zone and its runner-up are
    shortcuts only. Coarse ticks give tied levels; small tables evict all the time."""
    bars = tick_walk(1000, seed, tick=(0.1, 0.5, 0.2)[seed])
    a = atr.run(bars, atr.Params(atr_period=3))
    for p in (
        fvg.Params(),
        fvg.Params(fvg_max_active=1 + seed, fvg_merge=seed != 1),
        fvg.Params(fvg_max_active=4, fvg_middle_dir=True, fvg_min_atr=0.1),
    ):
        assert_same(fvg.run(bars, a, p), reference(bars, a, p))


def test_reference_control_tie_rule_matters() -> None:
    """Negative control: the reference with the nearest-zone tie rule reversed (oldest wins)
    differs from the kernel on tied levels, so the comparison above sees tie-breaks."""
    bars = tick_walk(1000, 0, tick=0.5)
    a = atr.run(bars, atr.Params(atr_period=3))
    p = fvg.Params(fvg_max_active=8)
    assert not np.array_equal(fvg.run(bars, a, p), reference(bars, a, p, ties_newest=False))
