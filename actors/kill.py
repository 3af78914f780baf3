"""The kill switch: cancel every order, optionally close every position reduce-only, and confirm
from the venue that the account is flat (``fractal kill [--flatten]``).

Why its own path, not a message to the live actors: the kill switch must work when the live
system is wedged or not running at all, so it talks to the venue directly (its own client and
the same persisted nonce file as the Executor). The ``kill`` breaker is tripped *before* this
runs, so a live PortfolioRisk approves nothing while orders are being canceled; an entry that
still slipped through is caught by the next round (cancel, close, look again) until the venue
shows nothing open or the time is up. Every closing order is journaled with its cloid before
it is sent (failure_modes §2); an unknown outcome is looked up by cloid, never assumed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actors.messages import OrderIntent, make_cloid
from actors.orders import place_checked
from actors.venues.base import VenueError

SOURCE = "kill"


@dataclass
class KillReport:
    """What the kill switch did and what the venue showed at the end."""

    flatten: bool = False
    canceled: list[str] = field(default_factory=list)  # cloids
    closing_orders: list[str] = field(default_factory=list)  # cloids of the reduce-only closes
    problems: list[str] = field(default_factory=list)
    open_orders: list[str] = field(default_factory=list)  # left on the venue at the end
    positions: dict[str, float] = field(default_factory=dict)  # left on the venue at the end

    @property
    def done(self) -> bool:
        """Nothing rests on the venue (and, with ``flatten``, no position is open)."""
        return not self.open_orders and not (self.flatten and self.positions)


def _journal(path: Path | None) -> Any:
    if path is None:
        return None
    from actors.state.journal import Journal

    return Journal(path, check=False)


def kill_switch(
    venue: Any,
    flatten: bool,
    journal_path: Path | None = None,
    timeout_s: float = 60.0,
    poll_s: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
) -> KillReport:
    """Cancel every open order (and with ``flatten`` close every position) until the venue shows
    none, or ``timeout_s`` has passed; the report says what is left (empty: done)."""
    report = KillReport(flatten=flatten)
    journal = _journal(journal_path)
    deadline = clock() + timeout_s
    wake = threading.Event()
    attempt = 0
    try:
        while True:
            _cancel_all(venue, report)
            if flatten:
                _close_all(venue, report, journal, attempt)
            attempt += 1
            try:  # the venue is the truth: look again after acting
                orders = venue.open_orders()
                report.positions = {p.symbol: p.size for p in venue.positions() if p.size != 0.0}
                report.open_orders = [str(o.cloid or o.venue_order_id) for o in orders]
                if report.done:
                    return report
            except VenueError as exc:  # cannot confirm: try again until the deadline
                report.problems.append(f"venue check failed: {exc}")
                report.open_orders = ["<unconfirmed>"]
            if clock() >= deadline:
                return report
            wake.wait(poll_s)
    finally:
        if journal is not None:
            journal.close()


def _cancel_all(venue: Any, report: KillReport) -> None:
    try:
        orders = venue.open_orders()
    except VenueError as exc:
        report.problems.append(f"open orders unavailable: {exc}")
        return
    for o in orders:
        if not o.cloid:
            report.problems.append(f"{o.symbol} order {o.venue_order_id} has no cloid: "
                                   "cancel it on the venue by hand")  # fmt: skip
            continue
        try:
            if venue.cancel(o.symbol, o.cloid):
                report.canceled.append(o.cloid)
        except VenueError as exc:
            report.problems.append(f"cancel {o.symbol} {o.cloid}: {exc}")


def _close_all(venue: Any, report: KillReport, journal: Any, attempt: int) -> None:
    try:
        positions = [p for p in venue.positions() if p.size != 0.0]
    except VenueError as exc:
        report.problems.append(f"positions unavailable: {exc}")
        return
    for p in positions:
        tag = f"kill:{p.symbol}:{p.size}"
        cloid = make_cloid(SOURCE, p.symbol, tag, "exit", attempt)
        intent = OrderIntent(
            source=SOURCE, seq=attempt, intent_id=f"{tag}:{attempt}", cloid=cloid, signal_id=None,
            symbol=p.symbol, side="sell" if p.size > 0 else "buy", size=abs(p.size),
            kind="market", reduce_only=True, purpose="exit",
        )  # fmt: skip
        if journal is not None:
            journal.record_intent(intent)  # persist before send
        upd = place_checked(venue, intent, venue.now_ms())
        if journal is not None:
            journal.record_order_update(upd)
        report.closing_orders.append(cloid)
        if upd.status in ("rejected", "unknown"):
            report.problems.append(f"close {p.symbol} {p.size:g}: {upd.status} ({upd.error})")
