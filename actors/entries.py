"""The entries of one bar close placed as one batch (``Executor.submit_many``).

Why: when several symbols signal on the same close, PortfolioRisk decides them together and
hands them over in one call; sent one by one, the 2nd and 3rd waited for the 1st's journal
commit and venue round trip (issue #15: the later signals of a close were the p99). Here they
are journaled in one transaction (one fsync) and placed in one venue request where the venue
takes a batch (``place_many``: Hyperliquid's ``order`` action carries several orders).

The money rules are those of ``Executor.submit``, per entry: a known cloid is not resent, the
Executor's own refusal is checked, every intent is durable *before* the request that carries it
(crash points K1, K2, K4 as on the single path), each order's outcome is told apart (one
rejected order does not reject the others; an error of the whole request leaves each order
unknown until it is looked up by cloid), and each entry is acknowledged to PortfolioRisk.
Functions over the Executor (like :mod:`actors.upkeep`) so the actor file keeps its surface.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from typing import Any

from actors.crash import crash_point
from actors.messages import Level, OrderIntent, Trace, stamp
from actors.orders import place_many_checked
from strategies.risk import PortfolioState


def batchable(ex: Any, intents: list[OrderIntent]) -> bool:
    """A batch needs a venue that takes one and no operator prompt per order (mainnet)."""
    return len(intents) > 1 and not ex.confirm_needed and hasattr(ex.venue, "place_many")


def submit_many(ex: Any, intents: list[OrderIntent], traces: list[Trace | None]) -> PortfolioState:
    """Place a bar close's entries as one batch; returns the view after them (also sent to
    PortfolioRisk as each entry's acknowledgement)."""
    import ray

    with ex._lock:
        locks = [
            ex._symbol_locks.setdefault(s, threading.Lock())
            for s in sorted({i.symbol for i in intents})
        ]
    with ExitStack() as held:
        for lock in locks:  # in symbol order: two batches sharing symbols cannot deadlock
            held.enter_context(lock)
        try:
            ready = _admit(ex, intents, traces)
            try:
                fresh = (
                    ray.get(ex.keeper.record_intents.remote([i for i, _ in ready])) if ready else []
                )
                go: list[tuple[OrderIntent, Trace | None]] = []
                for (intent, trace), new in zip(ready, fresh, strict=True):
                    if not new and not ex._ours(intent):
                        ex._event(Level.INFO, "duplicate_intent",
                                  f"{intent.symbol} intent {intent.cloid} already journaled: not resent")  # fmt: skip
                    else:
                        go.append((intent, stamp(trace, "journaled")))
                if go:
                    crash_point(ex.crash, "K2")
                    _send(ex, go)
            finally:
                with ex._lock:
                    for intent, _ in ready:
                        ex._sending.pop(intent.cloid, None)
        finally:
            with ex._lock:  # the view that goes out is the one these entries produced
                for intent in intents:
                    ex._acknowledge(intent.cloid)
    with ex._lock:
        return ex.portfolio()  # type: ignore[no-any-return]


def _admit(
    ex: Any, intents: list[OrderIntent], traces: list[Trace | None]
) -> list[tuple[OrderIntent, Trace | None]]:
    """The entries to journal and send: not known already, not refused (each checked after the
    previous one counts as sending, as consecutive submits would be)."""
    ready = []
    with ex._lock:
        for intent, trace in zip(intents, traces, strict=True):
            if intent.cloid in ex._submitted:
                ex._event(Level.INFO, "duplicate_intent",
                          f"{intent.symbol} intent {intent.cloid} already journaled: not resent")  # fmt: skip
                continue
            refusal = ex._refusal(intent)
            if refusal:
                ex._event(
                    Level.WARNING, "entry_refused", f"{intent.symbol} entry refused: {refusal}"
                )
                continue
            crash_point(ex.crash, "K1")
            ex._submitted.add(intent.cloid)
            ex._sending[intent.cloid] = intent  # pending from here on (portfolio())
            ready.append((intent, stamp(trace, "executor_locked")))
    return ready


def _send(ex: Any, go: list[tuple[OrderIntent, Trace | None]]) -> None:
    """One venue request for the journaled entries, then each outcome journaled and acted on
    (as ``Executor._send`` does for one)."""
    if ex.killed or len(go) == 1:  # the kill switch's path, or nothing to batch
        for intent, trace in go:
            ex._send(intent, trace)
        return
    updates = place_many_checked(ex.venue, [i for i, _ in go], ex.venue.now_ms())
    with ex._traced:
        for (_, trace), upd in zip(go, updates, strict=True):
            if trace is not None:
                ex._traces.append((stamp(trace, "venue_answered") or [], upd.status))
        ex._traced.notify_all()
    crash_point(ex.crash, "K4")
    with ex._lock:
        for (intent, _), upd in zip(go, updates, strict=True):
            ex._journal_update(intent, upd)
