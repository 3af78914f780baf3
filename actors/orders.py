"""Venue calls of the Executor with the money-safety rules (failure_modes F2, F3, F22).

Pure helpers plus :func:`place_checked`: place an order and, after *any* error that is not a
definite rejection, look it up by cloid — an unknown outcome is reported as ``unknown``, never
as ``rejected``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence

from actors.messages import Fill, OrderIntent, OrderUpdate
from actors.venues.base import (
    OrderRejected,
    OrderRequest,
    PlaceResult,
    Venue,
    VenueError,
    VenueFill,
    VenueOrder,
)

log = logging.getLogger(__name__)
SOURCE = "executor"
VENUE_STATUS = {"open": "resting", "filled": "filled", "canceled": "canceled",
                "rejected": "rejected", "triggered": "triggered", "expired": "canceled"}  # fmt: skip
PLACE_STATUS = {"resting": "resting", "filled": "filled", "partially_filled": "partially_filled",
                "triggered_pending": "resting"}  # fmt: skip


def stable_seq(*parts: object) -> int:
    """A deterministic message seq from facts (so a retried message dedupes)."""
    raw = "|".join(map(str, parts)).encode()
    return int(hashlib.sha256(raw).hexdigest()[:15], 16)


def request_of(intent: OrderIntent) -> OrderRequest:
    return OrderRequest(
        cloid=intent.cloid, symbol=intent.symbol, side=intent.side, size=intent.size,
        kind=intent.kind, price=intent.price, trigger_price=intent.trigger_price,
        reduce_only=intent.reduce_only,
    )  # fmt: skip


def update_of(intent: OrderIntent, status: str, time_ms: int, *, oid: str | None = None,
              filled: float = 0.0, avg: float | None = None, error: str | None = None,
              ) -> OrderUpdate:  # fmt: skip
    return OrderUpdate(
        source=SOURCE, seq=stable_seq("update", intent.cloid, status, filled), cloid=intent.cloid,
        venue_order_id=oid, symbol=intent.symbol, status=status,  # type: ignore[arg-type]
        filled_size=filled, avg_price=avg, error=error, time_ms=time_ms,
    )  # fmt: skip


def update_from_venue(intent: OrderIntent, found: VenueOrder, time_ms: int) -> OrderUpdate:
    filled = found.size - found.remaining
    status = VENUE_STATUS[found.status]
    if status == "resting" and filled > 0:
        status = "partially_filled"
    return update_of(intent, status, time_ms, oid=found.venue_order_id, filled=filled)


def fill_of(vf: VenueFill) -> Fill:
    return Fill(
        source=SOURCE, seq=stable_seq("fill", vf.trade_id), trade_id=vf.trade_id, cloid=vf.cloid,
        venue_order_id=vf.venue_order_id, symbol=vf.symbol, side=vf.side, size=vf.size,
        price=vf.price, fee=vf.fee, closed_pnl=vf.closed_pnl, time_ms=vf.time_ms,
    )  # fmt: skip


def look_up(venue: Venue, intent: OrderIntent, attempts: int = 3,
            pause: Callable[[float], None] = time.sleep) -> tuple[bool, VenueOrder | None]:  # fmt: skip
    """(answered, order): ``answered`` False when the venue could not be asked (still unknown)."""
    for k in range(attempts):
        try:
            return True, venue.order_by_cloid(intent.symbol, intent.cloid)
        except VenueError as exc:
            log.warning("lookup of %s failed (%s), attempt %d", intent.cloid, exc, k + 1)
            pause(0.2 * 2**k)
    return False, None


def place_checked(venue: Venue, intent: OrderIntent, now_ms: int,
                  pause: Callable[[float], None] = time.sleep) -> OrderUpdate:  # fmt: skip
    """Place ``intent`` (already journaled) and say what the venue did. After a timeout, 5xx or
    malformed reply the order is looked up by cloid; not found yet -> ``unknown``."""
    try:
        answer: PlaceResult | VenueError = venue.place(request_of(intent))
    except VenueError as exc:  # OrderRejected included
        answer = exc
    return _update_after(venue, intent, answer, now_ms, pause)


def place_many_checked(venue: Venue, intents: Sequence[OrderIntent], now_ms: int,
                       pause: Callable[[float], None] = time.sleep) -> list[OrderUpdate]:  # fmt: skip
    """:func:`place_checked` for several journaled intents, in one venue request where the
    venue takes a batch (``place_many``: the entries of one bar close). Each order's outcome is
    told apart: a definite rejection of one is that order's; an error of the whole request
    (timeout, 5xx, malformed reply) leaves every order unknown until looked up by cloid."""
    many = getattr(venue, "place_many", None)
    if many is None or len(intents) < 2:
        return [place_checked(venue, i, now_ms, pause) for i in intents]
    try:
        answers: list[PlaceResult | VenueError] = list(many([request_of(i) for i in intents]))
    except VenueError as exc:
        answers = [exc] * len(intents)
    if len(answers) != len(intents):  # a venue bug: which answer is whose? look each up
        err = VenueError(f"place_many answered {len(answers)} of {len(intents)} orders")
        answers = [err] * len(intents)
    return [
        _update_after(venue, i, a, now_ms, pause) for i, a in zip(intents, answers, strict=True)
    ]


def _update_after(venue: Venue, intent: OrderIntent, answer: PlaceResult | VenueError,
                  now_ms: int, pause: Callable[[float], None]) -> OrderUpdate:  # fmt: skip
    if isinstance(answer, OrderRejected):
        return update_of(intent, "rejected", now_ms, error=answer.reason[:300])
    if isinstance(answer, VenueError):
        answered, found = look_up(venue, intent, pause=pause)
        if found is not None:
            return update_from_venue(intent, found, now_ms)
        why = "not found yet" if answered else "lookup failed"
        return update_of(intent, "unknown", now_ms, error=f"{answer} ({why})"[:300])
    return update_of(intent, PLACE_STATUS[answer.status], now_ms, oid=answer.venue_order_id,
                     filled=answer.filled_size, avg=answer.avg_price)  # fmt: skip
