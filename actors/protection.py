"""Venue-side protection of every position: one stop-loss (and one take-profit) sized to the
position, placed right after a fill and replaced when the position changes (F5, F17).

Why "place new, then cancel old": a partial fill (or a second fill) grows the position; the
stop must grow with it without a moment where the position has no stop on the venue. So the new
stop, sized to the whole position, is placed and checked to rest *before* the old one is
cancelled. A crash in between (crash point K8) leaves two stops — over-protected, never
unprotected — and the audit after a restart cancels the extra one (:func:`tidy_all`).
"""

from __future__ import annotations

from typing import Any

from actors.crash import crash_point
from actors.messages import Level, OrderIntent, make_cloid
from actors.orders import SOURCE, look_up, update_from_venue, update_of
from actors.state.ledger import SIZE_EPS
from actors.venues.base import VenueError, VenueOrder

KINDS = ("stop_loss", "take_profit")


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= SIZE_EPS * max(1.0, abs(a), abs(b)) + 1e-12


def protections(executor: Any, symbol: str) -> list[VenueOrder]:
    """Reduce-only stop-loss/take-profit orders resting on ``symbol``."""
    return [o for o in executor.venue.open_orders()
            if o.symbol == symbol and o.reduce_only and o.kind in KINDS]  # fmt: skip


def protect(executor: Any, symbol: str, pos: float, entry: OrderIntent | None, stop: float,
            target: float | None, purpose: str) -> bool:  # fmt: skip
    """Place a reduce-only stop (and target) for ``pos``; check the stop rests on the venue.
    A stop that does not rest closes the position (reduce-only) with a CRITICAL event."""
    for kind, px, leg in (("stop_loss", stop, purpose), ("take_profit", target, "target")):
        if px is None:
            continue
        if kind == "take_profit":  # the stop may have fired already at a fast replay
            executor._refresh_account()
            if executor.positions.get(symbol, 0.0) == 0.0:
                return True
        if not place_leg(executor, symbol, pos, entry, kind, px, leg):
            return False  # no target without a resting stop
    return True


def place_leg(executor: Any, symbol: str, pos: float, entry: OrderIntent | None, kind: str,
              px: float, leg: str) -> bool:  # fmt: skip
    """One protective order (journaled before it is sent); for a stop, True only once it rests."""
    import ray

    base = entry.cloid if entry is not None else f"adopt:{symbol}:{pos}"
    attempt = 0
    cloid = make_cloid("protect", symbol, base, leg, attempt)
    while ray.get(executor.keeper.intent.remote(cloid)) is not None:
        attempt += 1
        cloid = make_cloid("protect", symbol, base, leg, attempt)
    intent = OrderIntent(
        source=SOURCE, seq=executor._next_seq(), intent_id=f"{base}:{leg}:{attempt}", cloid=cloid,
        signal_id=entry.signal_id if entry else None, symbol=symbol,
        side="sell" if pos > 0 else "buy", size=abs(pos), kind=kind,  # type: ignore[arg-type]
        trigger_price=px, reduce_only=True, purpose=leg,  # type: ignore[arg-type]
    )  # fmt: skip
    ray.get(executor.keeper.record_intent.remote(intent))
    upd = executor._send(intent)
    if kind != "stop_loss":
        return True
    answered, found = look_up(executor.venue, intent)
    if found is not None and found.status == "open":
        executor._event(Level.INFO, "stop_resting",
                        f"{symbol} stop {px:g} for {abs(pos):g} resting on the venue", cloid=cloid)  # fmt: skip
        return True
    if upd.status == "rejected" or (answered and found is None):
        executor._emergency_close(symbol, pos, f"stop {px:g} not resting ({upd.error})")
    return False


def audit(executor: Any, symbol: str, entry: OrderIntent | None) -> None:
    """After fills on ``symbol``: exactly one stop (and at most one target) sized to the
    position. Missing or mis-sized legs are replaced, new first, then the old ones cancelled."""
    pos = executor.positions.get(symbol, 0.0)
    orders = protections(executor, symbol)
    if pos == 0.0:
        for o in orders:  # the other leg of a closed position
            _cancel(executor, o, "position closed")
        _settle_gone(executor, symbol, {o.cloid for o in orders})
        return
    closing = "sell" if pos > 0 else "buy"
    levels = _levels(executor, symbol, entry, orders)
    stale: list[VenueOrder] = []
    for kind, leg in (("stop_loss", "stop"), ("take_profit", "target")):
        mine = [o for o in orders if o.kind == kind]
        right = [o for o in mine if o.side == closing and _same(o.remaining, abs(pos))]
        keep = max(right, key=lambda o: (o.time_ms, o.venue_order_id), default=None)
        if keep is None and levels[kind] is not None:
            if not place_leg(executor, symbol, pos, entry, kind, levels[kind], leg):  # type: ignore[arg-type]
                return  # not resting: the old stops stay (still protection) or it was closed
        elif keep is None and kind == "stop_loss":
            return  # no level known: the reconciliation protects it (adopted position)
        stale += [o for o in mine if o is not keep]
    if stale:
        crash_point(executor.crash, "K8")  # new protection resting, old not yet cancelled
        for o in stale:
            _cancel(executor, o, f"replaced by one sized to the position {pos:g}")


def _settle_gone(executor: Any, symbol: str, listed: set[str | None]) -> None:
    """Protective legs the journal still holds open on a flat symbol but the venue no longer
    lists (it drops a reduce-only trigger with nothing left to reduce) are looked up and their
    venue state journaled now, not at the next periodic reconciliation: the journal equals the
    venue as soon as the position is closed."""
    import ray

    for intent in ray.get(executor.keeper.open_intents.remote()):
        if intent.symbol != symbol or intent.purpose not in ("stop", "target"):
            continue
        if intent.cloid in listed:
            continue
        _, found = look_up(executor.venue, intent, attempts=1)
        if found is not None and found.status != "open":
            upd = update_from_venue(intent, found, executor.venue.now_ms())
            ray.get(executor.keeper.record_order_update.remote(upd))


def tidy_all(executor: Any) -> None:
    """The audit for every open position (after a restart's reconciliation)."""
    executor._refresh_account()
    for symbol in sorted(executor.positions):
        try:
            audit(executor, symbol, None)
        except VenueError as exc:  # the next reconciliation tries again; stops stay
            executor._event(Level.WARNING, "protection_audit", f"{symbol} audit failed: {exc}")


def _levels(executor: Any, symbol: str, entry: OrderIntent | None,
            orders: list[VenueOrder]) -> dict[str, float | None]:  # fmt: skip
    """Trigger prices to protect at: the resting order's (in force), else the entry's plan,
    else the journal's position (the stop planned at entry)."""
    import ray

    jp = None
    out: dict[str, float | None] = {}
    for kind in KINDS:
        resting = [o.trigger_price for o in orders if o.kind == kind and o.trigger_price]
        plan = None if entry is None else (entry.stop if kind == "stop_loss" else entry.target)
        if not resting and plan is None and jp is None:
            jp = ray.get(executor.keeper.positions.remote()).get(symbol)
        journal = None if jp is None else (jp.stop if kind == "stop_loss" else jp.target)
        out[kind] = resting[-1] if resting else (plan if plan is not None else journal)
    return out


def _cancel(executor: Any, o: VenueOrder, why: str) -> None:
    """Cancel one of our protective orders and journal it (an order we did not journal stays:
    it belongs to the operator)."""
    import ray

    intent = ray.get(executor.keeper.intent.remote(o.cloid)) if o.cloid else None
    if intent is None or o.cloid is None:
        return
    if executor.venue.cancel(o.symbol, o.cloid):
        upd = update_of(intent, "canceled", executor.venue.now_ms(), oid=o.venue_order_id,
                        filled=o.size - o.remaining, error=why)  # fmt: skip
        ray.get(executor.keeper.record_order_update.remote(upd))
        executor._event(Level.INFO, "order_canceled", f"{o.symbol} {o.kind} canceled: {why}",
                        cloid=o.cloid)  # fmt: skip
