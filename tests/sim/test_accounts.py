"""Position accounting, fees, funding, margin and liquidation maths."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.venues.simulator import accounts as acc


def test_open_add_reduce_flip() -> None:
    a = acc.Account("0x" + "1" * 40, 1000.0)
    r = acc.apply_fill(a, "BTC", True, 100.0, 2.0, 0.0)
    assert (r.direction, a.szi("BTC")) == ("Open Long", 2.0)
    acc.apply_fill(a, "BTC", True, 110.0, 2.0, 0.0)
    assert a.positions["BTC"].entry_px == pytest.approx(105.0)
    r = acc.apply_fill(a, "BTC", False, 120.0, 1.0, 0.0)
    assert r.direction == "Close Long" and r.closed_pnl == pytest.approx(15.0)
    r = acc.apply_fill(a, "BTC", False, 100.0, 5.0, 0.0)
    assert r.direction == "Long > Short"
    assert r.closed_pnl == pytest.approx(-15.0)  # 3 closed at 100 vs entry 105
    assert a.szi("BTC") == pytest.approx(-2.0) and a.positions["BTC"].entry_px == 100.0
    assert a.usdc == pytest.approx(1000.0)


def test_fees_are_charged_on_notional() -> None:
    a = acc.Account("0x" + "1" * 40, 1000.0)
    r = acc.apply_fill(a, "BTC", True, 100.0, 1.0, acc.TAKER_FEE)
    assert r.fee == pytest.approx(0.045)
    assert a.usdc == pytest.approx(1000.0 - 0.045)


def test_funding_longs_pay_positive_rate() -> None:
    a = acc.Account("0x" + "1" * 40, 1000.0)
    acc.apply_fill(a, "BTC", True, 100.0, 2.0, 0.0)
    pay = acc.apply_funding(a, "BTC", 100.0, 0.001)
    assert pay == pytest.approx(-0.2) and a.usdc == pytest.approx(999.8)
    assert a.positions["BTC"].cum_all == pytest.approx(0.2)
    b = acc.Account("0x" + "2" * 40, 1000.0)
    acc.apply_fill(b, "BTC", False, 100.0, 2.0, 0.0)
    assert acc.apply_funding(b, "BTC", 100.0, 0.001) == pytest.approx(0.2)


@given(
    st.floats(min_value=50, max_value=2000),
    st.floats(min_value=0.5, max_value=20),
    st.booleans(),
    st.integers(min_value=2, max_value=50),
)
def test_liquidation_price_is_where_value_meets_maintenance(
    usdc: float, sz: float, long: bool, max_lev: int
) -> None:
    a = acc.Account("0x" + "1" * 40, usdc)
    acc.apply_fill(a, "X", long, 100.0, sz, 0.0)
    liq = acc.liquidation_px(a, "X", {"X": 100.0}, {"X": max_lev})
    if liq is None:
        return
    marks = {"X": liq}
    assert acc.account_value(a, marks) == pytest.approx(
        acc.maintenance_margin(a, marks, {"X": max_lev}), rel=1e-6, abs=1e-6
    )
    just_past = {"X": liq * (0.999 if long else 1.001)}
    assert acc.is_liquidatable(a, just_past, {"X": max_lev})


def test_isolated_position_has_its_own_margin_and_liquidation() -> None:
    a = acc.Account("0x" + "1" * 40, 1000.0)
    a.leverage["X"] = ("isolated", 10)
    acc.apply_fill(a, "X", False, 100.0, 4.0, 0.0, 10)  # short 4 @ 100: 40 USDC isolated
    marks, max_lev = {"X": 101.0}, {"X": 20}
    p = a.positions["X"]
    assert p.iso_margin == pytest.approx(40.0)
    assert acc.cross_value(a, marks) == pytest.approx(960.0)  # isolated loss does not touch cross
    assert acc.position_margin(a, "X", marks, max_lev) == pytest.approx(40.0 - 4.0)
    liq = acc.liquidation_px(a, "X", marks, max_lev)
    assert liq is not None and 100 < liq < 110
    at_liq = {"X": liq}
    assert p.iso_margin + acc.unrealized(p, liq) == pytest.approx(4 * liq / 40)
    assert acc.liquidatable_coins(a, {"X": liq + 0.01}, max_lev) == ["X"]
    assert acc.liquidatable_coins(a, at_liq | {"X": liq - 0.01}, max_lev) == []
    acc.apply_fill(a, "X", True, 100.0, 2.0, 0.0, 10)
    assert a.positions["X"].iso_margin == pytest.approx(20.0)  # half closed, half released
