"""The Executor's venue call: unknown outcomes are looked up by cloid, never read as rejected."""

from __future__ import annotations

from typing import Any

from actors.orders import place_checked
from actors.venues.base import (
    OrderRejected,
    PlaceResult,
    VenueOrder,
    VenueUnavailable,
)
from tests.live.helpers import entry_intent

INTENT = entry_intent("BTC", "buy", 0.01, 100_000.0, "orders")


class FakeVenue:
    def __init__(self, place: Any, lookup: Any) -> None:
        self._place, self._lookup = place, lookup
        self.lookups = 0

    def place(self, order: Any) -> PlaceResult:
        if isinstance(self._place, Exception):
            raise self._place
        return self._place  # type: ignore[no-any-return]

    def order_by_cloid(self, symbol: str, cloid: str) -> VenueOrder | None:
        self.lookups += 1
        if isinstance(self._lookup, Exception):
            raise self._lookup
        return self._lookup  # type: ignore[no-any-return]


FILLED = VenueOrder(cloid=INTENT.cloid, venue_order_id="7", symbol="BTC", side="buy", size=0.01,
                    remaining=0.0, kind="market", price=None, trigger_price=None,
                    reduce_only=False, status="filled", time_ms=1)  # fmt: skip


def test_definite_rejection_is_rejected() -> None:
    v = FakeVenue(OrderRejected(INTENT.cloid, "Insufficient margin to place order."), None)
    upd = place_checked(v, INTENT, 1, pause=lambda s: None)  # type: ignore[arg-type]
    assert upd.status == "rejected" and "margin" in (upd.error or "")
    assert v.lookups == 0


def test_malformed_reply_after_accept_is_resolved_by_cloid() -> None:
    v = FakeVenue(VenueUnavailable("order reply: malformed reply (statuses)"), FILLED)
    upd = place_checked(v, INTENT, 1, pause=lambda s: None)  # type: ignore[arg-type]
    assert (upd.status, upd.filled_size, upd.venue_order_id) == ("filled", 0.01, "7")


def test_timeout_with_the_order_not_found_is_unknown_not_rejected() -> None:
    v = FakeVenue(VenueUnavailable("timeout"), None)
    upd = place_checked(v, INTENT, 1, pause=lambda s: None)  # type: ignore[arg-type]
    assert upd.status == "unknown"
    v2 = FakeVenue(VenueUnavailable("timeout"), VenueUnavailable("still down"))
    upd2 = place_checked(v2, INTENT, 1, pause=lambda s: None)  # type: ignore[arg-type]
    assert upd2.status == "unknown" and "lookup failed" in (upd2.error or "")
    assert v2.lookups == 3
