"""Order lifecycle through the unmodified SDK: place, query by oid/cloid, cancel, modify, triggers."""

from __future__ import annotations

import time

from hyperliquid.utils.signing import float_to_wire
from hyperliquid.utils.types import Cloid

from actors.venues.simulator.numbers import round_px
from tests.sim.conformance.conftest import VenueUnderTest, ok_statuses, wait_nonce_tick

GTC = {"limit": {"tif": "Gtc"}}
IOC = {"limit": {"tif": "Ioc"}}


def _below_mid(venue: VenueUnderTest, coin: str = "ETH", frac: float = 0.9) -> float:
    mid = float(venue.info().all_mids()[coin])
    return round_px(mid * frac, 4 if coin == "ETH" else 5)


def _cloid() -> Cloid:
    return Cloid.from_int(time.time_ns() % (1 << 64))


def test_place_query_by_oid_and_cloid_then_cancel(venue: VenueUnderTest) -> None:
    w = venue.new_wallet()
    ex, info = venue.exchange(w), venue.info()
    px, cloid = _below_mid(venue), _cloid()
    (st,) = ok_statuses(ex.order("ETH", True, 0.01, px, GTC, cloid=cloid))
    oid = st["resting"]["oid"]
    assert st["resting"]["cloid"] == cloid.to_raw()
    by_oid = info.query_order_by_oid(w.address, oid)
    by_cloid = info.query_order_by_cloid(w.address, cloid)
    assert by_oid == by_cloid
    assert by_oid["status"] == "order" and by_oid["order"]["status"] == "open"
    assert (
        by_oid["order"]["order"]["limitPx"] == float_to_wire(px)
        or float(by_oid["order"]["order"]["limitPx"]) == px
    )
    assert [o["oid"] for o in info.open_orders(w.address)] == [oid]
    front = info.frontend_open_orders(w.address)[0]
    assert (front["orderType"], front["tif"], front["cloid"]) == ("Limit", "Gtc", cloid.to_raw())
    wait_nonce_tick()
    assert ok_statuses(ex.cancel("ETH", oid)) == ["success"]
    assert info.query_order_by_oid(w.address, oid)["order"]["status"] == "canceled"
    assert info.open_orders(w.address) == []
    wait_nonce_tick()
    (again,) = ok_statuses(ex.cancel("ETH", oid))
    assert again["error"].startswith("Order was never placed, already canceled, or filled.")


def test_cancel_by_cloid(venue: VenueUnderTest) -> None:
    w = venue.new_wallet()
    ex, info = venue.exchange(w), venue.info()
    cloid = _cloid()
    ok_statuses(ex.order("ETH", True, 0.01, _below_mid(venue), GTC, cloid=cloid))
    wait_nonce_tick()
    assert ok_statuses(ex.cancel_by_cloid("ETH", cloid)) == ["success"]
    assert info.query_order_by_cloid(w.address, cloid)["order"]["status"] == "canceled"


def test_unknown_oid_and_cloid(venue: VenueUnderTest) -> None:
    info = venue.info()
    assert info.query_order_by_oid(venue.address, 1) == {"status": "unknownOid"}
    assert info.query_order_by_cloid(venue.address, Cloid.from_int(12345)) == {
        "status": "unknownOid"
    }


def test_modify_and_batch_modify(venue: VenueUnderTest) -> None:
    w = venue.new_wallet()
    ex, info = venue.exchange(w), venue.info()
    px = _below_mid(venue)
    oid = ok_statuses(ex.order("ETH", True, 0.01, px, GTC))[0]["resting"]["oid"]
    wait_nonce_tick()
    new_px = _below_mid(venue, frac=0.85)
    (st,) = ok_statuses(ex.modify_order(oid, "ETH", True, 0.02, new_px, GTC))
    new_oid = st["resting"]["oid"]
    (o,) = info.open_orders(w.address)
    assert o["oid"] == new_oid and float(o["sz"]) == 0.02 and float(o["limitPx"]) == new_px
    assert info.query_order_by_oid(w.address, oid)["order"]["status"] == "canceled"
    wait_nonce_tick()
    cloid = _cloid()
    oid2 = ok_statuses(ex.order("ETH", True, 0.01, px, GTC, cloid=cloid))[0]["resting"]["oid"]
    wait_nonce_tick()
    reqs = [
        {
            "oid": new_oid,
            "order": {
                "coin": "ETH",
                "is_buy": True,
                "sz": 0.03,
                "limit_px": new_px,
                "order_type": GTC,
                "reduce_only": False,
            },
        },
        {
            "oid": cloid,
            "order": {
                "coin": "ETH",
                "is_buy": True,
                "sz": 0.04,
                "limit_px": px,
                "order_type": GTC,
                "reduce_only": False,
                "cloid": cloid,
            },
        },
    ]
    statuses = ok_statuses(ex.bulk_modify_orders_new(reqs))
    assert len(statuses) == 2 and all("resting" in s for s in statuses)
    sizes = sorted(float(o["sz"]) for o in info.open_orders(w.address))
    assert sizes == [0.03, 0.04]
    assert info.query_order_by_cloid(w.address, cloid)["order"]["order"]["oid"] != oid2
    wait_nonce_tick()
    (bad,) = ok_statuses(ex.modify_order(oid, "ETH", True, 0.02, new_px, GTC))
    assert bad["error"].startswith("Order was never placed, already canceled, or filled.")


def test_market_order_fills_with_fees_and_position(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 0.01), (100_020, 5.0)])
    w = venue.new_wallet()
    ex, info = venue.exchange(w), venue.info()
    (st,) = ok_statuses(ex.market_open("BTC", True, 0.02))
    assert st["filled"]["totalSz"] == "0.02"
    assert float(st["filled"]["avgPx"]) == 100_015.0
    fills = info.user_fills(w.address)
    assert [f["px"] for f in fills] == ["100020.0", "100010.0"]  # newest first
    assert all(f["crossed"] for f in fills)
    assert float(fills[0]["fee"]) == round(100_020 * 0.01 * 0.00045, 6)
    (pos,) = info.user_state(w.address)["assetPositions"]
    assert pos["position"]["szi"] == "0.02" and float(pos["position"]["entryPx"]) == 100_015.0
    wait_nonce_tick()
    (close,) = ok_statuses(ex.market_close("BTC"))
    assert close["filled"]["totalSz"] == "0.02"
    assert info.user_state(w.address)["assetPositions"] == []
    assert info.user_fills(w.address)[0]["dir"] == "Close Long"


def test_reduce_only(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 5.0)])
    w = venue.new_wallet()
    ex, info = venue.exchange(w), venue.info()
    (st,) = ok_statuses(ex.order("BTC", False, 0.01, 99_000, IOC, reduce_only=True))
    assert st["error"].startswith("Reduce only order would increase position.")
    wait_nonce_tick()
    ok_statuses(ex.order("BTC", True, 0.01, 100_010, IOC))
    wait_nonce_tick()
    (st,) = ok_statuses(ex.order("BTC", False, 0.05, 99_000, IOC, reduce_only=True))
    assert st["filled"]["totalSz"] == "0.01"  # clamped to the position
    assert info.user_state(w.address)["assetPositions"] == []


def test_stop_loss_and_take_profit_with_normal_tpsl(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 5.0)])
    w = venue.new_wallet()
    ex, info = venue.exchange(w), venue.info()
    entry = {
        "coin": "BTC",
        "is_buy": True,
        "sz": 0.01,
        "limit_px": 100_010,
        "order_type": IOC,
        "reduce_only": False,
    }
    sl = {
        "coin": "BTC",
        "is_buy": False,
        "sz": 0.01,
        "limit_px": 90_000,
        "reduce_only": True,
        "order_type": {"trigger": {"triggerPx": 95_000, "isMarket": True, "tpsl": "sl"}},
    }
    tp = {
        "coin": "BTC",
        "is_buy": False,
        "sz": 0.01,
        "limit_px": 110_000,
        "reduce_only": True,
        "order_type": {"trigger": {"triggerPx": 110_000, "isMarket": False, "tpsl": "tp"}},
    }
    statuses = ok_statuses(ex.bulk_orders([entry, sl, tp], grouping="normalTpsl"))
    assert "filled" in statuses[0] and statuses[1:] == ["waitingForTrigger", "waitingForTrigger"]
    front = {o["orderType"]: o for o in info.frontend_open_orders(w.address)}
    assert set(front) == {"Stop Market", "Take Profit Limit"}
    assert front["Stop Market"]["triggerCondition"] == "Price below 95000.0"
    assert front["Stop Market"]["isTrigger"] and front["Stop Market"]["tif"] is None
    sim.set_book("BTC", bids=[(94_900, 5.0)], asks=[(94_910, 5.0)])
    assert info.user_state(w.address)["assetPositions"] == []
    sl_status = info.query_order_by_oid(w.address, front["Stop Market"]["oid"])["order"]["status"]
    tp_status = info.query_order_by_oid(w.address, front["Take Profit Limit"]["oid"])["order"][
        "status"
    ]
    assert (sl_status, tp_status) == ("filled", "reduceOnlyCanceled")
    assert info.user_fills(w.address)[0]["dir"] == "Close Long"


def test_waiting_for_fill_children(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 5.0)])
    w = venue.new_wallet()
    ex, info = venue.exchange(w), venue.info()
    entry = {
        "coin": "BTC",
        "is_buy": True,
        "sz": 0.01,
        "limit_px": 99_000,
        "order_type": GTC,
        "reduce_only": False,
    }
    sl = {
        "coin": "BTC",
        "is_buy": False,
        "sz": 0.01,
        "limit_px": 90_000,
        "reduce_only": True,
        "order_type": {"trigger": {"triggerPx": 95_000, "isMarket": True, "tpsl": "sl"}},
    }
    statuses = ok_statuses(ex.bulk_orders([entry, sl], grouping="normalTpsl"))
    assert "resting" in statuses[0] and statuses[1] == "waitingForFill"
    (parent,) = info.frontend_open_orders(w.address)
    assert len(parent["children"]) == 1 and parent["children"][0]["orderType"] == "Stop Market"
    sim.set_book("BTC", bids=[(98_900, 5.0)], asks=[(98_990, 5.0)])
    types = sorted(o["orderType"] for o in info.frontend_open_orders(w.address))
    assert types == ["Stop Market"]


def test_update_leverage_changes_margin(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 5.0)])
    w = venue.new_wallet()
    ex, info = venue.exchange(w), venue.info()
    assert ex.update_leverage(5, "BTC") == {"status": "ok", "response": {"type": "default"}}
    wait_nonce_tick()
    ok_statuses(ex.order("BTC", True, 0.1, 100_010, IOC))
    (pos,) = info.user_state(w.address)["assetPositions"]
    assert pos["position"]["leverage"] == {"type": "cross", "value": 5}
    assert float(pos["position"]["marginUsed"]) == round(0.1 * 100_005 / 5, 6)
    wait_nonce_tick()
    bad = ex.update_leverage(41, "BTC")
    assert bad["status"] == "err"


def test_schedule_cancel_cancels_all_orders(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    w = venue.new_wallet()
    ex, info = venue.exchange(w), venue.info()
    ok_statuses(ex.order("ETH", True, 0.01, _below_mid(venue), GTC))
    wait_nonce_tick()
    sim_now = sim.venue.now
    assert ex.schedule_cancel(sim_now + 1_000)["status"] == "err"  # < now + 5 s
    wait_nonce_tick()
    assert ex.schedule_cancel(sim_now + 60_000) == {"status": "ok", "response": {"type": "default"}}
    assert len(info.open_orders(w.address)) == 1
    sim.clock.advance(seconds=61)
    assert info.open_orders(w.address) == []


def test_fills_by_time_and_historical_orders(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 5.0)])
    w = venue.new_wallet()
    ex, info = venue.exchange(w), venue.info()
    ok_statuses(ex.order("BTC", True, 0.01, 100_010, IOC))
    t_first = sim.venue.now
    sim.clock.advance(seconds=60)
    wait_nonce_tick()
    ok_statuses(ex.order("BTC", False, 0.01, 100_000, IOC))
    both = info.user_fills_by_time(w.address, t_first)
    assert [f["dir"] for f in both] == ["Close Long", "Open Long"]  # newest first
    only_second = info.user_fills_by_time(w.address, t_first + 1)
    assert [f["dir"] for f in only_second] == ["Close Long"]
    assert info.user_fills_by_time(w.address, t_first, t_first) == both[1:]
    hist = info.historical_orders(w.address)
    assert [h["status"] for h in hist] == ["filled", "filled"]
    assert hist[0]["order"]["tif"] == "Ioc" and hist[0]["order"]["sz"] == "0.0"
