"""Reconciliation with the venue, for the Executor: snapshot, pure diff, apply, act (F4, F6, F17).

The venue is the truth for positions, open orders and fills; the journal supplies intents. The
diff is :func:`actors.state.reconcile.reconcile` (pure); this module fetches its inputs, lets the
StateKeeper apply the journal writes, and performs the venue actions: an unprotected position
gets a reduce-only stop (the journal's planned stop, else ``adopt_stop_fraction`` from the mark).
Every difference is logged and sent to the Alerter.
"""

from __future__ import annotations

from typing import Any

from actors.messages import Level
from actors.state.reconcile import ReconciliationReport, cloids_to_look_up, reconcile
from actors.venues.base import Venue

LOOKBACK_MS = 86_400_000  # fills re-read before the cursor (fills the journal may have missed)


def run(venue: Venue, keeper: Any, cursor_ms: int) -> ReconciliationReport:
    """Fetch the venue snapshot, diff it with the journal and apply the journal writes."""
    import ray

    jpos, jopen, known = ray.get([keeper.positions.remote(), keeper.open_intents.remote(),
                                  keeper.known_trade_ids.remote()])  # fmt: skip
    vpos = venue.positions()
    vopen = venue.open_orders()
    vfills = venue.fills_since(max(0, cursor_ms - LOOKBACK_MS))
    lookups = {i.cloid: venue.order_by_cloid(i.symbol, i.cloid)
               for i in cloids_to_look_up(jopen, vopen)}  # fmt: skip
    report = reconcile(jpos, jopen, vpos, vopen, vfills, known_trade_ids=known, lookups=lookups,
                       time_ms=venue.now_ms())  # fmt: skip
    ray.get(keeper.apply_reconciliation.remote(report))
    return report


def act(executor: Any, report: ReconciliationReport) -> dict[str, Any]:
    """Alert every difference; protect unprotected positions; say what still blocks entries."""
    blocking: list[str] = []
    blocked: set[str] = set()
    vpos = {p.symbol: p for p in executor.venue.positions()}
    for d in report.differences:
        level = (
            Level.WARNING
            if d.action in ("record", "adopt", "mark_closed", "none")
            else Level.CRITICAL
        )
        executor._event(level, "reconciliation_diff", f"reconciliation: {d.kind} {d.symbol}: {d.detail}",
                        diff=d.kind, symbol=d.symbol)  # fmt: skip
        for f in report.fills:
            executor.known_tids.add(f.trade_id)
        if d.action == "protect":
            p = vpos.get(d.symbol)
            if p is None or p.size == 0.0:
                continue
            mark = p.entry_price + p.unrealized_pnl / p.size
            stop = d.stop_price or mark * (1 - executor.adopt_stop_fraction if p.size > 0
                                           else 1 + executor.adopt_stop_fraction)  # fmt: skip
            if not executor._protect(d.symbol, p.size, None, stop, None, purpose="adopt_stop"):
                blocking.append(d.diff_id)
                blocked.add(d.symbol)
        elif d.action in ("operator", "lookup"):
            blocking.append(d.diff_id)
            blocked.add(d.symbol)
        elif d.action == "adopt":
            blocked.add(d.symbol)  # an adopted position: no new entries until the operator decides
    if not report.clean:
        executor._event(Level.WARNING, "reconciliation",
                        f"reconciliation found {len(report.differences)} difference(s); "
                        f"{len(blocking)} still block new entries")  # fmt: skip
    return {"blocking": blocking, "blocked": sorted(blocked)}
