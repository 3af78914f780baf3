"""Hand-computed engine cases: every expected number is worked out in the comment above it."""

from __future__ import annotations

import pytest

from tests.backtest.helpers import bars, config, flat, run

CASH = 10_000.0


def test_market_long_fill_next_open_with_taker_fees() -> None:
    # signal at bar 0 close -> buy at bar 1 open 100; exit signal at bar 2 -> sell at bar 3 open 110
    b = bars([flat(90), (100, 105, 99, 104), (104, 111, 103, 108), (110, 112, 109, 111)])
    r = run(b, config(taker_fee=0.00045), entry={0: 1}, exit_long={2: True})
    (t,) = r.trades.itertuples()
    # qty = 10,000 / 100 = 100; fees 100*100*0.00045 + 100*110*0.00045 = 4.5 + 4.95
    assert (t.entry_bar, t.exit_bar) == (1, 3)
    assert t.entry_price == 100 and t.exit_price == 110 and t.size == pytest.approx(100)
    assert t.fees == pytest.approx(9.45)
    assert t.pnl == pytest.approx(1000 - 9.45)
    assert r.metrics["final_equity"] == pytest.approx(CASH + 1000 - 9.45)
    assert r.metrics["fees_paid"] == pytest.approx(9.45)
    assert t.exit_reason == "signal"


def test_slippage_moves_both_fills_against_the_trader() -> None:
    b = bars([flat(100), flat(100), flat(110), flat(110)])
    r = run(b, config(slippage_bps=10), entry={0: 1}, exit_long={1: True})
    (t,) = r.trades.itertuples()
    # buy 100 * 1.001 = 100.1, sell 110 * 0.999 = 109.89, qty = 10,000 / 100.1
    assert t.entry_price == pytest.approx(100.1)
    assert t.exit_price == pytest.approx(109.89)
    assert t.pnl == pytest.approx(10_000 / 100.1 * (109.89 - 100.1))


def test_atr_slippage_uses_the_atr_known_at_the_signal_bar() -> None:
    # 15 bars of constant true range 2 -> ATR(14) = 2; half an ATR of slippage = 1.0
    rows = [(100, 101, 99, 100)] * 15 + [(100, 101, 99, 100)] * 2
    r = run(bars(rows), config(slippage_atr=0.5), entry={14: 1}, exit_long={15: True})
    (t,) = r.trades.itertuples()
    assert t.entry_price == pytest.approx(101.0)
    assert t.exit_price == pytest.approx(99.0)


@pytest.mark.parametrize(("side", "sign"), [(1, -1.0), (-1, 1.0)])
def test_funding_long_pays_positive_rate_short_receives(side: int, sign: float) -> None:
    # position (qty 100) carried into bar 2; 0.1 % settles in bar 2, notional at its open 102
    b = bars([flat(100), flat(100), (102, 102, 102, 102), flat(102)])
    r = run(b, config(), funding=[0.0, 0.0, 0.001, 0.0], entry={0: side}, **{
        "exit_long" if side > 0 else "exit_short": {2: True}
    })  # fmt: skip
    (t,) = r.trades.itertuples()
    assert t.funding == pytest.approx(sign * 100 * 102 * 0.001)
    assert r.metrics["funding_paid"] == pytest.approx(-sign * 10.2)
    gross = side * 100 * (102 - 100)
    assert r.metrics["final_equity"] == pytest.approx(CASH + gross + sign * 10.2)


def test_funding_is_not_charged_on_the_fill_bar_or_when_flat() -> None:
    # funding on bar 1 (entry fills at its open: nothing carried in) and bar 3 (already flat)
    b = bars([flat(100), flat(100), flat(100), flat(100)])
    r = run(b, config(), funding=[0.01, 0.01, 0.0, 0.01], entry={0: 1}, exit_long={1: True})
    assert r.trades["funding"].iloc[0] == 0.0
    assert r.metrics["final_equity"] == pytest.approx(CASH)


def test_funding_off_in_costs_ignores_prints() -> None:
    b = bars([flat(100)] * 4)
    r = run(b, config(funding=False), funding=[0, 0, 0.01, 0], entry={0: 1}, exit_long={2: True})
    assert r.trades["funding"].iloc[0] == 0.0
    assert r.info["funding_applied"] is False


def test_short_profit_when_price_falls() -> None:
    b = bars([flat(100), flat(100), flat(90), flat(90)])
    r = run(b, config(), entry={0: -1}, exit_short={1: True})
    (t,) = r.trades.itertuples()
    # short 100 at 100, cover at 90 -> +1000
    assert t.side == "short" and t.pnl == pytest.approx(1000)
    assert r.position.iloc[1] == pytest.approx(-100)


def test_stop_and_target_in_one_bar_assumes_the_stop() -> None:
    b = bars([flat(100), (100, 100, 100, 100), (100, 106, 94, 100), flat(100)])
    r = run(b, config(), entry={0: 1}, stop={0: 95}, target={0: 105})
    (t,) = r.trades.itertuples()
    assert t.exit_reason == "stop_loss" and t.exit_price == 95 and t.exit_bar == 2


def test_target_fills_at_target_with_maker_fee() -> None:
    b = bars([flat(100), flat(100), (100, 106, 99, 104), flat(100)])
    r = run(b, config(maker_fee=0.0002, taker_fee=0.0), entry={0: 1}, stop={0: 95}, target={0: 105})
    (t,) = r.trades.itertuples()
    # qty 100; exit fee 100 * 105 * 0.0002 = 2.1
    assert t.exit_reason == "take_profit" and t.exit_price == 105
    assert t.fees == pytest.approx(2.1)


def test_gap_through_stop_fills_at_the_open() -> None:
    b = bars([flat(100), flat(100), (90, 92, 88, 91), flat(91)])
    r = run(b, config(), entry={0: 1}, stop={0: 95})
    (t,) = r.trades.itertuples()
    assert t.exit_price == 90 and t.exit_reason == "stop_loss"


def test_short_stop_above_entry() -> None:
    b = bars([flat(100), flat(100), (101, 104, 100, 102), flat(100)])
    r = run(b, config(), entry={0: -1}, stop={0: 103}, target={0: 90})
    (t,) = r.trades.itertuples()
    assert t.exit_price == 103 and t.pnl == pytest.approx(-300)


def test_risk_sizing_loses_the_risk_percent_at_the_stop() -> None:
    b = bars([flat(100), flat(100), (100, 100, 94, 95), flat(95)])
    r = run(b, config(sizing="risk", risk_percent=1.0, leverage=5), entry={0: 1}, stop={0: 95})
    (t,) = r.trades.itertuples()
    # 1 % of 10,000 = 100 at risk over a 5-point stop -> 20 units, loss exactly 100
    assert t.size == pytest.approx(20) and t.pnl == pytest.approx(-100)


def test_risk_sizing_is_capped_by_leverage() -> None:
    b = bars([flat(100), flat(100), flat(100)])
    r = run(b, config(sizing="risk", risk_percent=5, leverage=1), entry={0: 1}, stop={0: 99.9})
    # uncapped 500 / 0.1 = 5000 units; cap 1 x 10,000 / 100 = 100 units
    assert r.trades["size"].iloc[0] == pytest.approx(100)


def test_liquidation_at_maintenance_margin() -> None:
    # 10x long, max leverage 20 -> maintenance 2.5 %; qty 1000 at 100, cash 10,000
    # liq: 10,000 + 1000 (p - 100) = 0.025 * 1000 p -> p = 90,000 / 975 = 92.3077
    b = bars([flat(100), flat(100), (99, 99, 90, 91), flat(91)])
    cfg = config(sizing="all_in", leverage=10, max_leverage=20)
    r = run(b, cfg, entry={0: 1})
    (t,) = r.trades.itertuples()
    liq = 90_000 / 975
    assert t.exit_reason == "liquidation" and t.exit_price == pytest.approx(liq)
    assert r.metrics["final_equity"] == pytest.approx(0.025 * 1000 * liq)
    assert r.metrics["liquidations"] == 1


def test_stop_tighter_than_liquidation_fills_first() -> None:
    b = bars([flat(100), flat(100), (99, 99, 90, 91), flat(91)])
    cfg = config(sizing="all_in", leverage=10, max_leverage=20)
    r = run(b, cfg, entry={0: 1}, stop={0: 97})
    assert r.trades["exit_reason"].iloc[0] == "stop_loss"
    assert r.trades["exit_price"].iloc[0] == 97


def test_limit_entry_needs_a_trade_through_and_fills_at_limit_with_maker_fee() -> None:
    b = bars([flat(100), (100, 101, 98, 99), (99, 100, 97, 99), flat(99)])
    kind = {0: 1}
    # bar 1 only touches 98 (no fill); ttl 2 keeps the order for bar 2, which trades through
    r = run(b, config(entry_ttl=2, maker_fee=0.0001), entry={0: 1}, entry_kind=kind,
            entry_price={0: 98.0})  # fmt: skip
    (t,) = r.trades.itertuples()
    assert (t.entry_bar, t.entry_price) == (2, 98.0)
    assert t.fees == pytest.approx(10_000 / 98 * 98 * 0.0001 + 10_000 / 98 * 99 * 0.0)


def test_limit_entry_expires_after_ttl() -> None:
    b = bars([flat(100), (100, 101, 98, 99), (99, 100, 97, 99), flat(99)])
    r = run(b, config(entry_ttl=1), entry={0: 1}, entry_kind={0: 1}, entry_price={0: 98.0})
    assert len(r.trades) == 0


def test_limit_entry_gapped_fills_at_the_better_open() -> None:
    b = bars([flat(100), (96, 97, 95, 96), flat(96)])
    r = run(b, config(), entry={0: 1}, entry_kind={0: 1}, entry_price={0: 98.0})
    assert r.trades["entry_price"].iloc[0] == 96


def test_stop_entry_fills_at_stop_or_worse_open() -> None:
    b = bars([flat(100), (100, 103, 99, 102), flat(102)])
    r = run(b, config(), entry={0: 1}, entry_kind={0: 2}, entry_price={0: 102.5})
    assert r.trades["entry_price"].iloc[0] == 102.5
    b = bars([flat(100), (104, 105, 103, 104), flat(104)])
    r = run(b, config(), entry={0: 1}, entry_kind={0: 2}, entry_price={0: 102.5})
    assert r.trades["entry_price"].iloc[0] == 104


def test_intrabar_entry_checks_only_the_stop_in_its_bar() -> None:
    # stop entry at 102 fills inside bar 1; that bar also reaches the target 104 and the stop 99
    b = bars([flat(100), (100, 105, 98, 101), flat(101)])
    r = run(b, config(), entry={0: 1}, entry_kind={0: 2}, entry_price={0: 102},
            stop={0: 99}, target={0: 104})  # fmt: skip
    t = r.trades.iloc[0]
    assert t["exit_reason"] == "stop_loss" and t["exit_bar"] == 1


def test_trailing_stop_follows_the_high_and_exits() -> None:
    b = bars([flat(100), (100, 104, 100, 104), (104, 110, 104, 109), (108, 108, 104, 104),
              flat(104)])  # fmt: skip
    r = run(b, config(), entry={0: 1}, trail={0: 5.0})
    (t,) = r.trades.itertuples()
    # highest high through bar 2 = 110 -> trail 105, hit in bar 3
    assert t.exit_reason == "trailing_stop" and t.exit_price == 105 and t.exit_bar == 3


def test_opposite_entry_reverses_at_the_next_open() -> None:
    b = bars([flat(100), flat(100), flat(110), flat(105), flat(105)])
    r = run(b, config(), entry={0: 1, 1: -1}, exit_short={3: True})
    assert list(r.trades["side"]) == ["long", "short"]
    assert list(r.trades["entry_bar"]) == [1, 2]
    assert r.trades["exit_bar"].iloc[0] == 2


def test_open_position_closed_at_end_of_data() -> None:
    b = bars([flat(100), flat(100), flat(120)])
    r = run(b, config(taker_fee=0.001), entry={0: 1})
    t = r.trades.iloc[0]
    assert t["exit_reason"] == "end_of_data" and t["exit_price"] == 120
    assert r.metrics["final_equity"] == pytest.approx(
        CASH + 2000 - 100 * 100 * 0.001 - 100 * 120 * 0.001
    )


def test_entry_skipped_when_open_gaps_beyond_its_stop() -> None:
    b = bars([flat(100), flat(90), flat(90)])
    r = run(b, config(), entry={0: 1}, stop={0: 95})
    assert len(r.trades) == 0 and r.metrics["skipped_entries"] == 1


def test_size_step_rounds_quantity_down() -> None:
    b = bars([flat(30), flat(30), flat(30)])
    r = run(b, config(size_step=1.0), entry={0: 1})
    assert r.trades["size"].iloc[0] == 333
