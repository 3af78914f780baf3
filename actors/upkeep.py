"""The Executor's background upkeep: fills, orders whose outcome is unknown, entries past their
TTL, and the breaker's cancel of resting entries.

Functions over the Executor (like :mod:`actors.protection`) so the actor file keeps the order
path and its public surface. The venue calls (HTTP round trips) run outside the Executor's
``_lock`` so a submit is never held behind them; what they return is applied under the lock,
and only if the order is still in the state it was read in (a concurrent path may have settled
it meanwhile).
"""

from __future__ import annotations

import time
from typing import Any

from actors.messages import Level, OrderIntent
from actors.orders import look_up, update_from_venue, update_of
from actors.venues.base import VenueError

UNKNOWN_GIVE_UP_MS = 120_000  # wall ms after journaling: past the order's expiresAfter (60 s)


def rests(intent: OrderIntent, status: str) -> bool:
    """An entry that still rests on the book and must expire with its TTL: "resting", or a
    limit entry "partially_filled" (its remainder rests; a lookup after a restart or a lost
    reply reports exactly that). A market (IOC) partial fill has no remainder to cancel."""
    if intent.purpose != "entry":
        return False
    return status == "resting" or (status == "partially_filled" and intent.kind == "limit")


def poll(ex: Any) -> None:
    """Entries past their TTL, fills, unknown orders — in that order (the venue calls outside
    the lock, what they found applied under it; the caller may hold it: the order path's read
    does).

    The expired entries are canceled first and the fills read after the cancels answered: an
    entry the venue canceled ("it was open, now it is not") can fill no more, and every fill
    that beat its cancel is in that read. So a canceled entry needs no look-up by cloid — one
    venue round trip less per expiring entry on the order path's view (issue #15: the look-ups
    ran one after the other, ~3 ms each on the simulator, ~100 ms on mainnet). An entry the
    venue says was not open any more (filled, or canceled by the venue) is still looked up."""
    now, expired = _expired(ex)
    _expire(ex, now, expired, read_fills=True)
    resolve_unknown(ex)
    # entries past their TTL that were not in the first list: an unknown order this poll found
    # resting (a lost reply), or a TTL that ended meanwhile — the view is complete after this
    tried = {cloid for cloid, _ in expired}
    now, late = _expired(ex)
    late = [(cloid, entry) for cloid, entry in late if cloid not in tried]
    if late:
        _expire(ex, now, late, read_fills=False)


def _expire(ex: Any, now: int, expired: list[tuple[str, Any]], read_fills: bool) -> None:
    """Cancel ``expired``, read the fills after the cancels (always with ``read_fills``, else
    only if an entry was canceled: its fills so far must be in the view), then journal each."""
    results = _cancel(ex, [entry[0] for _, entry in expired])
    if read_fills or any(ok and found is None for ok, found in results):
        fills = ex.venue.fills_since(ex.cursor)
        with ex._lock:
            ex._apply_fills(fills)
    _settle_expired(ex, now, expired, results)


def resolve_unknown(ex: Any) -> None:
    """Look every unknown order up by cloid; only past its expiry is "not found" final."""
    now_wall = time.time()
    with ex._lock:
        pending = list(ex.unknown.items())
    for cloid, entry in pending:
        intent, sent = entry
        answered, found = look_up(ex.venue, intent, attempts=1)  # outside the lock
        with ex._lock:
            if ex.unknown.get(cloid) is entry:  # not settled meanwhile by another path
                settle_unknown(ex, intent, sent, answered, found, now_wall)


def settle_unknown(ex: Any, intent: OrderIntent, sent: float, answered: bool, found: Any,
                   now_wall: float) -> None:  # fmt: skip
    from actors import recovery

    if found is not None:
        upd = update_from_venue(intent, found, ex.venue.now_ms())
        ex.keeper.record_order_update.remote(upd)
        ex._on_update(intent, upd)
        recovery.placed_at(ex, intent, found.time_ms)  # its expiry runs from the venue's
        return
    if not (answered and (now_wall - sent) * 1000 > UNKNOWN_GIVE_UP_MS):
        return
    upd = update_of(intent, "canceled", ex.venue.now_ms(),
                    error="never placed: not found after its expiry")  # fmt: skip
    ex.keeper.record_order_update.remote(upd)
    ex._on_update(intent, upd)


def _cancel(ex: Any, intents: list[OrderIntent]) -> list[tuple[bool, Any]]:
    """Cancel resting entries: per entry (answered, the venue's order or None). None when the
    venue canceled it (it was open: the fills read after the cancel holds all it will ever
    fill); an entry that was not open any more is looked up (filled, or canceled by the venue).
    One request for all of them where the venue takes a batch (``cancel_many``), else one
    each; a cancel the venue refused is reported and left resting (the next poll tries
    again)."""
    if not intents:
        return []
    many = getattr(ex.venue, "cancel_many", None)
    answers: list[bool | VenueError]
    if many is not None and len(intents) > 1:
        try:
            answers = many([(i.symbol, i.cloid) for i in intents])
        except VenueError as exc:  # the whole request: each is looked up at the next poll
            answers = [exc] * len(intents)
    else:
        answers = []
        for intent in intents:
            try:
                answers.append(ex.venue.cancel(intent.symbol, intent.cloid))
            except VenueError as exc:
                answers.append(exc)
    out: list[tuple[bool, Any]] = []
    for intent, answer in zip(intents, answers, strict=True):
        if isinstance(answer, VenueError):
            ex._event(Level.WARNING, "cancel_failed", f"{intent.symbol} {intent.cloid}: {answer}")
            out.append((False, None))
        elif answer:  # canceled now: no look-up (see poll)
            out.append((True, None))
        else:
            out.append((True, look_up(ex.venue, intent, attempts=1)[1]))
    return out


def _journal_cancel(ex: Any, intent: OrderIntent, found: Any, now: int, reason: str) -> None:
    """Journal what the venue says of a canceled entry (a fill that beat the cancel included)
    and stop tracking it. Under ``ex._lock``."""
    upd = (update_from_venue(intent, found, now) if found is not None
           else update_of(intent, "canceled", now, error=reason))  # fmt: skip
    ex.keeper.record_order_update.remote(upd)
    ex._on_update(intent, upd)
    ex.resting.pop(intent.cloid, None)


def _expired(ex: Any) -> tuple[int, list[tuple[str, Any]]]:
    """(venue now, the resting entries past their TTL then) — a limit entry lives one bar: the
    backtest's rule."""
    now = ex.venue.now_ms()
    with ex._lock:
        return now, [(c, e) for c, e in ex.resting.items() if now - e[1] >= ex.entry_ttl_ms]


def _settle_expired(ex: Any, now: int, expired: list[tuple[str, Any]],
                    results: list[tuple[bool, Any]]) -> None:  # fmt: skip
    for (cloid, entry), (ok, found) in zip(expired, results, strict=True):
        if not ok:
            continue
        with ex._lock:
            if ex.resting.get(cloid) is entry:  # not settled meanwhile (a fill, a breaker)
                _journal_cancel(ex, entry[0], found, now, "expired")


def expire_entries(ex: Any) -> None:
    """Cancel entries past their TTL (the venue calls outside the lock)."""
    now, expired = _expired(ex)
    if expired:
        _expire(ex, now, expired, read_fills=False)


def cancel_entries(ex: Any, reason: str) -> int:
    """A circuit breaker tripped: cancel every resting entry (never the protective stops and
    targets); returns how many were canceled. Each is journaled (after the fills read that
    follows the cancels: a fill that beat one is protected like any other)."""
    n = 0
    with ex._lock:
        intents = [intent for intent, _ in ex.resting.values()]
        results = _cancel(ex, intents)
        if any(ok for ok, _ in results):
            ex._apply_fills(ex.venue.fills_since(ex.cursor))
        for intent, (ok, found) in zip(intents, results, strict=True):
            if ok:
                _journal_cancel(ex, intent, found, ex.venue.now_ms(), reason)
                n += 1
        ex._push_portfolio()
    if n:
        ex._event(Level.CRITICAL, "entries_canceled", f"{n} resting entries canceled: {reason}")
    return n
