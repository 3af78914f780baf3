"""Funding payments into the journal: the venue settles them, the Executor copies them over.

Why: funding is money the account paid or received without any order; the P&L of the daily
report and the dashboard must include it, and only the venue knows it (the exchange is the
truth). The Executor calls :func:`sync_funding` at every reconciliation; the venue is read from
the newest journaled settlement on (inclusive: the same hour's other symbols), and the journal's
key ``(symbol, time_ms)`` makes a re-read window write nothing twice.
"""

from __future__ import annotations

import logging
from typing import Any

from actors.messages import Funding

log = logging.getLogger(__name__)
FIRST_LOOKBACK_MS = 7 * 86_400_000  # a fresh journal reads this much funding history


class FundingSync:
    """Cursor over the venue's funding history (rebuilt from the journal on restart)."""

    def __init__(self, keeper: Any, start_ms: int) -> None:
        import ray

        last = ray.get(keeper.last_funding_ms.remote())
        self.keeper = keeper
        self.cursor = int(last) if last is not None else start_ms - FIRST_LOOKBACK_MS

    def sync(self, venue: Any) -> list[Funding]:
        """Journal every settlement since the cursor; returns those read (oldest first)."""
        import ray

        rows = venue.funding_since(self.cursor)
        if not rows:
            return []
        payments = [
            Funding(source="funding", seq=r.time_ms, symbol=r.symbol, time_ms=r.time_ms,
                    amount=r.amount, rate=r.rate, size=r.size)
            for r in rows
        ]  # fmt: skip
        new = ray.get(self.keeper.record_funding.remote(payments))
        self.cursor = max(self.cursor, max(p.time_ms for p in payments))
        if new:
            log.info("funding: %d new settlement(s) journaled", new)
        return payments
