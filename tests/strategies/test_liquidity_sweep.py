"""liquidity_sweep: trades derived by hand, from hand-made bars and from hand-made detector rows.

Each kernel case runs twice: the compiled kernel and its pure-Python body (same source), so a
case checks the rule and the two agree.
"""

from __future__ import annotations

import numpy as np
import pytest

from research.backtest.bars import Bars
from research.backtest.config import BacktestConfig
from research.backtest.costs import CostModel
from research.backtest.runner import run_backtest
from strategies import liquidity_sweep as ls
from strategies.live import OUT_ENTRY, OUT_KIND, OUT_PRICE, OUT_STOP, OUT_TARGET
from strategies.signals import MARKET
from strategies.smc.pipeline import detect
from tests.strategies.helpers import detector_rows, entries, ohlc_frame, run, set_at

COLS = ls.COLUMNS


@pytest.fixture(params=[True, False], ids=["python", "compiled"])
def python(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def _run(x: np.ndarray, python: bool, **kw: object) -> np.ndarray:
    base: dict[str, object] = {"stop_atr_buffer": 0.5, "rr": 2.0, "cooldown": 0}
    return run(ls.spec(ls.Params(**(base | kw))), x, python)


def _ssl_sweep(x: np.ndarray, i: int, frm: int, source: str = "liq_swing_low") -> None:
    set_at(x, COLS, i, **{f"{source}_sweep": 1.0, f"{source}_from": float(frm)})


def _bsl_sweep(x: np.ndarray, i: int, frm: int, source: str = "liq_swing_high") -> None:
    set_at(x, COLS, i, **{f"{source}_sweep": 1.0, f"{source}_from": float(frm)})


# --- hand-made bars through the detectors -------------------------------------------------------

# internal swings with 2 bars each side: the low of bar 2 (99.0) is a swing low known at bar 4;
# bar 6 trades to 98.8 and closes back at 99.6 above it: a sell-side sweep known at bar 6
SWEEP_BARS = [
    (101.0, 101.5, 100.5, 101.0),
    (101.0, 101.5, 100.4, 100.8),
    (100.8, 101.0, 99.0, 99.5),
    (99.5, 100.5, 99.4, 100.2),
    (100.2, 101.0, 99.8, 100.8),
    (100.8, 101.2, 100.3, 101.0),
    (101.0, 101.1, 98.8, 99.6),
    (99.6, 102.0, 99.5, 101.8),
    (101.8, 103.8, 101.5, 103.6),
]
SWEEP_PARAMS = {"internal_length": 2, "atr_period": 1, "stop_atr_buffer": 0.5, "rr": 2.0}


def test_hand_made_bars_sweep_then_market_long() -> None:
    df = ohlc_frame(SWEEP_BARS)
    sig = ls.generate(df, ls.Params(**SWEEP_PARAMS))
    # by hand: ATR(1) at bar 6 = true range = max(101.1 - 98.8, |98.8 - 101.0|) = 2.3;
    # stop = swept low 98.8 - 0.5 * 2.3 = 97.65; risk = 99.6 - 97.65 = 1.95; target = 99.6 + 3.9
    assert np.flatnonzero(sig.entry).tolist() == [6]
    assert sig.entry[6] == 1 and sig.entry_kind[6] == MARKET and np.isnan(sig.entry_price[6])
    assert sig.stop[6] == pytest.approx(97.65)
    assert sig.target[6] == pytest.approx(103.5)
    # the detector row the rule read
    det = detect(df, internal_length=2, atr_period=1)
    assert det["liq_swing_low_sweep"].tolist() == [0, 0, 0, 0, 0, 0, 1, 0, 0]
    # the engine fills at bar 7's open and the target inside bar 8
    bars = Bars.from_frame(df, "1m")
    res = run_backtest(bars, sig, BacktestConfig(costs=CostModel.zero()))
    t = res.trades.iloc[0]
    assert (t.entry_bar, t.exit_bar, t.side, t.exit_reason) == (7, 8, "long", "take_profit")
    assert t.entry_price == pytest.approx(99.6) and t.exit_price == pytest.approx(103.5)


def test_hand_made_bars_no_sweep_source_no_trade() -> None:
    sig = ls.generate(ohlc_frame(SWEEP_BARS), ls.Params(**SWEEP_PARAMS, sweep_swings=False))
    assert not sig.entry.any()


# --- hand-made detector rows --------------------------------------------------------------------


def test_sweep_entry_stop_and_target(python: bool) -> None:
    x = detector_rows(COLS, 10)
    set_at(x, COLS, 2, low=98.0)  # the wick that started the sweep (reclaim window)
    set_at(x, COLS, 3, low=98.5, close=100.0)
    _ssl_sweep(x, 3, frm=2)
    out = _run(x, python)
    assert entries(out) == [3]
    row = out[3]
    # extreme = lowest low of bars 2..3 = 98; stop = 98 - 0.5 * ATR 1; risk 2.5; target 100 + 5
    assert (row[OUT_ENTRY], row[OUT_KIND]) == (1.0, MARKET) and np.isnan(row[OUT_PRICE])
    assert row[OUT_STOP] == pytest.approx(97.5) and row[OUT_TARGET] == pytest.approx(105.0)


def test_short_side_mirrored(python: bool) -> None:
    x = detector_rows(COLS, 10)
    set_at(x, COLS, 4, high=102.0, close=100.0)
    _bsl_sweep(x, 4, frm=4, source="liq_bsl")
    out = _run(x, python)
    assert entries(out) == [4]
    assert out[4, OUT_ENTRY] == -1.0
    assert out[4, OUT_STOP] == pytest.approx(102.5) and out[4, OUT_TARGET] == pytest.approx(95.0)


@pytest.mark.parametrize(
    ("side", "expected"), [("long", [3]), ("short", [6]), ("both", [3, 6])]
)  # fmt: skip
def test_side_parameter(python: bool, side: str, expected: list[int]) -> None:
    x = detector_rows(COLS, 10)
    _ssl_sweep(x, 3, 3)
    set_at(x, COLS, 3, low=99.0)
    _bsl_sweep(x, 6, 6)
    set_at(x, COLS, 6, high=101.0)
    assert entries(_run(x, python, side=side)) == expected


@pytest.mark.parametrize(
    ("source", "flag"),
    [("liq_ssl", "sweep_pools"), ("liq_swing_low", "sweep_swings"), ("liq_pdl", "sweep_prev_day")],
)
def test_each_source_can_be_switched_off(python: bool, source: str, flag: str) -> None:
    x = detector_rows(COLS, 6)
    set_at(x, COLS, 2, low=99.0)
    _ssl_sweep(x, 2, 2, source)
    assert entries(_run(x, python)) == [2]
    assert entries(_run(x, python, **{flag: False})) == []


def test_cooldown_counts_bars_since_the_last_entry(python: bool) -> None:
    x = detector_rows(COLS, 20, low=99.0)
    for i in (3, 8, 14):
        _ssl_sweep(x, i, i)
    # cooldown 5 blocks bars 4..8 after the entry at 3
    assert entries(_run(x, python, cooldown=5)) == [3, 14]
    assert entries(_run(x, python, cooldown=4)) == [3, 8, 14]
    assert entries(_run(x, python, cooldown=20)) == [3]


def test_confirmation_by_internal_choch_with_lower_wick(python: bool) -> None:
    x = detector_rows(COLS, 12)
    set_at(x, COLS, 3, low=99.0)
    _ssl_sweep(x, 3, 3)
    set_at(x, COLS, 5, low=98.6, close=100.0)  # lower wick, closes back above: new extreme
    set_at(x, COLS, 6, structure_internal_bull_kind=2.0)
    out = _run(x, python, confirm_bars=5)
    assert entries(out) == [6]
    assert out[6, OUT_STOP] == pytest.approx(98.1)  # 98.6 - 0.5
    # a BOS is not a confirmation
    set_at(x, COLS, 6, structure_internal_bull_kind=1.0)
    assert entries(_run(x, python, confirm_bars=5)) == []


def test_invalidation_expiry_and_close_beyond_extreme(python: bool) -> None:
    x = detector_rows(COLS, 14)
    set_at(x, COLS, 3, low=99.0)
    _ssl_sweep(x, 3, 3)
    set_at(x, COLS, 9, structure_internal_bull_kind=2.0)
    assert entries(_run(x, python, confirm_bars=6)) == [9]  # window 3..9
    assert entries(_run(x, python, confirm_bars=5)) == []  # expired after bar 8
    set_at(x, COLS, 5, low=98.0, close=98.9)  # closes below the swept extreme 99
    assert entries(_run(x, python, confirm_bars=6)) == []


def test_a_newer_sweep_replaces_the_setup(python: bool) -> None:
    x = detector_rows(COLS, 14)
    set_at(x, COLS, 2, low=98.0)
    _ssl_sweep(x, 2, 2)
    set_at(x, COLS, 6, low=99.0)
    _ssl_sweep(x, 6, 6)
    set_at(x, COLS, 9, structure_internal_bull_kind=2.0)
    out = _run(x, python, confirm_bars=4)
    assert entries(out) == [9]  # window of the sweep at 6 (6..10), not of the one at 2
    assert out[9, OUT_STOP] == pytest.approx(98.5)


def test_trend_and_premium_discount_filters(python: bool) -> None:
    x = detector_rows(COLS, 8)
    set_at(x, COLS, 3, low=99.0)
    _ssl_sweep(x, 3, 3)
    assert entries(_run(x, python, trend_filter=True)) == []  # trend 0
    set_at(x, COLS, 3, structure_swing_trend=-1.0)
    assert entries(_run(x, python, trend_filter=True)) == []
    set_at(x, COLS, 3, structure_swing_trend=1.0)
    assert entries(_run(x, python, trend_filter=True)) == [3]
    for zone in (np.nan, 1.0, 0.0):
        set_at(x, COLS, 3, zone_position=zone)
        assert entries(_run(x, python, discount_only=True)) == []
    set_at(x, COLS, 3, zone_position=-1.0)
    assert entries(_run(x, python, discount_only=True)) == [3]


def test_failed_filter_keeps_the_setup_armed(python: bool) -> None:
    x = detector_rows(COLS, 12, structure_swing_trend=-1.0)
    set_at(x, COLS, 3, low=99.0)
    _ssl_sweep(x, 3, 3)
    set_at(x, COLS, 5, structure_internal_bull_kind=2.0)  # trend still down: ignored
    set_at(x, COLS, 7, structure_internal_bull_kind=2.0, structure_swing_trend=1.0)
    assert entries(_run(x, python, confirm_bars=6, trend_filter=True)) == [7]


def test_liquidity_target_nearest_level_paying_min_rr(python: bool) -> None:
    x = detector_rows(COLS, 6)
    set_at(x, COLS, 2, low=98.0)
    _ssl_sweep(x, 2, 2)  # close 100, stop 97.5, risk 2.5
    kw = {"target_mode": "liquidity", "min_rr": 1.0}
    set_at(x, COLS, 2, liq_bsl_near_level=110.0, last_high_level=104.0)
    assert _run(x, python, **kw)[2, OUT_TARGET] == pytest.approx(104.0)
    set_at(x, COLS, 2, liq_bsl_near_level=103.0, last_high_level=102.0)  # 102 pays < 1R
    assert _run(x, python, **kw)[2, OUT_TARGET] == pytest.approx(103.0)
    set_at(x, COLS, 2, liq_bsl_near_level=np.nan, last_high_level=101.0)  # none: rr target
    assert _run(x, python, **kw)[2, OUT_TARGET] == pytest.approx(105.0)
    # the short side reads the sell-side levels below
    y = detector_rows(COLS, 6, liq_ssl_near_level=96.0, last_low_level=90.0)
    set_at(y, COLS, 2, high=102.0)
    _bsl_sweep(y, 2, 2)
    assert _run(y, python, **kw)[2, OUT_TARGET] == pytest.approx(96.0)


def test_no_entry_without_atr_or_risk(python: bool) -> None:
    x = detector_rows(COLS, 6, atr=np.nan)
    set_at(x, COLS, 2, low=99.0)
    _ssl_sweep(x, 2, 2)
    assert entries(_run(x, python)) == []
    y = detector_rows(COLS, 6)
    set_at(y, COLS, 2, low=100.0, close=100.0)  # closes on the swept low: zero risk
    _ssl_sweep(y, 2, 2)
    assert entries(_run(y, python, stop_atr_buffer=0.0)) == []
    assert entries(_run(y, python, stop_atr_buffer=0.1)) == [2]


def test_long_and_short_on_one_bar_cancel_out(python: bool) -> None:
    x = detector_rows(COLS, 6)
    set_at(x, COLS, 2, low=99.0, high=101.0)
    _ssl_sweep(x, 2, 2)
    _bsl_sweep(x, 2, 2)
    assert entries(_run(x, python)) == []
    assert entries(_run(x, python, side="long")) == [2]


def test_sweep_from_outside_the_rows_uses_the_sweep_bar(python: bool) -> None:
    # a malformed negative `_from` must not index backwards from the end of the buffer
    x = detector_rows(COLS, 6)
    set_at(x, COLS, 3, low=99.0)
    set_at(x, COLS, 5, low=90.0)
    set_at(x, COLS, 3, liq_swing_low_sweep=1.0, liq_swing_low_from=-1.0)
    out = _run(x, python)
    assert entries(out) == [3] and out[3, OUT_STOP] == pytest.approx(98.5)


def test_hand_made_bars_mirrored_give_the_mirrored_short() -> None:
    # price p -> 200 - p swaps highs and lows: the sell-side sweep becomes a buy-side sweep
    mirrored = [(200 - o, 200 - lo, 200 - h, 200 - c) for o, h, lo, c in SWEEP_BARS]
    sig = ls.generate(ohlc_frame(mirrored), ls.Params(**SWEEP_PARAMS))
    assert np.flatnonzero(sig.entry).tolist() == [6]
    assert sig.entry[6] == -1
    assert sig.stop[6] == pytest.approx(200 - 97.65)
    assert sig.target[6] == pytest.approx(200 - 103.5)


def test_no_entry_when_a_price_would_not_be_positive(python: bool) -> None:
    # short from 100 with the stop 50 above: 2R = 100 below, a target at 0 is no price
    x = detector_rows(COLS, 4, atr=10.0)
    set_at(x, COLS, 2, high=145.0)
    _bsl_sweep(x, 2, 2)
    assert entries(_run(x, python, rr=2.0)) == []
    assert entries(_run(x, python, rr=1.9)) == [2]
    y = detector_rows(COLS, 4, open=1.0, high=1.0, close=1.0, low=0.5, atr=10.0)
    _ssl_sweep(y, 2, 2)  # long stop 0.5 - 5 is below zero
    assert entries(_run(y, python)) == []
