"""PortfolioRisk actor: approves or rejects each signal and records which rule decided.

Why it does not wait for the Executor: risk is a property of the whole portfolio, so signals are
decided one at a time (this actor runs one call at a time), and each approved entry is handed to
the Executor fire-and-forget and remembered as *in flight* until the Executor acknowledges that
cloid (:meth:`on_submitted`, sent with the Executor's new view under the same lock that changed
it). Every decision sees the Executor's latest view plus the entries still in flight, so no two
entries can race past MAX_OPEN_POSITIONS, and the next signal is decided without waiting for
this one's venue round-trip. An entry not acknowledged within ``submit_timeout_s`` raises a
CRITICAL event and is then left to the Executor's own view (a journaled intent stays pending
there until the venue answers; one never journaled was never sent). The rules are the pure
functions of :mod:`strategies.risk`; this actor only builds the :class:`PortfolioState`.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from actors.messages import (
    Event,
    Level,
    OrderIntent,
    RiskDecision,
    Signal,
    Trace,
    make_cloid,
    stamp,
)
from strategies import risk as rules
from strategies.breakers import Thresholds, drawdown_trip
from strategies.risk import Limits, PortfolioState, Proposal

log = logging.getLogger(__name__)
SOURCE = "risk"


class PortfolioRisk:
    def __init__(
        self,
        limits: Limits,
        executor: Any,
        keeper: Any,
        alerter: Any | None = None,
        rule_set: Sequence[rules.Rule] = rules.DEFAULT_RULES,
        submit_timeout_s: float = 120.0,
        data_dir: Path | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        import ray

        self.limits = limits
        self.executor, self.keeper, self.alerter = executor, keeper, alerter
        self.rules = tuple(rule_set)
        self.submit_timeout_s = submit_timeout_s
        self.data_dir = data_dir  # where the circuit-breaker states live (None: no breakers)
        self._tripped: tuple[str, ...] | None = None
        self.thresholds = thresholds or Thresholds()
        self._peak = 0.0  # equity peak since this actor started (in memory: resets on restart)
        # rebuild: the Executor holds the portfolio (venue + journal)
        self.state: PortfolioState = ray.get(executor.portfolio.remote())
        self._decided: OrderedDict[str, RiskDecision] = OrderedDict()
        # entries handed to the Executor and not yet acknowledged: cloid -> (symbol, monotonic s)
        self._in_flight: dict[str, tuple[str, float]] = {}
        self._seq = time.time_ns() // 1000
        self._breakers()  # a restart with a tripped breaker comes up HALTED, and says so

    def on_portfolio(self, state: PortfolioState) -> None:
        """The Executor's latest view (after fills, reconciliations, orders)."""
        self.state = state
        self._auto_trip()

    def on_submitted(self, cloid: str, state: PortfolioState) -> None:
        """The Executor has handled entry ``cloid`` (placed, refused or skipped); ``state`` is
        its view after that, so the entry is no longer counted in flight here."""
        self._in_flight.pop(cloid, None)
        self.on_portfolio(state)

    def _view(self) -> PortfolioState:
        """The Executor's view plus the entries still in flight (acknowledgement overdue:
        a CRITICAL event, then the Executor's view alone decides)."""
        now = time.monotonic()
        for cloid, (symbol, sent) in list(self._in_flight.items()):
            if now - sent > self.submit_timeout_s:
                del self._in_flight[cloid]
                self._event(Level.CRITICAL, "submit_unknown",
                            f"{symbol} entry {cloid}: executor did not acknowledge within "
                            f"{self.submit_timeout_s:g} s")  # fmt: skip
        flying = {symbol for symbol, _ in self._in_flight.values()}
        return replace(self.state, pending=self.state.pending | flying)

    def _auto_trip(self) -> None:
        """Trip ``drawdown`` when the equity the Executor reports (the venue's account value,
        marked to market) falls more than the threshold below its peak: persisted, logged and
        sent as a CRITICAL event. Other automatic trips are not wired yet."""
        eq = self.state.equity
        if self.data_dir is None or not (math.isfinite(eq) and eq > 0):
            return
        self._peak = max(self._peak, eq)
        t = drawdown_trip([self._peak, eq], self.thresholds)
        if t is None or t.name in (self._tripped or ()):
            return
        from actors.state.breakers import BreakerStore

        try:
            BreakerStore(self.data_dir).trip(t.name, t.reason, t.values)
        except Exception as exc:  # the decision path re-reads and fails closed if unreadable
            log.error("could not persist the %s trip: %s", t.name, exc)
        self._event(Level.CRITICAL, "breaker_trip", f"circuit breaker {t.name} tripped: {t.reason}",
                    breaker=t.name)  # fmt: skip

    def on_signal(self, signal: Signal, trace: Trace | None = None) -> RiskDecision:
        """Decide ``signal`` (idempotent: a signal id is decided once) and hand the entry to the
        Executor without waiting for it. ``trace``: hop timestamps (benchmarks)."""
        trace = stamp(trace, "risk_in")
        if signal.signal_id in self._decided:
            return self._decided[signal.signal_id]
        ref = signal.price if signal.price is not None else signal.reasons.get("close", math_nan())
        proposal = Proposal(symbol=signal.symbol, side=signal.side, price=ref, stop=signal.stop,
                            target=signal.target)  # fmt: skip
        self._auto_trip()
        state = replace(self._view(), breakers=self._breakers())
        d = rules.evaluate(proposal, state, self.limits, self.rules)
        decision = RiskDecision(
            source=SOURCE, seq=signal.seq, signal_id=signal.signal_id, approved=d.approved,
            rule=d.rule, size=d.size, detail=d.detail,
        )  # fmt: skip
        self._remember(signal.signal_id, decision)
        self.keeper.record_signal.remote(signal, decision)
        self._event(Level.INFO, "signal",
                    f"{signal.symbol} {signal.side} {signal.kind} signal @ "
                    f"{ref:g} stop {signal.stop:g} -> "
                    + (f"approved, size {d.size:.6g}" if d.approved else f"rejected by {d.rule}"
                       + (f" ({d.detail})" if d.detail else "")),
                    time_ms=signal.bar_time_ms, signal_id=signal.signal_id, rule=d.rule)  # fmt: skip
        if not d.approved:
            return decision
        intent = OrderIntent(
            source=SOURCE, seq=signal.seq, intent_id=f"{signal.signal_id}:entry",
            cloid=make_cloid(signal.strategy, signal.symbol, signal.signal_id, "entry"),
            signal_id=signal.signal_id, symbol=signal.symbol, side=signal.side, size=d.size,
            kind="limit" if signal.kind == "limit" else "market", price=signal.price,
            purpose="entry", stop=signal.stop, target=signal.target,
        )  # fmt: skip
        # in flight until the Executor acknowledges it with its new view (on_submitted)
        self._in_flight[intent.cloid] = (signal.symbol, time.monotonic())
        self.executor.submit.remote(intent, stamp(trace, "risk_out"))
        return decision

    def _breakers(self) -> tuple[str, ...]:
        """Tripped breakers, re-read from the store before every decision (so `fractal breaker
        trip` halts entries at once); an unreadable store fails closed."""
        if self.data_dir is None:
            return ()
        from actors.state.breakers import read_states
        from strategies.breakers import halted

        try:
            tripped = tuple(halted(read_states(self.data_dir)))
        except Exception as exc:  # fail closed: no proof the breakers are armed
            tripped = ("unreadable",)
            log.error("breaker states unreadable: %s", exc)
        if tripped != self._tripped:
            self._tripped = tripped
            self._event(Level.CRITICAL if tripped else Level.INFO, "breakers",
                        f"HALTED by breaker(s) {', '.join(tripped)}: no new entries"
                        if tripped else "all circuit breakers armed", breakers=",".join(tripped))  # fmt: skip
        return tripped

    def portfolio(self) -> PortfolioState:
        """What the next decision starts from (the Executor's view plus entries in flight)."""
        return self._view()

    def _remember(self, signal_id: str, decision: RiskDecision) -> None:
        self._decided[signal_id] = decision
        while len(self._decided) > 10_000:
            self._decided.popitem(last=False)

    def _event(self, level: Level, kind: str, text: str, time_ms: int = 0, **data: Any) -> None:
        if self.alerter is None:
            log.info("%s", text)
            return
        self._seq += 1
        self.alerter.send.remote(Event(source=SOURCE, seq=self._seq, level=level, kind=kind,
                                       text=text, data=data, time_ms=time_ms))  # fmt: skip


def math_nan() -> float:
    return float("nan")
