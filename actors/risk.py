"""PortfolioRisk actor: approves or rejects each signal and records which rule decided.

Why it does not wait for the Executor: risk is a property of the whole portfolio, so signals are
decided one at a time, and each approved entry is handed to the Executor fire-and-forget and
remembered as *in flight* until the Executor acknowledges that cloid (:meth:`on_submitted`, sent
with the Executor's new view under the same lock that changed it). Every decision sees the
Executor's latest view plus the entries still in flight, so no two entries can race past
MAX_OPEN_POSITIONS, and the next signal is decided without waiting for this one's venue
round-trip. An entry not acknowledged within ``submit_timeout_s`` raises a CRITICAL event and is
then left to the Executor's own view (a journaled intent stays pending there until the venue
answers; one never journaled was never sent). The rules are the pure functions of
:mod:`strategies.risk`, applied by :class:`actors.risk_core.RiskCore` (shared with the
portfolio-backtest parity test); this actor moves messages: the Executor's portfolio view and the
DataFeed's bars in, decisions, breaker trips (persisted, logged, CRITICAL) and their actions
(cancel resting entries, optionally flatten) out.

Why threaded (``MAX_CONCURRENCY`` calls at once, issue #15): a signal on a bar that closed after
the view waits for the Executor's fresh view (:meth:`_freshen`, a venue read). Run one call at a
time, the 2nd, 3rd... signals of one close (symbols often signal together) waited in the mailbox
behind the 1st one's wait. Now every signal waits for the view outside the lock, and all signals
of one close wait for one ask (:meth:`_ask`); the decisions themselves still happen one at a
time: one lock (``_lock``) guards all of the actor's state and is held by every public method
(``ping`` excepted), and a decision (view + entries in flight + rules + recording the new
in-flight entry) happens under it, so MAX_OPEN_POSITIONS and the exposure caps hold as before.
Signals are decided in the order they entered the actor (a ticket each, served in turn under
``_turn``), as the one-call-at-a-time actor decided them: a signal never overtakes one that
entered before it, and one slow view (an Executor restart) holds the later signals as before.
A signal id is decided once: a copy that arrives while the first is still waiting finds the
decision when its turn comes. The turn is held through the back-pressure wait
(:meth:`_throttle`) too, but not the lock, so acknowledgements, views and probes go on meanwhile.
Ray does not keep a threaded actor's calls in the order they were sent, so the Executor's views
may be applied out of order: the newest by ``(as_of_ms, version)`` is kept (:meth:`_apply`).
A RunnerGroup sends the signals of one close in one message (:meth:`on_signals`): one ticket,
the decisions in order as consecutive ``on_signal`` calls would make them, and the approved
entries in one ``Executor.submit_many`` call (one journal transaction, one venue request).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import threading
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
from actors.risk_core import RiskCore
from strategies import risk as rules
from strategies.breakers import BreakerState, Thresholds, Trip
from strategies.risk import Limits, PortfolioState, Proposal

log = logging.getLogger(__name__)
SOURCE = "risk"
PEAK_META = "equity_peak"  # journal meta: {"peak": ..., "reset_ms": ...}
PEAK_STEP = 0.0005  # persist the peak when it rose 0.05 % (drawdown error bounded by that)
WATCH_S = 1.0  # market view and breaker states re-read at most this often outside decisions
MAX_IN_FLIGHT = 32  # entries handed to the Executor and not acknowledged; beyond: back-pressure
FRESH_VIEW_S = 30.0  # how long a decision waits for the Executor's fresh view (a restart: seconds)
RETRY_S = 0.1  # between asks while Ray restarts the Executor
# calls run at once (Ray's thread pool: actors.system): signals waiting for the view of their
# close, and beside them the Executor's views and acknowledgements and the health probes
MAX_CONCURRENCY = 16


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
        feed: Any | None = None,
        tf_ms: int = 900_000,
        correlation_bar_ms: int | None = None,
    ) -> None:
        import ray

        self.limits = limits
        self.executor, self.keeper, self.alerter = executor, keeper, alerter
        self.feed = feed  # DataFeed handle or its name (created after this actor)
        self.rules = tuple(rule_set)
        self.submit_timeout_s = submit_timeout_s
        self.data_dir = data_dir  # where the circuit-breaker states live (None: no breakers)
        self._tripped: tuple[str, ...] | None = None
        self.thresholds = thresholds or Thresholds()
        peak = ray.get(keeper.get_meta.remote(PEAK_META))
        stored = json.loads(peak) if peak else {}
        self._peak_reset_ms = int(stored.get("reset_ms", 0))
        self._peak_saved = float(stored.get("peak", 0.0))
        self.tf_ms = tf_ms
        self.core = RiskCore(limits, self.thresholds, tf_ms, correlation_bar_ms,
                             peak=self._peak_saved)  # fmt: skip
        self._last_watch = -math.inf
        # rebuild: the Executor holds the portfolio (venue + journal)
        self.state: PortfolioState = ray.get(executor.portfolio.remote())
        self._decided: OrderedDict[str, RiskDecision] = OrderedDict()
        # entries handed to the Executor and not yet acknowledged: cloid -> (symbol, monotonic s)
        self._in_flight: dict[str, tuple[str, float]] = {}
        # the same entries' intents and submit results: re-submitted when the Executor died
        # before acknowledging (its journal decides whether the first attempt was sent)
        self._submits: dict[str, tuple[OrderIntent, Any]] = {}
        self._notional: dict[str, tuple[OrderIntent, float]] = {}  # cloid -> (intent, ref price)
        self._seqs = itertools.count(time.time_ns() // 1000 + 1)
        # calls run on several threads (module docstring): one lock over all the state above
        self._lock = threading.RLock()
        # signals are decided in the order they entered: a ticket each, served in turn
        self._turn = threading.Condition(self._lock)
        self._tickets = itertools.count()
        self._serving = 0  # the ticket whose turn it is
        self._finished: set[int] = set()  # tickets done before their turn came (served later)
        self._waiting: dict[int, list[str]] = {}  # ticket -> signal ids while on_signal(s) runs
        # fresh-view asks in flight by bar close: every signal of one close waits for one read
        self._asks: dict[int, Any] = {}
        self._breakers()  # a restart with a tripped breaker comes up HALTED, and says so
        self._check_loss_streak()

    def on_portfolio(self, state: PortfolioState) -> None:
        """The Executor's latest view (after fills, reconciliations, orders)."""
        with self._lock:
            self._apply(state)

    def _apply(self, state: PortfolioState) -> None:
        """Take ``state`` unless a view taken after it is here already: one read later (the
        fresh view answered before this push arrived), or the same read and a later version
        (this actor's calls run out of the order the Executor sent them in: a view from before
        an entry was sent must not replace the one its acknowledgement carried)."""
        if (state.as_of_ms, state.version) < (self.state.as_of_ms, self.state.version):
            return  # overtaken by a fresher view
        prev, self.state = self.state, state
        self._resubmit_lost()
        closed = any(q != 0.0 and state.positions.get(s, 0.0) == 0.0
                     for s, q in prev.positions.items())  # fmt: skip
        self._watch(force=False)
        if closed:
            self._check_loss_streak()

    def on_submitted(self, cloid: str, state: PortfolioState) -> None:
        """The Executor has handled entry ``cloid`` (placed, refused or skipped); ``state`` is
        its view after that, so the entry is no longer counted in flight here."""
        with self._lock:
            self._in_flight.pop(cloid, None)
            self._submits.pop(cloid, None)
            self._notional.pop(cloid, None)
            self._apply(state)

    def _resubmit_lost(self) -> None:
        """An entry whose ``submit`` failed because the Executor died (Ray never retries it) is
        handed to the restarted Executor again with the same cloid: if the first attempt was
        journaled, the new incarnation has settled it from the venue and refuses the copy; if
        not, it was never sent (persist before send) and this is its only order (F3, F12).
        Runs under ``_lock`` (its ``ray.get`` only reads submits already done)."""
        import ray
        from ray.exceptions import RayActorError

        if not self._submits:
            return
        refs = list(dict.fromkeys(ref for _, ref in self._submits.values()))  # a batch shares one
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        finished = set(done)
        for cloid, (intent, ref) in list(self._submits.items()):
            if ref not in finished:
                continue
            try:
                ray.get(ref)
            except RayActorError as exc:
                self._event(Level.WARNING, "entry_resubmitted",
                            f"{intent.symbol} entry {cloid}: the executor died before "
                            f"acknowledging it ({type(exc).__name__}); handed to it again")  # fmt: skip
                self._submits[cloid] = (intent, self.executor.submit.remote(intent))
                self._in_flight[cloid] = (intent.symbol, time.monotonic())
            except Exception as exc:  # the executor answered with an error: nothing to re-send
                log.error("submit of %s failed: %s", cloid, exc)
                self._submits.pop(cloid, None)

    def _freshen(self, bar_close_ms: int) -> None:
        """Decide on the account as of the bar's close: a view read before it (a stop may have
        filled, the equity the size comes from has moved) is replaced by the Executor's fresh
        one. An Executor that Ray is restarting answers "unavailable" at once: it is asked again
        until ``FRESH_VIEW_S`` (a restart takes seconds; deciding on the old view instead refused
        a signal the fault-free run took, as entry_in_flight of an entry the restart expired:
        found by the chaos test). A dead or busy Executor past that leaves the view as it is
        (the rules fail closed on an unreconciled or pending state). Waits without the lock,
        on the ask the other signals of the same close wait for (:meth:`_ask`)."""
        import ray
        from ray.exceptions import RayActorError

        deadline = time.monotonic() + FRESH_VIEW_S
        while True:
            with self._lock:
                if self.state.as_of_ms >= bar_close_ms:
                    return
                try:
                    ref = self._ask(bar_close_ms)
                except Exception as exc:  # an executor that cannot be asked: the view as it is
                    log.warning("fresh portfolio view unavailable: %s", exc)
                    return
            left = deadline - time.monotonic()
            try:
                fresh = ray.get(ref, timeout=max(left, 0.1))
            except RayActorError as exc:  # incl. ActorUnavailableError: restarting
                with self._lock:
                    self._forget_ask(bar_close_ms, ref)
                if left <= 0:
                    log.warning("fresh portfolio view unavailable: %s", exc)
                    return
                time.sleep(RETRY_S)  # the restart's constructor needs the time, not a signal
                continue
            except Exception as exc:
                with self._lock:
                    self._forget_ask(bar_close_ms, ref)
                log.warning("fresh portfolio view unavailable: %s", exc)
                return
            with self._lock:
                self._forget_ask(bar_close_ms, ref)
                self._apply(fresh)
            return

    def _ask(self, bar_close_ms: int) -> Any:
        """The Executor's fresh view as of ``bar_close_ms``: the ask already out for that close,
        else a new one (under ``_lock``)."""
        ref = self._asks.get(bar_close_ms)
        if ref is None:
            ref = self._asks[bar_close_ms] = self.executor.fresh_view.remote(bar_close_ms)
        return ref

    def _forget_ask(self, bar_close_ms: int, ref: Any) -> None:
        """The ask is answered (or failed): the next signal of that close asks anew if it must."""
        if self._asks.get(bar_close_ms) is ref:
            del self._asks[bar_close_ms]

    def decided(self, signal_id: str) -> RiskDecision | None:
        """The decision on ``signal_id`` if this incarnation made one (tests, monitoring)."""
        with self._lock:
            return self._decided.get(signal_id)

    def waiting(self) -> list[str]:
        """Signal ids whose ``on_signal`` is under way (waiting for the view or their turn, being
        decided, or held by back-pressure), in the order they are decided (tests, monitoring)."""
        with self._lock:
            return [sid for t in sorted(self._waiting) for sid in self._waiting[t]]

    def in_flight(self) -> list[str]:
        """Cloids of approved entries the Executor has not acknowledged yet."""
        with self._lock:
            self._resubmit_lost()
            return sorted(self._in_flight)

    def _view(self) -> PortfolioState:
        """The Executor's view plus the entries still in flight (acknowledgement overdue:
        a CRITICAL event, then the Executor's view alone decides). Under ``_lock``."""
        now = time.monotonic()
        for cloid, (symbol, sent) in list(self._in_flight.items()):
            if now - sent > self.submit_timeout_s:
                del self._in_flight[cloid]
                self._submits.pop(cloid, None)
                self._notional.pop(cloid, None)
                self._event(Level.CRITICAL, "submit_unknown",
                            f"{symbol} entry {cloid}: executor did not acknowledge within "
                            f"{self.submit_timeout_s:g} s")  # fmt: skip
        flying = {symbol for symbol, _ in self._in_flight.values()}
        known = {c for c, _, _ in self.state.in_flight}
        extra = tuple((c, i.symbol, (1.0 if i.side == "buy" else -1.0) * i.size * (i.price or px))
                      for c, (i, px) in self._notional.items()
                      if c in self._in_flight and c not in known)  # fmt: skip
        return replace(self.state, pending=self.state.pending | flying,
                       in_flight=self.state.in_flight + extra)  # fmt: skip

    # ----- automatic circuit breakers ----------------------------------------------------------
    def _watch(self, force: bool) -> None:
        """Refresh the market view, then trip what the evidence says: drawdown of the marked
        equity (peak persisted), exchange failures, volatility of each new bar."""
        if self.data_dir is None:
            return
        now = time.monotonic()
        grown: list[str] = []
        if force or now - self._last_watch >= WATCH_S:
            self._last_watch = now
            grown = self._refresh_market()
            self._breakers()
        trips = self.core.equity_trips(self.state, int(time.time() * 1000))
        self._save_peak()
        self._trip_all(trips + self.core.volatility_trips(grown))

    def _check_loss_streak(self) -> None:
        """``loss_streak``: consecutive losing round trips since the breaker's previous trip."""
        import ray

        if self.data_dir is None:
            return
        try:
            after = self._states().get("loss_streak")
            after_ms = after.values.get("after_ms", -1.0) if after is not None else -1.0
            trades = ray.get(self.keeper.closed_trades.remote(max(50, self.thresholds.loss_streak)))
        except Exception as exc:  # the decision path re-reads the states and fails closed
            log.error("loss streak not checked: %s", exc)
            return
        t = self.core.loss_streak_trip(trades, after_ms)
        self._trip_all([t] if t is not None else [])

    def _trip_all(self, trips: list[Trip]) -> None:
        from actors.state.breakers import BreakerStore

        assert self.data_dir is not None
        for t in trips:
            if t.name in (self._tripped or ()):
                continue
            try:
                BreakerStore(self.data_dir).trip(t.name, t.reason, t.values)
            except Exception as exc:  # the decision path re-reads and fails closed if unreadable
                log.error("could not persist the %s trip: %s", t.name, exc)
            self._event(Level.CRITICAL, "breaker_trip",
                        f"circuit breaker {t.name} tripped: {t.reason}", breaker=t.name)  # fmt: skip
            self._breakers()

    def _on_new_trips(self, names: Sequence[str]) -> None:
        """What a trip does beyond blocking entries: cancel the resting entries, and close every
        position when BREAKER_CLOSE_POSITIONS is on (the venue keeps the stops otherwise)."""
        reason = f"circuit breaker {', '.join(names)} tripped"
        self.executor.cancel_entries.remote(reason)
        if self.thresholds.close_positions:
            self.executor.flatten.remote(reason)

    # ----- market view and peak ----------------------------------------------------------------
    def _refresh_market(self) -> list[str]:
        """New closed bars from the DataFeed's history (incremental); [] when unavailable."""
        import ray

        if isinstance(self.feed, str):  # by name: the feed starts after this actor
            try:
                self.feed = ray.get_actor(self.feed)
            except ValueError:
                return []
        if self.feed is None:
            return []
        try:
            rows = ray.get(self.feed.ohlc_since.remote(self.core.newest()), timeout=10)
        except Exception as exc:  # stale view: the portfolio gates fail closed on old bars
            log.warning("market view not refreshed: %s", exc)
            return []
        return self.core.add_bars(rows)

    def _save_peak(self, force: bool = False) -> None:
        if force or self.core.peak > self._peak_saved * (1 + PEAK_STEP):
            self._peak_saved = self.core.peak
            self.keeper.set_meta.remote(PEAK_META, json.dumps(
                {"peak": self.core.peak, "reset_ms": self._peak_reset_ms}))  # fmt: skip

    def on_signal(self, signal: Signal, trace: Trace | None = None) -> RiskDecision:
        """Decide ``signal`` (idempotent: a signal id is decided once) and hand the entry to the
        Executor without waiting for it. ``trace``: hop timestamps (benchmarks); ``risk_fresh``
        is stamped when the view is fresh and it is this signal's turn."""
        return self.on_signals([signal], [trace])[0]

    def on_signals(
        self, signals: list[Signal], traces: list[Trace | None] | None = None
    ) -> list[RiskDecision]:
        """The signals of one publication (a bar close of a RunnerGroup's symbols), decided in
        order in one turn on one fresh view, as consecutive :meth:`on_signal` calls would be;
        the approved entries go to the Executor in one call (``submit_many``), so the later
        signals of a close do not queue behind the first's journal commit and venue call."""
        hops = [stamp(t, "risk_in") for t in (traces or [None] * len(signals))]
        out: list[RiskDecision | None] = [None] * len(signals)
        with self._lock:
            for k, signal in enumerate(signals):
                out[k] = self._decided.get(signal.signal_id)
            todo = [k for k, d in enumerate(out) if d is None]
            if not todo:
                return [d for d in out if d is not None]
            ticket = next(self._tickets)
            self._waiting[ticket] = [signals[k].signal_id for k in todo]
        try:
            # beside the other signals' waits; every signal of one publication closed together
            self._freshen(max(signals[k].bar_time_ms for k in todo) + self.tf_ms)
            with self._turn:
                self._turn.wait_for(lambda: self._serving == ticket)
                hops = [stamp(h, "risk_fresh") for h in hops]
                decided: list[tuple[Signal, RiskDecision]] = []
                entries: list[tuple[OrderIntent, Trace | None]] = []
                for k in todo:
                    known = self._decided.get(signals[k].signal_id)
                    if known is not None:  # a copy decided while this one waited for the view
                        out[k] = known
                        continue
                    decision, intent = self._decide(signals[k])
                    out[k] = decision
                    decided.append((signals[k], decision))
                    if intent is not None:
                        entries.append((intent, hops[k]))
                self._dispatch(entries)
                for signal, decision in decided:  # journaled and announced after the entries
                    self._record(signal, decision)  # went out: neither is on the order's path
            if entries:
                self._throttle()  # still this turn: the next waits as it did before
            return [d for d in out if d is not None]
        finally:
            with self._turn:
                self._waiting.pop(ticket, None)
                self._finished.add(ticket)
                while self._serving in self._finished:
                    self._finished.discard(self._serving)
                    self._serving += 1
                self._turn.notify_all()

    def _decide(self, signal: Signal) -> tuple[RiskDecision, OrderIntent | None]:
        """The decision on ``signal`` and, if approved, its entry (counted in flight from now);
        under ``_lock``, so the next decision sees this one's entry."""
        ref = self._reference_price(signal)
        proposal = Proposal(symbol=signal.symbol, side=signal.side, price=ref, stop=signal.stop,
                            target=signal.target)  # fmt: skip
        if self.data_dir is not None:
            self._watch(force=True)
        elif self.limits.portfolio is not None:
            self._refresh_market()
        state = replace(self._view(), breakers=self._breakers())
        d = self.core.decide(proposal, state, signal.bar_time_ms, self.rules)
        self._save_peak()
        decision = RiskDecision(
            source=SOURCE, seq=signal.seq, signal_id=signal.signal_id, approved=d.approved,
            rule=d.rule, size=d.size, detail=d.detail,
        )  # fmt: skip
        self._remember(signal.signal_id, decision)
        if not d.approved:
            return decision, None
        intent = OrderIntent(
            source=SOURCE, seq=signal.seq, intent_id=f"{signal.signal_id}:entry",
            cloid=make_cloid(signal.strategy, signal.symbol, signal.signal_id, "entry"),
            signal_id=signal.signal_id, symbol=signal.symbol, side=signal.side, size=d.size,
            kind="limit" if signal.kind == "limit" else "market", price=signal.price,
            purpose="entry", stop=signal.stop, target=signal.target,
        )  # fmt: skip
        # in flight until the Executor acknowledges it with its new view (on_submitted)
        self._in_flight[intent.cloid] = (signal.symbol, time.monotonic())
        self._notional[intent.cloid] = (intent, ref)
        return decision, intent

    def _dispatch(self, entries: list[tuple[OrderIntent, Trace | None]]) -> None:
        """Hand approved entries to the Executor without waiting: one call for all of them."""
        if not entries:
            return
        hops = [stamp(t, "risk_out") for _, t in entries]
        if len(entries) == 1:
            sent = self.executor.submit.remote(entries[0][0], hops[0])
        else:
            sent = self.executor.submit_many.remote([i for i, _ in entries], hops)
        for intent, _ in entries:
            self._submits[intent.cloid] = (intent, sent)

    def _record(self, signal: Signal, decision: RiskDecision) -> None:
        self.keeper.record_signal.remote(signal, decision)
        ref = self._reference_price(signal)
        self._event(Level.INFO, "signal",
                    f"{signal.symbol} {signal.side} {signal.kind} signal @ "
                    f"{ref:g} stop {signal.stop:g} -> "
                    + (f"approved, size {decision.size:.6g}" if decision.approved
                       else f"rejected by {decision.rule}"
                       + (f" ({decision.detail})" if decision.detail else "")),
                    time_ms=signal.bar_time_ms, signal_id=signal.signal_id, rule=decision.rule)  # fmt: skip

    @staticmethod
    def _reference_price(signal: Signal) -> float:
        return signal.price if signal.price is not None else signal.reasons.get("close", math_nan())

    def _throttle(self) -> None:
        """Back-pressure: with more than MAX_IN_FLIGHT entries unacknowledged (signals arriving
        faster than the venue takes orders, e.g. a fast replay), wait until the oldest are
        handled instead of queueing without bound in this process and the Executor's (each
        queued submit holds its intent). Their results are the Executor's views, applied as
        their acknowledgements would be (those then arrive as no-ops). Waits without the lock
        (acknowledgements go on meanwhile) but in the signal's turn (the next signal waits)."""
        import ray
        from ray.exceptions import RayActorError

        with self._lock:
            if len(self._submits) <= MAX_IN_FLIGHT:
                return
            excess = len(self._submits) - MAX_IN_FLIGHT
            refs = list(dict.fromkeys(ref for _, ref in self._submits.values()))  # batches share
        # the oldest calls that cover the excess (a batch's call answers for all its entries)
        ready, _ = ray.wait(refs, num_returns=min(len(refs), excess), timeout=self.submit_timeout_s)
        done = set(ready)
        with self._lock:
            for cloid, (_, ref) in list(self._submits.items()):
                if ref not in done:
                    continue
                try:
                    state = ray.get(ref)
                except RayActorError:  # the Executor died: _resubmit_lost hands it over again
                    continue
                except Exception as exc:  # its acknowledgement (or the timeout) settles it
                    del self._submits[cloid]
                    log.warning("submit of %s failed: %s", cloid, exc)
                    continue
                del self._submits[cloid]
                if cloid in self._in_flight:
                    self.on_submitted(cloid, state)

    def _states(self) -> dict[str, BreakerState]:
        from actors.state.breakers import read_states

        assert self.data_dir is not None
        return read_states(self.data_dir)

    def _breakers(self) -> tuple[str, ...]:
        """Tripped breakers, re-read from the store before every decision (so `fractal breaker
        trip` halts entries at once); an unreadable store fails closed. A newly seen trip cancels
        the resting entries; a resumed ``drawdown`` restarts the peak from today's equity."""
        if self.data_dir is None:
            return ()
        from strategies.breakers import halted

        try:
            states = self._states()
            tripped = tuple(halted(states))
        except Exception as exc:  # fail closed: no proof the breakers are armed
            states, tripped = {}, ("unreadable",)
            log.error("breaker states unreadable: %s", exc)
        dd = states.get("drawdown")
        if (
            dd is not None
            and not dd.tripped
            and dd.used_code_hashes
            and (dd.since_ms > self._peak_reset_ms)
        ):  # the operator accepted the loss: measure from here
            eq = self.core.marked(self.state) if self.state.equity > 0 else 0.0
            self.core.peak, self._peak_reset_ms = eq, dd.since_ms
            self._save_peak(force=True)
        if tripped != self._tripped:
            new = [n for n in tripped if n not in (self._tripped or ())]
            if ("kill" in tripped) != ("kill" in (self._tripped or ())):
                self.executor.set_killed.remote("kill" in tripped)
            self._tripped = tripped
            self._event(Level.CRITICAL if tripped else Level.INFO, "breakers",
                        f"HALTED by breaker(s) {', '.join(tripped)}: no new entries"
                        if tripped else "all circuit breakers armed", breakers=",".join(tripped))  # fmt: skip
            if new:
                self._on_new_trips(new)
        return tripped

    def ping(self) -> int:
        """Liveness probe: this actor's wall clock, ms. Takes no lock: answered on a free thread
        even while signals wait for a view (as the Executor's); a dead actor, or one whose
        threads are all stuck, stops answering."""
        return time.time_ns() // 1_000_000

    def portfolio(self) -> PortfolioState:
        """What the next decision starts from (the Executor's view plus entries in flight)."""
        with self._lock:
            return self._view()

    def _remember(self, signal_id: str, decision: RiskDecision) -> None:
        self._decided[signal_id] = decision
        while len(self._decided) > 10_000:
            self._decided.popitem(last=False)

    def _event(self, level: Level, kind: str, text: str, time_ms: int = 0, **data: Any) -> None:
        if self.alerter is None:
            log.info("%s", text)
            return
        self.alerter.send.remote(Event(source=SOURCE, seq=next(self._seqs), level=level, kind=kind,
                                       text=text, data=data, time_ms=time_ms))  # fmt: skip


def math_nan() -> float:
    return float("nan")
