"""BOS / CHoCH state machine, trend, strong/weak levels (smc.md §3.3)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.smc import structure as ms
from strategies.smc import swings as sw
from strategies.smc._common import CLOSE, HIGH, LOW, OPEN, as_bars
from tests.causality import assert_prefix_property
from tests.conftest import MARKET, SMC_REFERENCE
from tests.smc.helpers import assert_stream_equals_batch

BTC_5M = MARKET / "hyperliquid_perp_2025" / "hyperliquid_BTCUSDC_5m.csv.gz"
ETH_15M = MARKET / "hyperliquid_perp_2025" / "hyperliquid_ETHUSDC_15m.csv.gz"
DEFAULT = ms.StructureParams()
WICK = ms.StructureParams(structure_wick_break=True)


@lru_cache(maxsize=4)
def load_bars(path: str = str(BTC_5M)) -> np.ndarray:
    """Real OHLCV file as the (n, 6) bar array (read-only, shared by the tests)."""
    df = pd.read_csv(path)
    bars = as_bars(
        df["open"].to_numpy(float),
        df["high"].to_numpy(float),
        df["low"].to_numpy(float),
        df["close"].to_numpy(float),
        df["volume"].to_numpy(float),
        df["timestamp"].to_numpy(float),
    )
    bars.flags.writeable = False
    return bars


@lru_cache(maxsize=1)
def load_eurusd() -> np.ndarray:
    """The golden-file input (EURUSD 15m, broker time taken as UTC) as the bar array."""
    df = pd.read_csv(SMC_REFERENCE / "EURUSD_15M.csv")
    t = pd.to_datetime(df["Date"], format="%Y.%m.%d %H:%M:%S").to_numpy("datetime64[ms]")
    bars = as_bars(
        *(df[c].to_numpy(float) for c in ("Open", "High", "Low", "Close", "Volume")),
        t.astype(np.int64).astype(float),
    )
    bars.flags.writeable = False
    return bars


def other_files() -> list[np.ndarray]:
    """Stream == batch must hold on every file: the golden input and another crypto file."""
    return [load_eurusd(), load_bars(str(ETH_15M))]


def make_bars(rows: list[tuple[float, ...]]) -> np.ndarray:
    """Bars from ``(h, l, c)`` (open = previous close) or ``(o, h, l, c)`` tuples."""
    o, h, lo, c = [], [], [], []
    for k, r in enumerate(rows):
        if len(r) == 3:
            op = r[2] if k == 0 else c[-1]
            r = (op, *r)
        o.append(r[0])
        h.append(r[1])
        lo.append(r[2])
        c.append(r[3])
    n = len(rows)
    return as_bars(
        np.array(o), np.array(h), np.array(lo), np.array(c), np.ones(n), np.arange(n) * 60_000.0
    )


def assert_same(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_array_equal(a, b)  # NaN == NaN, exact


# (h, l, c); L = R = 1. See test_hand_made_sequence for the derivation.
SEQ = [
    (10.0, 8.0, 9.0),  # 0
    (11.0, 9.0, 10.0),  # 1
    (12.0, 10.0, 11.0),  # 2  swing high p=2 (12), confirmed at 3
    (11.5, 9.5, 10.0),  # 3  swing low p=3 (9.5), confirmed at 4
    (11.0, 9.8, 10.5),  # 4
    (12.5, 10.5, 12.2),  # 5  close 12.2 > 12: bullish BOS (from none), ref 2
    (13.0, 12.0, 12.8),  # 6  swing high p=6 (13), confirmed at 7
    (12.9, 11.0, 11.2),  # 7
    (12.0, 9.0, 9.2),  # 8  close 9.2 < 9.5: bearish CHoCH, ref 3
    (10.0, 8.5, 9.5),  # 9  swing low p=9 (8.5), confirmed at 10
    (9.9, 8.8, 10.0),  # 10
    (9.5, 8.0, 8.2),  # 11 close 8.2 < 8.5: bearish BOS, ref 9; swing low p=11 (8) at 12
    (9.8, 8.1, 9.6),  # 12 swing high p=12 (9.8) confirmed at 13: replaces H = 13
    (9.4, 8.3, 8.6),  # 13
    (10.0, 8.5, 9.9),  # 14 close 9.9 > 9.8: bullish CHoCH, ref 12 (13 would not break)
]


def _run(bars: np.ndarray, length: int = 1, params: ms.StructureParams = DEFAULT) -> np.ndarray:
    return ms.run(bars, sw.run(bars, length, length), params)


def _events(out: np.ndarray) -> list[tuple[int, str, int, int, float]]:
    ev = []
    for i in range(out.shape[0]):
        for d, (k, lv, rf) in (
            ("bull", (ms.BULL_KIND, ms.BULL_LVL, ms.BULL_REF)),
            ("bear", (ms.BEAR_KIND, ms.BEAR_LVL, ms.BEAR_REF)),
        ):
            if out[i, k] != ms.NO_BREAK:
                ev.append((i, d, int(out[i, k]), int(out[i, rf]), float(out[i, lv])))
    return ev


def test_hand_made_sequence() -> None:
    bars = make_bars(SEQ)
    swings = sw.run(bars, 1, 1)
    # the swings the derivation relies on
    assert [int(swings[i, sw.SH_REF]) for i in np.flatnonzero(swings[:, sw.SH])] == [2, 6, 12]
    assert [int(swings[i, sw.SL_REF]) for i in np.flatnonzero(swings[:, sw.SL])] == [3, 9, 11]
    out = ms.run(bars, swings, DEFAULT)
    BOS, CHOCH = int(ms.BOS), int(ms.CHOCH)
    assert _events(out) == [
        (5, "bull", BOS, 2, 12.0),
        (8, "bear", CHOCH, 3, 9.5),
        (11, "bear", BOS, 9, 8.5),
        (14, "bull", CHOCH, 12, 9.8),
    ]
    trend = out[:, ms.TREND].tolist()
    assert trend == [0] * 5 + [1] * 3 + [-1] * 6 + [1]
    # H consumed at 5, replaced at 7 (p=6), replaced at 13 by the lower p=12, consumed at 14
    assert out[:, ms.HIGH_REF].tolist() == [-1] * 3 + [2] * 2 + [-1] * 2 + [6] * 6 + [12, -1]
    # Lo consumed at 8, set at 10 (p=9), consumed at 11, set at 12 (p=11, never broken)
    assert out[:, ms.LOW_REF].tolist() == [-1] * 4 + [3] * 4 + [-1] * 2 + [9, -1] + [11] * 3
    # strong/weak after the bullish BOS at 5 (pivot 2): lowest low in [2, 5] = 9.5 @ 3
    assert out[5, ms.STRONG_LOW] == 9.5 and out[5, ms.STRONG_LOW_REF] == 3
    assert out[5, ms.WEAK_HIGH] == 12.5 and out[5, ms.WEAK_HIGH_REF] == 5
    assert out[7, ms.WEAK_HIGH] == 13.0 and out[7, ms.WEAK_HIGH_REF] == 6  # running max
    assert np.isnan(out[5, ms.STRONG_HIGH]) and out[5, ms.WEAK_LOW_REF] == -1
    # after the bearish CHoCH at 8 (pivot 3): highest high in [3, 8] = 13 @ 6; weak low runs
    assert out[8, ms.STRONG_HIGH] == 13.0 and out[8, ms.STRONG_HIGH_REF] == 6
    assert np.isnan(out[8, ms.STRONG_LOW]) and out[8, ms.WEAK_HIGH_REF] == -1
    assert (out[8, ms.WEAK_LOW], out[9, ms.WEAK_LOW], out[9, ms.WEAK_LOW_REF]) == (9.0, 8.5, 9)
    # bearish BOS at 11 (pivot 9): highest high in [9, 11] = 10 @ 9
    assert out[11, ms.STRONG_HIGH] == 10.0 and out[11, ms.STRONG_HIGH_REF] == 9
    assert out[13, ms.WEAK_LOW] == 8.0 and out[13, ms.WEAK_LOW_REF] == 11
    # bullish CHoCH at 14 (pivot 12): lowest low in [12, 14] = 8.1 @ 12
    assert out[14, ms.STRONG_LOW] == 8.1 and out[14, ms.STRONG_LOW_REF] == 12
    for i, _, _, ref, _ in _events(out):
        assert i - ref >= 1 + 1  # lag >= R + 1


def test_close_vs_wick_break() -> None:
    rows = list(SEQ[:6])
    rows[5] = (12.5, 10.5, 11.9)  # wick above 12, close below
    bars = make_bars(rows)
    assert _events(_run(bars)) == []
    assert _events(_run(bars, params=WICK)) == [(5, "bull", int(ms.BOS), 2, 12.0)]
    rows[5] = (11.9, 9.4, 10.0)  # wick below Lo 9.5, close above
    bars = make_bars(rows)
    assert _events(_run(bars)) == []
    assert _events(_run(bars, params=WICK)) == [(5, "bear", int(ms.BOS), 3, 9.5)]


def test_swing_confirmed_on_the_bar_replaces_h_before_the_close_is_compared() -> None:
    rows = [
        (10.0, 8.0, 9.0),
        (12.0, 9.0, 11.0),  # swing high p=1 (12), confirmed at 2
        (11.0, 9.5, 10.0),
        (14.0, 10.0, 11.5),  # wick above 12, close below: no break; swing high p=3 (14)
        (13.0, 11.0, 12.5),  # confirms p=3: H = 14 now, so the close 12.5 > 12 is no break
        (14.5, 12.0, 14.2),  # close above 14: BOS of pivot 3
    ]
    out = _run(make_bars(rows))
    assert out[:, ms.HIGH_REF].tolist() == [-1, -1, 1, 1, 3, -1]
    assert _events(out) == [(5, "bull", int(ms.BOS), 3, 14.0)]


@pytest.mark.parametrize(("open_", "first", "trend"), [(10.0, "bear", 1), (10.5, "bull", -1)])
def test_outside_bar_breaks_both_in_wick_mode(open_: float, first: str, trend: int) -> None:
    rows: list[tuple[float, ...]] = list(SEQ[:5])
    rows.append((open_, 12.5, 9.0, 10.2))  # above H = 12 and below Lo = 9.5
    bars = make_bars(rows)
    assert _events(_run(bars)) == []  # the close breaks neither
    out = _run(bars, params=WICK)
    kinds = {d: k for _, d, k, _, _ in _events(out)}
    second = "bull" if first == "bear" else "bear"
    assert kinds == {first: int(ms.BOS), second: int(ms.CHOCH)}
    assert out[5, ms.TREND] == trend


def test_filter_internal_drops_only_same_level_same_direction() -> None:
    n = 4
    a = np.full((n, len(ms.COLUMNS)), np.nan)
    a[:, [ms.BULL_KIND, ms.BEAR_KIND]] = 0.0
    a[:, [ms.BULL_REF, ms.BEAR_REF]] = -1.0
    b = a.copy()
    a[1, [ms.BULL_KIND, ms.BULL_LVL, ms.BULL_REF]] = (1, 12.0, 7)
    b[1, [ms.BULL_KIND, ms.BULL_LVL, ms.BULL_REF]] = (2, 12.0, 7)  # same level: dropped
    a[2, [ms.BULL_KIND, ms.BULL_LVL, ms.BULL_REF]] = (1, 12.0, 7)
    b[2, [ms.BULL_KIND, ms.BULL_LVL, ms.BULL_REF]] = (1, 13.0, 5)  # other level: kept
    a[3, [ms.BEAR_KIND, ms.BEAR_LVL, ms.BEAR_REF]] = (1, 9.0, 2)
    b[3, [ms.BULL_KIND, ms.BULL_LVL, ms.BULL_REF]] = (1, 9.0, 2)  # other direction: kept
    a[:, ms.TREND] = 1.0
    f = ms.filter_internal(a, b)
    assert f[1, ms.BULL_KIND] == 0 and f[1, ms.BULL_REF] == -1 and np.isnan(f[1, ms.BULL_LVL])
    assert f[1, ms.TREND] == 1.0
    assert_same(f[2:], a[2:])
    assert a[1, ms.BULL_KIND] == 1  # input untouched
    with pytest.raises(ValueError, match="structure outputs"):
        ms.filter_internal(a, b[:2])


def test_filter_internal_on_real_data() -> None:
    bars = load_bars()
    internal = _run(bars, 5)
    swing = _run(bars, 50)
    filtered = ms.filter_internal(internal, swing)
    n_dup = 0
    for kind, lvl in ((ms.BULL_KIND, ms.BULL_LVL), (ms.BEAR_KIND, ms.BEAR_LVL)):
        dup = (internal[:, kind] > 0) & (swing[:, kind] > 0) & (internal[:, lvl] == swing[:, lvl])
        n_dup += dup.sum()
        dropped = (internal[:, kind] > 0) & (filtered[:, kind] == 0)
        np.testing.assert_array_equal(dropped, dup)
    # rare: the internal H/Lo is usually a newer pivot, so the scales break different levels
    assert n_dup >= 1
    keep = [c for c in range(len(ms.COLUMNS)) if c not in (0, 1, 2, 3, 4, 5)]
    assert_same(filtered[:, keep], internal[:, keep])  # states untouched


def test_bad_input_is_rejected() -> None:
    bars = make_bars(SEQ)
    with pytest.raises(ValueError, match="swing_out"):
        ms.run(bars, np.zeros((3, len(sw.COLUMNS))), DEFAULT)
    with pytest.raises(ValueError, match="bars"):
        ms.run(bars[:, :4], sw.run(bars, 1, 1), DEFAULT)


def test_column_names_per_scale() -> None:
    names = ms.column_names("internal")
    assert names[ms.TREND] == "structure_internal_trend"
    assert len(set(names) | set(ms.column_names("swing"))) == 2 * len(ms.COLUMNS)
    assert ms.int_column_names("swing") <= set(ms.column_names("swing"))


def _reference_events(bars: np.ndarray, swings: np.ndarray, wick: bool) -> list[tuple]:
    """Plain-Python transcription of the §3.3 state machine."""
    trend, hi, lo, ev = 0, None, None, []
    for t in range(bars.shape[0]):
        if swings[t, sw.SH]:
            hi = (swings[t, sw.SH_LVL], int(swings[t, sw.SH_REF]))
        if swings[t, sw.SL]:
            lo = (swings[t, sw.SL_LVL], int(swings[t, sw.SL_REF]))
        up_px = bars[t, HIGH] if wick else bars[t, CLOSE]
        dn_px = bars[t, LOW] if wick else bars[t, CLOSE]
        up = hi is not None and up_px > hi[0]
        dn = lo is not None and dn_px < lo[0]
        order = ["bear", "bull"] if bars[t, CLOSE] >= bars[t, OPEN] else ["bull", "bear"]
        row = []
        for d in order:
            if d == "bull" and up:
                assert hi is not None
                row.append((t, "bull", 2 if trend == -1 else 1, hi[1], hi[0]))
                trend, hi = 1, None
            if d == "bear" and dn:
                assert lo is not None
                row.append((t, "bear", 2 if trend == 1 else 1, lo[1], lo[0]))
                trend, lo = -1, None
        ev += sorted(row, key=lambda e: e[1] == "bear")  # _events lists bull first
    return ev


@pytest.mark.parametrize("length", [3, 5, 50])
def test_real_data_matches_reference_and_invariants(length: int) -> None:
    bars = load_bars()
    swings = sw.run(bars, length, length)
    out = ms.run(bars, swings, DEFAULT)
    ev = _events(out)
    assert ev == _reference_events(bars, swings, wick=False)
    assert len(ev) > 30
    kinds = [k for _, _, k, _, _ in ev]
    assert kinds.count(int(ms.CHOCH)) > 5 and kinds.count(int(ms.BOS)) > 5
    for t, d, _, ref, lvl in ev:
        assert t - ref >= length + 1  # lag >= R + 1, ref <= row
        if d == "bull":
            assert lvl == bars[ref, HIGH] and bars[t, CLOSE] > lvl
            assert out[t, ms.STRONG_LOW] == bars[ref : t + 1, LOW].min()
        else:
            assert lvl == bars[ref, LOW] and bars[t, CLOSE] < lvl
            assert out[t, ms.STRONG_HIGH] == bars[ref : t + 1, HIGH].max()
    # trend is a state: it changes only on event rows; CHoCH flips it, BOS keeps/sets it
    tr = out[:, ms.TREND]
    changed = np.flatnonzero(np.diff(tr)) + 1
    assert set(changed.tolist()) <= {t for t, *_ in ev}
    # weak high = running max of highs since the last break while trend is up
    up = np.flatnonzero(tr == 1)
    for i in up[:: max(1, len(up) // 200)]:
        last = max(t for t, d, *_ in ev if d == "bull" and t <= i)
        assert out[i, ms.WEAK_HIGH] == bars[last : i + 1, HIGH].max()
    assert _events(ms.run(bars, swings, WICK)) == _reference_events(bars, swings, wick=True)


@pytest.mark.parametrize("params", [DEFAULT, WICK])
def test_live_stream_equals_batch(params: ms.StructureParams) -> None:
    """The live path (``SMCStream``: every concept's ``step`` in one fused call per bar)
    equals batch on every row and column.
    Both structure scales run: swings of length 50 and internal swings of length 5."""
    assert_stream_equals_batch(load_bars(), structure_wick_break=params.structure_wick_break)


def test_live_stream_equals_batch_other_files() -> None:
    for bars in other_files():
        for params in (DEFAULT, WICK):
            assert_stream_equals_batch(
                bars,
                swing_length=50,
                internal_length=5,
                structure_wick_break=params.structure_wick_break,
            )


def _prefix_ok(bars: np.ndarray, length: int, params: ms.StructureParams, cuts) -> None:
    assert_prefix_property(lambda b: _run(b, length, params), bars, cuts)


@pytest.mark.causality
def test_prefix_property_every_t_first_1500() -> None:
    bars = load_bars()[:1500]
    _prefix_ok(bars, 3, DEFAULT, range(1500))
    _prefix_ok(bars, 5, WICK, range(0, 1500, 3))


@pytest.mark.causality
def test_prefix_property_random_cuts_long_file() -> None:
    bars = load_bars()
    rng = np.random.default_rng(7)
    cuts = rng.integers(0, bars.shape[0], 40)
    _prefix_ok(bars, 50, DEFAULT, cuts)
    # also around event bars (t - 1, t, t + 1)
    ev = [t for t, *_ in _events(_run(bars, 10))][::40]
    _prefix_ok(bars, 10, DEFAULT, [x for t in ev for x in (t - 1, t, t + 1)])


@pytest.mark.causality
@given(
    length=st.integers(1, 30),
    wick=st.booleans(),
    start=st.integers(0, 30_000),
    cut=st.integers(0, 2_999),
)
def test_prefix_property_hypothesis(length: int, wick: bool, start: int, cut: int) -> None:
    bars = load_bars()[start : start + 3000]
    params = ms.StructureParams(structure_wick_break=wick)
    _prefix_ok(bars, length, params, [min(cut, len(bars) - 1)])
    for t, _, _, ref, _ in _events(_run(bars, length, params)):
        assert t - ref >= length + 1


def test_step_writes_every_column() -> None:
    """The batch buffer is np.empty: a row must not depend on what the buffer held."""
    bars = load_bars()[:3000]
    swings = sw.run(bars, 5, 5)
    out = np.full((3000, len(ms.COLUMNS)), 123.25)
    ms._run(bars, swings, False, ms.init_state(), out)
    assert_same(out, ms.run(bars, swings, DEFAULT))
