"""Order-entry rules, matching and triggers on the pure venue core (no server)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.venues.simulator import errors
from actors.venues.simulator.engine import Venue
from actors.venues.simulator.ticks import advance_to, set_book
from actors.venues.simulator.views import clearinghouse_state, order_status
from tests.sim.helpers import MIN, OTHER, T0, USER, order_spec, scripted_venue, synthetic_market


def place(v: Venue, **kw: Any) -> Any:
    return v.place_orders(kw.pop("user", USER), [order_spec(**kw)], kw.pop("grouping", "na"))[0]


def test_gtc_rests_and_ioc_walks_the_book() -> None:
    v = scripted_venue()
    assert "resting" in place(v, px="99000", sz="0.01")
    st = place(v, px="100020", sz="1.5", tif="Ioc")
    assert st["filled"]["totalSz"] == "1.5"
    assert float(st["filled"]["avgPx"]) == pytest.approx((100010 * 1 + 100020 * 0.5) / 1.5)
    assert v.accounts[USER].szi("BTC") == pytest.approx(1.5)


def test_per_order_errors_carry_asset_suffix() -> None:
    v = scripted_venue()
    assert place(v, px="100000", sz="0.00001")["error"] == f"{errors.MIN_NOTIONAL} asset=0"
    assert place(v, px="100000.55", sz="0.01")["error"].startswith(errors.INVALID_PRICE)
    assert place(v, asset=1, px="3000.12", sz="1")["error"].startswith(errors.TICK)
    assert place(v, px="100000", sz="0")["error"].startswith(errors.ZERO_SIZE)
    assert place(v, px="300000", sz="0.01")["error"].startswith(errors.PRICE_BAND)
    assert place(v, px="100000", sz="60")["error"].startswith(errors.TOO_LARGE)
    assert place(v, px="100000", sz="3", tif="Gtc")["error"].startswith(errors.INSUFFICIENT_MARGIN)
    assert place(v, is_buy=False, px="100000", sz="0.01", reduce_only=True)["error"].startswith(
        errors.REDUCE_ONLY
    )
    assert place(v, px="100010", sz="0.01", tif="Alo")["error"].startswith(
        "Post only order would have immediately matched, bbo was "
    )
    assert place(v, px="99000", sz="0.01", tif="Ioc")["error"].startswith(errors.IOC_CANCEL)


def test_rejected_order_is_found_by_cloid_with_its_status() -> None:
    v = scripted_venue()
    cloid = "0x" + "0" * 31 + "9"
    place(v, px="100000", sz="0.00001", cloid=cloid)
    st = order_status(v, USER, cloid)
    assert st["order"]["status"] == "minTradeNtlRejected"


def test_no_liquidity_when_opposite_side_empty() -> None:
    v = scripted_venue()
    set_book(v, "BTC", [(100000, 1.0)], [])
    assert place(v, px="100100", sz="0.01", tif="Ioc")["error"].startswith(errors.NO_LIQUIDITY)


def test_resting_order_fills_as_maker_when_book_moves_through_it() -> None:
    v = scripted_venue()
    oid = place(v, px="99500", sz="0.01")["resting"]["oid"]
    set_book(v, "BTC", [(99000, 1.0)], [(99400, 1.0)])
    assert v.orders[oid].status == "filled"
    fill = v.fills[USER][-1]
    assert fill["crossed"] is False and fill["px"] == "99500.0"
    assert float(fill["fee"]) == pytest.approx(99500 * 0.01 * 0.00015, rel=1e-6)


def test_users_match_each_other() -> None:
    v = scripted_venue()
    place(v, user=OTHER, is_buy=False, px="100005", sz="0.02")
    st = place(v, px="100010", sz="0.02", tif="Ioc")
    assert st["filled"]["avgPx"] == "100005.0"
    assert v.accounts[OTHER].szi("BTC") == pytest.approx(-0.02)


def test_stop_loss_fires_on_mark_and_reduce_only_siblings_cancel() -> None:
    v = scripted_venue()
    place(v, px="100010", sz="0.05", tif="Ioc")
    sl = place(
        v,
        is_buy=False,
        px="90000",
        sz="0.05",
        reduce_only=True,
        trigger={"isMarket": True, "triggerPx": "95000", "tpsl": "sl"},
    )["resting"]["oid"]
    tp = place(
        v,
        is_buy=False,
        px="110000",
        sz="0.05",
        reduce_only=True,
        trigger={"isMarket": False, "triggerPx": "110000", "tpsl": "tp"},
    )["resting"]["oid"]
    set_book(v, "BTC", [(94900, 5.0)], [(94910, 5.0)])
    assert v.orders[sl].status == "filled"
    assert v.accounts[USER].szi("BTC") == 0
    assert v.orders[tp].status == "reduceOnlyCanceled"


def test_trigger_on_wrong_side_of_mark_is_refused() -> None:
    v = scripted_venue()
    place(v, px="100010", sz="0.05", tif="Ioc")
    st = place(
        v,
        is_buy=False,
        px="100000",
        sz="0.05",
        reduce_only=True,
        trigger={"isMarket": True, "triggerPx": "101000", "tpsl": "sl"},
    )
    assert st["error"] == f"{errors.BAD_TRIGGER} asset=0"


def test_normal_tpsl_children_wait_for_fill() -> None:
    v = scripted_venue()
    entry = order_spec(px="99000", sz="0.01")
    sl = order_spec(
        is_buy=False,
        px="90000",
        sz="0.01",
        reduce_only=True,
        trigger={"isMarket": True, "triggerPx": "95000", "tpsl": "sl"},
    )
    out = v.place_orders(USER, [entry, sl], "normalTpsl")
    assert out[1] == "waitingForFill"
    set_book(v, "BTC", [(98900, 1.0)], [(98990, 1.0)])  # entry fills as maker at 99000
    child = [o for o in v.orders.values() if o.is_trigger][0]
    assert child.status == "open"


def test_replay_bars_funding_and_liquidation() -> None:
    closes = [100000.0] * 120 + [60000.0] * 10
    v = Venue(synthetic_market(closes), ["BTC"], T0 + MIN, {USER: 1_000.0})
    st = place(v, px="100200", sz="0.19", tif="Ioc")  # 19k notional on 1k: 19x
    assert "filled" in st
    advance_to(v, T0 + 90 * MIN)
    assert len(v.fundings[USER]) == 1
    assert float(v.fundings[USER][0]["delta"]["usdc"]) == pytest.approx(
        -0.19 * 100000 * 0.0001, rel=1e-3
    )
    advance_to(v, T0 + 125 * MIN)
    assert v.accounts[USER].szi("BTC") == 0
    assert "liquidation" in v.fills[USER][-1]
    assert clearinghouse_state(v, USER)["assetPositions"] == []


def test_schedule_cancel_cancels_everything_at_its_time() -> None:
    v = Venue(synthetic_market([100000.0] * 30), ["BTC"], T0 + MIN, {USER: 10_000.0})
    oid = place(v, px="99000", sz="0.01")["resting"]["oid"]
    assert v.schedule_cancel(USER, v.now + 1000) == errors.SCHEDULE_CANCEL_TOO_EARLY
    assert v.schedule_cancel(USER, v.now + 10 * MIN) is None
    advance_to(v, T0 + 12 * MIN)
    assert v.orders[oid].status == "scheduledCancel"


def test_self_trade_cancels_own_resting_order() -> None:
    v = scripted_venue()
    oid = place(v, is_buy=False, px="100005", sz="0.01")["resting"]["oid"]
    st = place(v, px="100010", sz="0.01", tif="Ioc")
    assert st["filled"]["avgPx"] == "100010.0"  # never filled against itself
    assert v.orders[oid].status == "selfTradeCanceled"


def test_modify_with_invalid_replacement_keeps_the_old_order() -> None:
    v = scripted_venue()
    oid = place(v, px="99000", sz="0.01")["resting"]["oid"]
    st = v.modify(USER, oid, order_spec(px="99000.55", sz="0.01"))
    assert st["error"].startswith(errors.INVALID_PRICE)
    assert v.orders[oid].status == "open"


def test_batch_error_answers_once_for_the_whole_batch() -> None:
    v = scripted_venue()
    v.batch_error_next.append("Order has invalid size.")
    out = v.place_orders(USER, [order_spec(px="99000"), order_spec(px="98000")], "na")
    assert out == [{"error": "Order has invalid size."}]
