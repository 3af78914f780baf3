"""A malformed action changes nothing, wherever the bad item sits in the batch (issue #14).

The venue deserializes the whole request before it checks the signature or uses the nonce, so a
batch [good, bad] is an HTTP 422 with no order, no fill, no cancel and the nonce still unused. A
client reads 422 as "nothing happened" and re-sends: anything applied would execute twice.
Every state-changing reply is also on disk before the client hears of it.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from eth_account.signers.local import LocalAccount
from hyperliquid.utils.signing import (
    get_timestamp_ms,
    order_request_to_order_wire,
    order_wires_to_order_action,
    sign_l1_action,
)
from hyperliquid.utils.types import Cloid

from actors.venues.simulator import errors, state, views
from actors.venues.simulator.engine import Venue
from tests.sim.conformance.conftest import VenueUnderTest, ok_statuses, wait_nonce_tick

GTC = {"limit": {"tif": "Gtc"}}
IOC = {"limit": {"tif": "Ioc"}}
ETH = 1


def _wire(coin_asset: int, is_buy: bool, sz: float, px: float, otype: dict, **kw: Any) -> dict:
    req = {"coin": "", "is_buy": is_buy, "sz": sz, "limit_px": px, "order_type": otype}
    req["reduce_only"] = kw.get("reduce_only", False)
    if "cloid" in kw:
        req["cloid"] = Cloid.from_int(kw["cloid"])
    return order_request_to_order_wire(req, coin_asset)  # type: ignore[arg-type]


def _post(venue: VenueUnderTest, w: LocalAccount, action: dict, nonce: int) -> requests.Response:
    """Sign exactly what is sent (so the signature is valid even for a malformed action)."""
    sig = sign_l1_action(w, action, None, nonce, None, False)
    body = {
        "action": action,
        "nonce": nonce,
        "signature": sig,
        "vaultAddress": None,
        "expiresAfter": None,
    }
    return requests.post(venue.base_url + "/exchange", json=body, timeout=10)


def _snapshot(venue: VenueUnderTest, addr: str) -> dict[str, Any]:
    info = venue.info()
    return {
        "account": info.user_state(addr),
        "orders": info.frontend_open_orders(addr),
        "history": info.post("/info", {"type": "historicalOrders", "user": addr}),
        "fills": info.user_fills(addr),
    }


def _assert_untouched_422(
    venue: VenueUnderTest, w: LocalAccount, bad: dict, good: dict, before: dict
) -> None:
    """`bad` is a 422 that changes nothing; the same nonce then still works for `good`."""
    nonce = get_timestamp_ms()
    r = _post(venue, w, bad, nonce)
    assert (r.status_code, r.text) == (422, errors.DESERIALIZE)
    assert _snapshot(venue, w.address) == before
    reply = _post(venue, w, good, nonce).json()  # a 422 never consumed the nonce
    assert reply["status"] == "ok", reply


@pytest.fixture()
def books(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 5.0)])
    sim.set_book("ETH", bids=[(3000, 50.0)], asks=[(3001, 50.0)])


BAD_ITEMS = {
    "bad cloid": lambda w: {**w, "c": "0x1234"},
    "unknown tif": lambda w: {**w, "t": {"limit": {"tif": "Fok"}}},
    "missing size": lambda w: {k: v for k, v in w.items() if k != "s"},
    "size not a string": lambda w: {**w, "s": 0.01},
    "reduce-only not a bool": lambda w: {**w, "r": "false"},
    "trigger without tpsl": lambda w: {
        **w,
        "t": {"trigger": {"isMarket": True, "triggerPx": "2900"}},
    },
}


@pytest.mark.parametrize("where", ["end", "middle"])
@pytest.mark.parametrize("defect", sorted(BAD_ITEMS))
def test_order_batch_with_a_bad_item_changes_nothing(
    venue: VenueUnderTest, books: None, defect: str, where: str
) -> None:
    w = venue.new_wallet()
    before = _snapshot(venue, w.address)
    fill = _wire(ETH, True, 0.1, 3010, IOC, cloid=1)  # would fill at once
    rest = _wire(ETH, True, 0.1, 2900, GTC, cloid=2)  # would rest
    bad = BAD_ITEMS[defect](_wire(ETH, True, 0.1, 2950, GTC, cloid=3))
    batch = [fill, bad, rest] if where == "middle" else [fill, rest, bad]
    good = order_wires_to_order_action([rest])
    _assert_untouched_422(venue, w, order_wires_to_order_action(batch), good, before)
    assert [o["cloid"] for o in venue.info().open_orders(w.address)] == [str(Cloid.from_int(2))]


def test_normal_tpsl_group_with_a_bad_child_changes_nothing(
    venue: VenueUnderTest, books: None
) -> None:
    w = venue.new_wallet()
    before = _snapshot(venue, w.address)
    entry = _wire(ETH, True, 0.1, 3010, IOC)
    stop = _wire(
        ETH,
        False,
        0.1,
        2800,
        {"trigger": {"triggerPx": 2900, "isMarket": True, "tpsl": "sl"}},
        reduce_only=True,
    )
    bad = {**stop, "t": {"trigger": {**stop["t"]["trigger"], "isMarket": "yes"}}}
    action = order_wires_to_order_action([entry, bad], grouping="normalTpsl")
    good = order_wires_to_order_action([_wire(ETH, True, 0.1, 2900, GTC)])
    _assert_untouched_422(venue, w, action, good, before)


def _rest_two(venue: VenueUnderTest, w: LocalAccount) -> list[int]:
    ex = venue.exchange(w)
    oids = []
    for i, px in enumerate((2900, 2800)):
        wait_nonce_tick()
        st = ok_statuses(ex.order("ETH", True, 0.1, px, GTC, cloid=Cloid.from_int(10 + i)))
        oids.append(st[0]["resting"]["oid"])
    return oids


@pytest.mark.parametrize("where", ["end", "middle"])
def test_cancel_batch_with_a_bad_item_cancels_nothing(
    venue: VenueUnderTest, books: None, where: str
) -> None:
    w = venue.new_wallet()
    a, b = _rest_two(venue, w)
    before = _snapshot(venue, w.address)
    bad = {"a": ETH}  # no "o"
    cancels = [{"a": ETH, "o": a}, bad, {"a": ETH, "o": b}]
    if where == "end":
        cancels = [cancels[0], cancels[2], bad]
    action = {"type": "cancel", "cancels": cancels}
    good = {"type": "cancel", "cancels": [{"a": ETH, "o": a}]}
    _assert_untouched_422(venue, w, action, good, before)
    assert [o["oid"] for o in venue.info().open_orders(w.address)] == [b]


@pytest.mark.parametrize("where", ["end", "middle"])
def test_cancel_by_cloid_batch_with_a_bad_item_cancels_nothing(
    venue: VenueUnderTest, books: None, where: str
) -> None:
    w = venue.new_wallet()
    a, b = _rest_two(venue, w)
    before = _snapshot(venue, w.address)
    ca, cb = str(Cloid.from_int(10)), str(Cloid.from_int(11))
    bad = {"asset": ETH, "cloid": "0xnothex"}
    cancels = [{"asset": ETH, "cloid": ca}, bad, {"asset": ETH, "cloid": cb}]
    if where == "end":
        cancels = [cancels[0], cancels[2], bad]
    action = {"type": "cancelByCloid", "cancels": cancels}
    good = {"type": "cancelByCloid", "cancels": [{"asset": ETH, "cloid": cb}]}
    _assert_untouched_422(venue, w, action, good, before)
    assert [o["oid"] for o in venue.info().open_orders(w.address)] == [a]


@pytest.mark.parametrize("where", ["end", "middle"])
def test_batch_modify_with_a_bad_item_modifies_nothing(
    venue: VenueUnderTest, books: None, where: str
) -> None:
    w = venue.new_wallet()
    a, b = _rest_two(venue, w)
    before = _snapshot(venue, w.address)
    good_a = {"oid": a, "order": _wire(ETH, True, 0.1, 2950, GTC, cloid=10)}
    good_b = {"oid": b, "order": _wire(ETH, True, 0.1, 3010, IOC, cloid=11)}  # would fill
    bad = {"oid": b, "order": {**_wire(ETH, True, 0.1, 2850, GTC), "p": "not-a-price"}}
    modifies = [good_a, bad, good_b] if where == "middle" else [good_a, good_b, bad]
    action = {"type": "batchModify", "modifies": modifies}
    good = {"type": "batchModify", "modifies": [good_a]}
    _assert_untouched_422(venue, w, action, good, before)
    (resting,) = [o for o in venue.info().open_orders(w.address) if o["oid"] != b]
    assert resting["limitPx"] == "2950.0" and resting["oid"] != a  # only the good modify ran


def test_single_bad_actions_change_nothing(venue: VenueUnderTest, books: None) -> None:
    w = venue.new_wallet()
    (a, _) = _rest_two(venue, w)
    before = _snapshot(venue, w.address)
    good = {"type": "updateLeverage", "asset": ETH, "isCross": True, "leverage": 5}
    for bad in (
        {"type": "modify", "oid": a, "order": {**_wire(ETH, True, 0.1, 2950, GTC), "b": 1}},
        {"type": "updateLeverage", "asset": ETH, "isCross": "yes", "leverage": 5},
        {"type": "updateLeverage", "asset": ETH, "isCross": True, "leverage": 2.5},
        {"type": "scheduleCancel", "time": "soon"},
        {"type": "order", "orders": [_wire(ETH, True, 0.1, 2900, GTC)], "grouping": "oco"},
    ):
        nonce = get_timestamp_ms()
        r = _post(venue, w, bad, nonce)
        assert (r.status_code, r.text) == (422, errors.DESERIALIZE), bad
        assert _snapshot(venue, w.address) == before
        wait_nonce_tick()
    assert _post(venue, w, good, get_timestamp_ms()).json()["status"] == "ok"


def _on_disk(venue: VenueUnderTest) -> Venue:
    """The venue a crash-restart would come back with (read straight from the state file)."""
    sim = venue.controls()
    assert sim.cfg.state_dir is not None
    saved = state.load(sim.cfg.state_dir)
    assert saved is not None
    v = Venue(None, sim.cfg.symbols, int(saved["now"]))
    state.restore(v, saved)
    return v


def test_every_state_changing_reply_is_already_on_disk(venue: VenueUnderTest, books: None) -> None:
    sim = venue.controls()
    w = venue.new_wallet()
    ex = venue.exchange(w)
    user = w.address.lower()

    def same_as_live() -> None:
        disk = _on_disk(venue)
        for view in (views.clearinghouse_state, views.historical_orders, views.user_fills):
            assert view(disk, user) == view(sim.venue, user), view.__name__

    steps = [
        lambda: ex.order("ETH", True, 0.1, 3010, IOC),
        lambda: ex.order("ETH", True, 0.1, 2900, GTC, cloid=Cloid.from_int(21)),
        lambda: ex.modify_order(Cloid.from_int(21), "ETH", True, 0.1, 2950, GTC),
        lambda: ex.cancel_by_cloid("ETH", Cloid.from_int(21)),
        lambda: ex.update_leverage(3, "ETH"),
        lambda: ex.market_close("ETH"),
    ]
    for step in steps:
        wait_nonce_tick()
        assert step()["status"] == "ok"
        same_as_live()


def test_a_failure_part_way_through_is_a_5xx_and_what_was_applied_is_persisted(
    venue: VenueUnderTest, books: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A simulator bug after part of an action ran must not look like 'nothing happened' (422):
    the client gets a 5xx (unknown outcome), and a lookup by cloid and a restart both show
    what was applied."""
    sim = venue.controls()
    w = venue.new_wallet()
    real = Venue.place_orders

    def place_then_fail(self: Venue, *args: Any, **kw: Any) -> list[Any]:
        real(self, *args, **kw)
        raise KeyError("simulated bug after the orders were placed")

    monkeypatch.setattr(Venue, "place_orders", place_then_fail)
    nonce = get_timestamp_ms()
    action = order_wires_to_order_action([_wire(ETH, True, 0.1, 3010, IOC, cloid=31)])
    r = _post(venue, w, action, nonce)
    assert r.status_code == 500
    monkeypatch.setattr(Venue, "place_orders", real)
    st = venue.info().query_order_by_cloid(w.address, Cloid.from_int(31))
    assert st["order"]["status"] == "filled"
    disk = _on_disk(venue)
    assert disk.accounts[w.address.lower()].szi("ETH") == pytest.approx(0.1)
    assert views.user_fills(disk, w.address.lower()) == views.user_fills(
        sim.venue, w.address.lower()
    )
