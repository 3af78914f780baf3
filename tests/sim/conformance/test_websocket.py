"""Websocket subscriptions through the SDK's own WebsocketManager (callbacks on its thread)."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from tests.sim.conformance.conftest import VenueUnderTest, ok_statuses
from tests.sim.conformance.shapes import nautilus, shape_mismatches

IOC = {"limit": {"tif": "Ioc"}}
GTC = {"limit": {"tif": "Gtc"}}
WAIT = 10.0


class Recorder:
    """Collects frames per channel; tests wait on a condition instead of sleeping."""

    def __init__(self) -> None:
        self.frames: dict[str, list[Any]] = defaultdict(list)
        self.cond = threading.Condition()

    def __call__(self, msg: Any) -> None:
        with self.cond:
            self.frames[msg["channel"]].append(msg)
            self.cond.notify_all()

    def wait_for(self, channel: str, pred: Any = lambda m: True, timeout: float = WAIT) -> Any:
        with self.cond:
            found: list[Any] = []

            def ready() -> bool:
                found[:] = [m for m in self.frames[channel] if pred(m)]
                return bool(found)

            assert self.cond.wait_for(ready, timeout), f"no {channel} frame within {timeout}s"
            return found[-1]


def test_subscriptions_deliver_venue_shapes(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 5.0)])
    w = venue.new_wallet()
    info = venue.info(ws=True)
    rec = Recorder()
    user = w.address
    for sub in (
        {"type": "allMids"},
        {"type": "l2Book", "coin": "BTC"},
        {"type": "trades", "coin": "BTC"},
        {"type": "candle", "coin": "ETH", "interval": "1m"},
        {"type": "orderUpdates", "user": user},
        {"type": "userFills", "user": user},
        {"type": "userEvents", "user": user},
        {"type": "bbo", "coin": "BTC"},
    ):
        info.subscribe(sub, rec)  # type: ignore[arg-type]
    snap = rec.wait_for("userFills", lambda m: m["data"]["isSnapshot"])
    assert snap["data"]["user"] == user.lower() and snap["data"]["fills"] == []
    book = rec.wait_for("l2Book")
    assert shape_mismatches(book["data"], nautilus("ws_book_data.json")) == []
    assert book["data"]["levels"][1][0]["px"] == "100010.0"
    mids = rec.wait_for("allMids")
    recorded = nautilus("ws_allmids.json")
    recorded["data"]["mids"] = {
        k: v for k, v in recorded["data"]["mids"].items() if k in ("BTC", "ETH")
    }
    assert shape_mismatches(mids, recorded) == []

    ex = venue.exchange(w)
    (st,) = ok_statuses(ex.order("BTC", True, 0.01, 100_010, IOC))
    oid = st["filled"]["oid"]
    upd = rec.wait_for("orderUpdates", lambda m: any(u["order"]["oid"] == oid for u in m["data"]))
    (u,) = [u for u in upd["data"] if u["order"]["oid"] == oid]
    assert u["status"] == "filled" and u["order"]["coin"] == "BTC"
    fills = rec.wait_for("userFills", lambda m: not m["data"]["isSnapshot"])
    assert fills["data"]["fills"][0]["oid"] == oid
    events = rec.wait_for("user", lambda m: "fills" in m["data"])
    assert events["data"]["fills"][0]["oid"] == oid
    bbo = rec.wait_for("bbo")
    assert bbo["data"]["coin"] == "BTC" and set(bbo["data"]["bbo"][0]) == {"px", "sz", "n"}
    trades = rec.wait_for("trades")
    assert trades["data"][0]["px"] == "100010.0" and user.lower() in trades["data"][0]["users"]

    sim.clear_book("ETH")
    sim.clock.advance(seconds=120)
    candle = rec.wait_for("candle", lambda m: m["data"]["t"] >= sim.venue.now - 120_000)
    assert candle["data"]["s"] == "ETH" and candle["data"]["i"] == "1m"  # one object, not a list
    assert set(candle["data"]) == {"t", "T", "s", "i", "o", "c", "h", "l", "v", "n"}


def test_ping_gets_pong(venue: VenueUnderTest) -> None:
    import json

    import websocket

    ws = websocket.create_connection("ws" + venue.base_url[4:] + "/ws", timeout=WAIT)
    try:
        assert ws.recv() == "Websocket connection established."
        ws.send(json.dumps({"method": "ping"}))
        assert json.loads(ws.recv()) == {"channel": "pong"}
    finally:
        ws.close()
