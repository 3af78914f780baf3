"""bos_orderblock: orders derived by hand, from hand-made bars and from hand-made detector rows.

Each kernel case runs twice: the compiled kernel and its pure-Python body (same source).
"""

from __future__ import annotations

import numpy as np
import pytest

from research.backtest.bars import Bars
from research.backtest.config import BacktestConfig
from research.backtest.costs import CostModel
from research.backtest.runner import run_backtest
from strategies import bos_orderblock as bo
from strategies.live import OUT_ENTRY, OUT_KIND, OUT_PRICE, OUT_STOP, OUT_TARGET
from strategies.signals import LIMIT
from strategies.smc.pipeline import detect
from tests.strategies.helpers import detector_rows, entries, ohlc_frame, run, set_at

COLS = bo.columns("internal")


@pytest.fixture(params=[True, False], ids=["python", "compiled"])
def python(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def _run(x: np.ndarray, python: bool, **kw: object) -> np.ndarray:
    base: dict[str, object] = {"stop_atr_buffer": 0.5, "rr": 2.0, "cooldown": 0}
    return run(bo.spec(bo.Params(**(base | kw))), x, python)


def _bull_ob(x: np.ndarray, i: int, top: float, bottom: float, kind: float = 1.0) -> None:
    set_at(x, COLS, i, ob_internal_bull_new=1.0, ob_internal_bull_new_top=top,
           ob_internal_bull_new_bottom=bottom, structure_internal_bull_kind=kind)  # fmt: skip


def _bear_ob(x: np.ndarray, i: int, top: float, bottom: float, kind: float = 1.0) -> None:
    set_at(x, COLS, i, ob_internal_bear_new=1.0, ob_internal_bear_new_top=top,
           ob_internal_bear_new_bottom=bottom, structure_internal_bear_kind=kind)  # fmt: skip


# --- hand-made bars through the detectors -------------------------------------------------------

# internal swings with 2 bars each side: bar 2's high 102 is a swing high known at bar 4; bar 6
# closes at 102.5 above it: a bullish BOS on bar 6. The OB candle is the lowest low between the
# pivot and the break, bar 4 (low 99.0, high 100.9). Bar 8 trades down through the OB top.
BOS_BARS = [
    (100.0, 100.5, 99.5, 100.0),
    (100.0, 101.0, 99.8, 100.8),
    (100.8, 102.0, 100.5, 101.5),
    (101.5, 101.8, 100.2, 100.5),
    (100.5, 100.9, 99.0, 99.5),
    (99.5, 101.0, 99.3, 100.8),
    (100.8, 102.8, 100.7, 102.5),
    (102.5, 103.0, 101.8, 102.2),
    (102.2, 102.4, 100.5, 101.0),
    (101.0, 101.5, 100.6, 101.2),
]
BOS_PARAMS = {"internal_length": 2, "atr_period": 1, "stop_atr_buffer": 0.5, "rr": 2.0}


def test_hand_made_bars_bos_then_limit_at_the_order_block() -> None:
    df = ohlc_frame(BOS_BARS)
    sig = bo.generate(df, bo.Params(**BOS_PARAMS))
    # by hand: ATR(1) at bar 6 = max(102.8 - 100.7, |102.8 - 100.8|) = 2.1; entry = OB top 100.9;
    # stop = 99.0 - 0.5 * 2.1 = 97.95; risk 2.95; target = 100.9 + 5.9 = 106.8. Re-emitted on
    # bar 7 (low 101.8 stays above 100.9); bar 8 trades through it: assumed filled, no more orders
    assert np.flatnonzero(sig.entry).tolist() == [6, 7]
    for t in (6, 7):
        assert (sig.entry[t], sig.entry_kind[t]) == (1, LIMIT)
        assert sig.entry_price[t] == pytest.approx(100.9)
        assert sig.stop[t] == pytest.approx(97.95)
        assert sig.target[t] == pytest.approx(106.8)
    det = detect(df, internal_length=2, atr_period=1)
    assert det["structure_internal_bull_kind"].tolist() == [0, 0, 0, 0, 0, 0, 1, 0, 0, 0]
    # the engine fills the limit inside bar 8 at 100.9 (maker)
    res = run_backtest(Bars.from_frame(df, "1m"), sig, BacktestConfig(costs=CostModel.zero()))
    t = res.trades.iloc[0]
    assert (t.entry_bar, t.side) == (8, "long") and t.entry_price == pytest.approx(100.9)


def test_hand_made_bars_choch_only_filter() -> None:
    sig = bo.generate(ohlc_frame(BOS_BARS), bo.Params(**BOS_PARAMS, break_kind="choch"))
    assert not sig.entry.any()  # the only break is a BOS


# --- hand-made detector rows --------------------------------------------------------------------


def test_limit_re_emitted_until_traded_through(python: bool) -> None:
    x = detector_rows(COLS, 12, close=103.0, low=102.0, open=103.0)
    _bull_ob(x, 2, top=101.0, bottom=100.0)
    set_at(x, COLS, 6, low=100.99)  # trades through the limit: assumed fill
    out = _run(x, python)
    assert entries(out) == [2, 3, 4, 5]
    r = out[2]
    assert (r[OUT_ENTRY], r[OUT_KIND], r[OUT_PRICE]) == (1.0, LIMIT, 101.0)
    assert r[OUT_STOP] == pytest.approx(99.5) and r[OUT_TARGET] == pytest.approx(104.0)


def test_open_at_the_level_counts_as_traded_through(python: bool) -> None:
    x = detector_rows(COLS, 8, close=103.0, low=102.0, open=103.0)
    _bull_ob(x, 2, top=101.0, bottom=100.0)
    set_at(x, COLS, 4, open=101.0, low=101.0)  # touches without trading through, but opens at it
    assert entries(_run(x, python)) == [2, 3]


def test_short_side_mirrored_and_mid_level(python: bool) -> None:
    x = detector_rows(COLS, 8, close=97.0, high=98.0, open=97.0)
    _bear_ob(x, 1, top=100.0, bottom=99.0)
    out = _run(x, python, max_wait=3)
    assert entries(out) == [1, 2, 3]  # expires after max_wait bars
    r = out[1]
    assert (r[OUT_ENTRY], r[OUT_PRICE]) == (-1.0, 99.0)
    assert r[OUT_STOP] == pytest.approx(100.5) and r[OUT_TARGET] == pytest.approx(96.0)
    mid = _run(x, python, entry_level="mid")[1]
    assert mid[OUT_PRICE] == pytest.approx(99.5) and mid[OUT_STOP] == pytest.approx(100.5)
    assert mid[OUT_TARGET] == pytest.approx(97.5)


def test_opposite_break_cancels_the_setup(python: bool) -> None:
    x = detector_rows(COLS, 10, close=103.0, low=102.0, open=103.0)
    _bull_ob(x, 2, top=101.0, bottom=100.0)
    set_at(x, COLS, 5, structure_internal_bear_kind=2.0)
    assert entries(_run(x, python)) == [2, 3, 4]


def test_newer_order_block_replaces_the_setup(python: bool) -> None:
    x = detector_rows(COLS, 8, close=103.0, low=102.0, open=103.0)
    _bull_ob(x, 2, top=101.0, bottom=100.0)
    _bull_ob(x, 4, top=101.8, bottom=101.2)
    out = _run(x, python, max_wait=3)
    assert entries(out) == [2, 3, 4, 5, 6]
    assert out[3, OUT_PRICE] == 101.0 and out[4, OUT_PRICE] == 101.8


def test_no_order_while_close_at_or_below_the_level(python: bool) -> None:
    x = detector_rows(COLS, 6, close=103.0, low=102.0, open=103.0)
    _bull_ob(x, 1, top=103.5, bottom=100.0)  # OB top above the breaking close
    set_at(x, COLS, 1, close=103.5)
    out = _run(x, python)
    assert entries(out) == []  # bar 1 closes at the level; bar 2 opens below it: reached


def test_cooldown_after_an_assumed_fill(python: bool) -> None:
    x = detector_rows(COLS, 16, close=103.0, low=102.0, open=103.0)
    _bull_ob(x, 1, top=101.0, bottom=100.0)
    set_at(x, COLS, 3, low=100.5)  # fill of the order emitted on bar 2
    _bull_ob(x, 4, top=101.5, bottom=100.0)
    assert entries(_run(x, python, cooldown=3)) == [1, 2, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    # without an order on the bar before (trend filter), reaching the level is no fill
    y = x.copy()
    set_at(y, COLS, 2, structure_swing_trend=-1.0)
    got = entries(_run(y, python, cooldown=3, trend_filter=True, side="long"))
    assert got == []  # trend 0 elsewhere: no order at all
    y[:, 4 + COLS.index("structure_swing_trend")] = 1.0
    set_at(y, COLS, 2, structure_swing_trend=-1.0)
    got = entries(_run(y, python, cooldown=3, trend_filter=True))
    assert got == [1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]


def test_break_kind_filter(python: bool) -> None:
    x = detector_rows(COLS, 5, close=103.0, low=102.0, open=103.0)
    _bull_ob(x, 1, top=101.0, bottom=100.0, kind=2.0)
    assert entries(_run(x, python, break_kind="bos")) == []
    assert entries(_run(x, python, break_kind="choch")) == [1, 2, 3, 4]
    assert entries(_run(x, python, break_kind="any")) == [1, 2, 3, 4]


def test_structure_target_needs_min_rr(python: bool) -> None:
    x = detector_rows(COLS, 4, close=103.0, low=102.0, open=103.0)
    _bull_ob(x, 1, top=101.0, bottom=100.0)  # risk 1.5
    set_at(x, COLS, 1, structure_internal_weak_high=105.0)
    set_at(x, COLS, 2, structure_internal_weak_high=102.0)  # pays < 1R: rr target
    out = _run(x, python, target_mode="structure", min_rr=1.0)
    assert out[1, OUT_TARGET] == pytest.approx(105.0)
    assert out[2, OUT_TARGET] == pytest.approx(104.0)  # 101 + 2 * 1.5 (fallback)
    assert np.isnan(x[3, 4 + COLS.index("structure_internal_weak_high")])
    assert out[3, OUT_TARGET] == pytest.approx(104.0)
    y = detector_rows(COLS, 3, close=97.0, high=98.0, open=97.0)
    _bear_ob(y, 1, top=100.0, bottom=99.0)
    set_at(y, COLS, 1, structure_internal_weak_low=95.0)
    assert _run(y, python, target_mode="structure")[1, OUT_TARGET] == pytest.approx(95.0)


def test_no_setup_without_atr_or_with_empty_zone(python: bool) -> None:
    x = detector_rows(COLS, 4, close=103.0, low=102.0, open=103.0, atr=np.nan)
    _bull_ob(x, 1, top=101.0, bottom=100.0)
    assert entries(_run(x, python)) == []
    y = detector_rows(COLS, 4, close=103.0, low=102.0, open=103.0)
    _bull_ob(y, 1, top=101.0, bottom=101.0)
    assert entries(_run(y, python, stop_atr_buffer=0.0)) == []
    assert entries(_run(y, python, stop_atr_buffer=0.1)) == [1, 2, 3]


def test_both_sides_live_on_one_bar_cancel_out(python: bool) -> None:
    # an outside bar breaking both ways (wick mode) leaves a bull and a bear setup alive
    x = detector_rows(COLS, 5, close=100.0, low=99.8, high=100.2, open=100.0)
    _bull_ob(x, 1, top=99.0, bottom=98.0)
    _bear_ob(x, 1, top=102.0, bottom=101.0)
    assert entries(_run(x, python)) == []
    assert entries(_run(x, python, side="short")) == [1, 2, 3, 4]


def test_hand_made_bars_mirrored_give_the_mirrored_short() -> None:
    # price p -> 200 - p: the bullish BOS becomes a bearish one, the OB's top its bottom
    mirrored = [(200 - o, 200 - lo, 200 - h, 200 - c) for o, h, lo, c in BOS_BARS]
    sig = bo.generate(ohlc_frame(mirrored), bo.Params(**BOS_PARAMS))
    assert np.flatnonzero(sig.entry).tolist() == [6, 7]
    for t in (6, 7):
        assert (sig.entry[t], sig.entry_kind[t]) == (-1, LIMIT)
        assert sig.entry_price[t] == pytest.approx(200 - 100.9)
        assert sig.stop[t] == pytest.approx(200 - 97.95)
        assert sig.target[t] == pytest.approx(200 - 106.8)


def test_no_order_when_a_price_would_not_be_positive(python: bool) -> None:
    x = detector_rows(COLS, 4, close=40.0, high=45.0, open=40.0)
    _bear_ob(x, 1, top=100.0, bottom=50.0)  # risk 50.5: 2R below 50 is under zero
    assert entries(_run(x, python)) == []
    assert entries(_run(x, python, rr=0.9)) == [1, 2, 3]
    y = detector_rows(COLS, 4, close=103.0, low=102.0, open=103.0, atr=400.0)
    _bull_ob(y, 1, top=101.0, bottom=100.0)  # stop 100 - 200 < 0: no setup
    assert entries(_run(y, python)) == []
