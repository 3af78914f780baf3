"""The Venue conformance suite: the same behaviour from every venue implementation."""

from __future__ import annotations

import pytest

from actors.messages import make_cloid
from actors.venues.base import OrderRejected, OrderRequest, Venue, VenueUnavailable
from tests.venues.conftest import Harness


def cloid(tag: str) -> str:
    return make_cloid("conformance", "X", tag, "entry")


def mid(v: Venue, symbol: str) -> float:
    closes = v.candles(symbol, "1m", v.now_ms() - 3_600_000, v.now_ms() + 60_000)
    if closes:
        return closes[-1].close
    closes = v.candles(symbol, "5m", v.now_ms() - 6 * 3_600_000, v.now_ms() + 300_000)
    return closes[-1].close


def test_venue_satisfies_the_protocol(harness: Harness) -> None:
    assert isinstance(harness.venue, Venue)
    assert harness.venue.equity() > 0


def test_limit_order_rests_and_cancels_by_cloid(harness: Harness) -> None:
    v, sym = harness.venue, harness.symbol
    px = mid(v, sym) * 0.9
    c = cloid("rest")
    res = v.place(OrderRequest(cloid=c, symbol=sym, side="buy", size=0.001, kind="limit", price=px))
    assert res.status == "resting" and res.cloid == c
    assert [o.cloid for o in v.open_orders()] == [c]
    found = v.order_by_cloid(sym, c)
    assert found is not None and found.status == "open" and found.kind == "limit"
    assert v.cancel(sym, c) is True
    assert v.cancel(sym, c) is False
    gone = v.order_by_cloid(sym, c)
    assert gone is not None and gone.status == "canceled"
    assert v.open_orders() == []


def test_order_never_sent_is_none(harness: Harness) -> None:
    assert harness.venue.order_by_cloid(harness.symbol, cloid("never")) is None


def test_reject_fault_is_order_rejected_with_venue_text(harness: Harness) -> None:
    inject = harness.need("inject")
    inject("reject", message="Insufficient margin to place order.")
    v, sym = harness.venue, harness.symbol
    c = cloid("rejected")
    with pytest.raises(OrderRejected) as err:
        v.place(OrderRequest(cloid=c, symbol=sym, side="buy", size=0.001, kind="market"))
    assert err.value.reason.startswith("Insufficient margin to place order.")
    assert err.value.cloid == c
    assert v.positions() == []


def test_timeout_after_accept_is_unavailable_then_found_once(harness: Harness) -> None:
    inject = harness.need("inject")
    v = harness.make(timeout_s=1.0)
    inject("timeout_after_accept", count=1, hang_seconds=5)
    c = cloid("timeout")
    px = mid(v, harness.symbol) * 0.9
    with pytest.raises(VenueUnavailable):
        v.place(
            OrderRequest(
                cloid=c, symbol=harness.symbol, side="buy", size=0.001, kind="limit", price=px
            )  # fmt: skip
        )
    found = v.order_by_cloid(harness.symbol, c)
    assert found is not None and found.status == "open"
    assert [o.cloid for o in v.open_orders()].count(c) == 1
