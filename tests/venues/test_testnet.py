"""The conformance basics against Hyperliquid testnet (skipped without HL_TESTNET_PRIVATE_KEY and
HL_TESTNET_ACCOUNT). Places one far-from-market limit order and cancels it; nothing fills."""

from __future__ import annotations

import time

import pytest

from actors.messages import make_cloid
from actors.venues.base import OrderRequest, Venue
from actors.venues.factory import VenueSpec, make_venue

pytestmark = pytest.mark.testnet


def test_testnet_conformance_basics(testnet_spec: VenueSpec) -> None:
    venue = make_venue(testnet_spec)
    try:
        assert isinstance(venue, Venue) and venue.name == "hyperliquid"
        assert venue.equity() > 0
        now = venue.now_ms()
        candles = venue.candles("ETH", "15m", now - 6 * 3_600_000, now)
        times = [c.time_ms for c in candles]
        assert times == sorted(set(times)) and all(t + 900_000 <= now for t in times)
        tag = str(time.time_ns())
        assert venue.order_by_cloid("ETH", make_cloid("testnet", "ETH", tag, "never")) is None
        c = make_cloid("testnet", "ETH", tag, "entry")
        price = candles[-1].close * 0.5  # far below the market: rests, never fills
        res = venue.place(
            OrderRequest(cloid=c, symbol="ETH", side="buy", size=0.01, kind="limit", price=price)
        )
        try:
            assert res.status == "resting"
            found = venue.order_by_cloid("ETH", c)
            assert found is not None and found.status == "open"
            assert c in {o.cloid for o in venue.open_orders()}
        finally:
            assert venue.cancel("ETH", c) is True
        gone = venue.order_by_cloid("ETH", c)
        assert gone is not None and gone.status == "canceled"
    finally:
        venue.close()
