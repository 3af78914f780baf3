"""What the Executor does on start with intents whose outcome a crash left unknown (F1, F3).

Why a separate step: after a whole-process crash the journal may hold an intent that was
persisted but never reached the venue (crash point K2), or whose request reached it without the
reply being read (K3/K4). Each is looked up by cloid first — only the venue decides:

* found on the venue: its real state is journaled (a filled entry is then protected);
* not found and **fresh** (journaled less than ``resend_within_ms`` of market time ago, or a
  reduce-only exit, which can only lower risk): re-sent with the **same** cloid. The venue
  refuses a second order with a cloid it already holds, so a late copy of the first request
  can never double it; such a refusal sends us back to the lookup, never to "rejected";
* not found and **stale**: the signal is no longer current, so the intent is marked
  ``canceled`` ("abandoned") in the journal and a WARNING event says so; nothing is sent.
* the venue cannot be asked: the intent stays unknown and blocks its symbol (fail closed).
"""

from __future__ import annotations

import time
from typing import Any

from actors.messages import Level, OrderIntent, OrderUpdate
from actors.orders import look_up, update_from_venue, update_of

DUPLICATE_CLOID = "cloid"  # a venue refusal naming the cloid: the first request made it
RESEND_WITHIN_MS = 60_000  # market time: a signal older than one minute is not re-sent


def is_fresh(recorded_wall_s: float, now_wall_s: float, clock_speed: float,
             resend_within_ms: float) -> bool:  # fmt: skip
    """Whether an intent journaled at ``recorded_wall_s`` is young enough, in market time
    (wall age x the venue clock speed: 1 live, N on an accelerated paper replay), to re-send."""
    return (now_wall_s - recorded_wall_s) * 1000.0 * clock_speed <= resend_within_ms


def recover(executor: Any) -> list[str]:
    """Settle every intent the rebuilt Executor holds as unknown; returns one line per action."""
    done: list[str] = []
    now = time.time()
    for cloid, (intent, recorded) in list(executor.unknown.items()):
        answered, found = look_up(executor.venue, intent, attempts=1)
        if not answered:
            done.append(f"{cloid}: venue not reachable, still unknown")
            continue
        if found is not None:
            executor._journal_update(intent, update_from_venue(intent, found, _now(executor)))
            placed_at(executor, intent, found.time_ms)
            done.append(f"{cloid}: found on the venue ({found.status})")
            continue
        exit_ = intent.reduce_only and intent.purpose == "exit"
        if exit_ or is_fresh(recorded, now, executor.spec.clock_speed, executor.resend_within_ms):
            upd = resend(executor, intent)
            done.append(f"{cloid}: re-sent with the same cloid ({upd.status})")
            continue
        age_s = now - recorded
        upd = update_of(intent, "canceled", _now(executor),
                        error=f"abandoned after restart: never reached the venue, "
                              f"journaled {age_s:.0f} s ago (stale)")  # fmt: skip
        executor._journal_update(intent, upd)
        executor._event(Level.WARNING, "intent_abandoned",
                        f"{intent.purpose} {intent.side} {intent.size:g} {intent.symbol}: "
                        f"intent {cloid} never reached the venue and is {age_s:.0f} s old; "
                        "abandoned, not re-sent", cloid=cloid)  # fmt: skip
        done.append(f"{cloid}: abandoned (stale)")
    return done


def resend(executor: Any, intent: OrderIntent) -> OrderUpdate:
    """Send a journaled intent again with its own cloid; a duplicate-cloid refusal is settled by
    looking the order up (the first request reached the venue after all)."""
    executor._event(Level.WARNING, "intent_resent",
                    f"{intent.purpose} {intent.side} {intent.size:g} {intent.symbol}: intent "
                    f"{intent.cloid} never reached the venue; re-sent with the same cloid",
                    cloid=intent.cloid)  # fmt: skip
    upd = executor._send(intent, journal=False)
    if upd.status == "rejected" and DUPLICATE_CLOID in (upd.error or "").lower():
        answered, found = look_up(executor.venue, intent)
        if found is not None:
            upd = update_from_venue(intent, found, _now(executor))
        else:
            upd = update_of(intent, "unknown", _now(executor), error=upd.error)
    executor._journal_update(intent, upd)
    return upd


def placed_at(executor: Any, intent: OrderIntent, venue_ms: int) -> None:
    """A resting entry found by lookup keeps its life from the venue's placement time, not from
    the moment it was found: a restart must not extend an entry past its one-bar TTL."""
    if intent.cloid in executor.resting and venue_ms > 0:
        executor.resting[intent.cloid] = (intent, int(venue_ms))


def _now(executor: Any) -> int:
    return int(executor.venue.now_ms())
