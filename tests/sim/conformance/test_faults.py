"""Fault injection: 5xx, timeout after accept, partial fills, rejections, latency, silent and
dropped websockets, restart keeping state. Simulator only (needs controls)."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from hyperliquid.utils.error import ServerError
from hyperliquid.utils.types import Cloid

from tests.sim.conformance.conftest import VenueUnderTest, ok_statuses, wait_nonce_tick

IOC = {"limit": {"tif": "Ioc"}}
GTC = {"limit": {"tif": "Gtc"}}


@pytest.fixture(autouse=True)
def _clean_faults(venue: VenueUnderTest):
    yield
    if venue.sim is not None:
        venue.sim.faults.clear()


def test_5xx_before_processing(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    w = venue.new_wallet()
    ex, info = venue.exchange(w), venue.info()
    sim.faults.inject("http_5xx", count=1, path="/exchange")
    with pytest.raises(ServerError):
        ex.order("ETH", True, 0.01, 2000, GTC)
    assert info.open_orders(w.address) == []
    wait_nonce_tick()
    assert "resting" in ok_statuses(ex.order("ETH", True, 0.01, 2000, GTC))[0]


def test_timeout_after_accept_then_lookup_by_cloid(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    w = venue.new_wallet()
    ex, info = venue.exchange(w, timeout=0.5), venue.info()
    cloid = Cloid.from_int(77)
    sim.faults.inject("timeout_after_accept", count=1, hang_seconds=3)
    with pytest.raises(requests.exceptions.RequestException):
        ex.order("ETH", True, 0.01, 2000, GTC, cloid=cloid)
    st = info.query_order_by_cloid(w.address, cloid)
    assert st["status"] == "order" and st["order"]["status"] == "open"


def test_partial_fill(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 5.0)])
    w = venue.new_wallet()
    ex, info = venue.exchange(w), venue.info()
    sim.faults.inject("partial_fill", fraction=0.5)
    (st,) = ok_statuses(ex.order("BTC", True, 0.02, 100_010, IOC))
    assert st["filled"]["totalSz"] == "0.01"
    assert info.user_state(w.address)["assetPositions"][0]["position"]["szi"] == "0.01"
    wait_nonce_tick()
    sim.faults.inject("partial_fill", fraction=0.5)
    (st,) = ok_statuses(ex.order("BTC", True, 0.02, 100_010, GTC))
    (o,) = info.open_orders(w.address)
    assert o["oid"] == st["resting"]["oid"] and o["sz"] == "0.01" and o["origSz"] == "0.02"


def test_injected_rejection(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.faults.inject("reject", message="Insufficient margin to place order.", count=1)
    ex = venue.exchange(venue.new_wallet())
    (st,) = ok_statuses(ex.order("ETH", True, 0.01, 2000, GTC))
    assert st["error"] == "Insufficient margin to place order. asset=1"


def test_latency(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    info = venue.info()
    sim.faults.inject("latency", ms=300)
    t = time.monotonic()
    info.all_mids()
    assert time.monotonic() - t >= 0.3


def test_silent_then_dropped_websocket(venue: VenueUnderTest) -> None:
    """A silent socket delivers nothing while it looks connected. Proven without a timed wait:
    frames on one socket arrive in order, so once a marker pushed after the silence is seen,
    the push made during the silence can no longer arrive; it must not be among what came."""
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 5.0)])
    info = venue.info(ws=True)
    mids: list[str] = []
    seen = threading.Condition()

    def cb(msg: dict) -> None:
        with seen:
            mids.append(msg["data"]["mids"]["BTC"])
            seen.notify_all()

    def wait_for(mid: str) -> None:
        with seen:
            assert seen.wait_for(lambda: mid in mids, timeout=10), f"no allMids with {mid}"

    info.subscribe({"type": "allMids"}, cb)
    wait_for("100005.0")  # the snapshot
    sim.faults.inject("ws_silent")
    sim.set_book("BTC", bids=[(100_100, 5.0)], asks=[(100_110, 5.0)])  # pushed while silent
    assert info.ws_manager is not None and info.ws_manager.is_alive()  # looks connected
    sim.faults.inject("ws_silent", on=False)
    sim.set_book("BTC", bids=[(100_200, 5.0)], asks=[(100_210, 5.0)])  # the marker
    wait_for("100205.0")
    assert "100105.0" not in mids, "silent socket still delivered data"
    sim.faults.inject("ws_drop")
    info.ws_manager.join(timeout=10)
    assert not info.ws_manager.is_alive()  # the SDK never reconnects (python-sdk #145)


def test_restart_keeps_state(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 5.0)])
    w = venue.new_wallet()
    ex, info = venue.exchange(w), venue.info()
    ok_statuses(ex.order("BTC", True, 0.01, 100_010, IOC))
    wait_nonce_tick()
    oid = ok_statuses(ex.order("ETH", True, 0.01, 2000, GTC, cloid=Cloid.from_int(5)))[0][
        "resting"
    ]["oid"]
    before = info.user_state(w.address)
    url, now = venue.base_url, sim.venue.now
    sim.restart()
    assert sim.base_url == url and sim.venue.now == now
    after = info.user_state(w.address)
    assert after["assetPositions"] == before["assetPositions"]
    assert after["marginSummary"] == before["marginSummary"]
    assert [o["oid"] for o in info.open_orders(w.address)] == [oid]
    assert info.query_order_by_cloid(w.address, Cloid.from_int(5))["order"]["status"] == "open"
    wait_nonce_tick()
    (st,) = ok_statuses(ex.order("ETH", True, 0.01, 2000, GTC))
    assert st["resting"]["oid"] > oid  # oids keep increasing across restarts


def test_stale_book_freezes_market_data_but_not_user_data(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 5.0)])
    w = venue.new_wallet()
    info = venue.info(ws=True)
    books, updates = threading.Event(), threading.Event()
    info.subscribe({"type": "l2Book", "coin": "BTC"}, lambda m: books.set())
    info.subscribe({"type": "orderUpdates", "user": w.address}, lambda m: updates.set())
    assert books.wait(10), "no l2Book snapshot"
    sim.faults.inject("stale_book", coin="BTC")
    books.clear()
    sim.set_book("BTC", bids=[(100_100, 5.0)], asks=[(100_110, 5.0)])
    assert info.l2_snapshot("BTC")["levels"][0][0]["px"] == "100100.0"  # REST is current
    ex = venue.exchange(w)
    oid = ok_statuses(ex.order("BTC", True, 0.01, 99_000, GTC))[0]["resting"]["oid"]
    assert updates.wait(10), "user data stopped too"
    updates.clear()
    wait_nonce_tick()
    ex.cancel("BTC", oid)  # a later frame on the same socket: earlier book frames would be in
    assert updates.wait(10)
    assert not books.is_set(), "stale book still pushed l2Book"
