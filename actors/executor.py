"""Executor actor: turns approved intents into venue orders and keeps every position protected.

One per venue account; it owns the venue client (signer, nonces). Rules (failure_modes §2):

* **Persist before send**: the intent and its cloid are journaled (awaited) before the venue
  call; a cloid already journaled is never sent again (a duplicated message is a no-op).
* **Unknown is not rejected**: after any error the order is looked up by cloid
  (:func:`actors.orders.place_checked`); an order still unknown keeps its symbol blocked and is
  looked up again every poll until the venue answers (or its ``expiresAfter`` has passed).
* **Protection on the venue**: once an entry fills, reduce-only stop-loss and take-profit trigger
  orders are placed and checked to rest on the venue; a rejected stop closes the position
  (reduce-only) with a CRITICAL alert.
* **Rebuild, don't remember**: the constructor reloads open intents from the journal and
  reconciles with the venue; no entry is accepted until that reconciliation is clean.

``submit`` is the only order-placing entry point and is never retried by Ray
(``max_task_retries=0`` where the actor is created).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from concurrent import futures
from typing import Any

from actors import entries, exits, protection, reconciler, recovery, upkeep
from actors.confirm import ConfirmRequest
from actors.crash import CrashPlan, crash_point
from actors.funding import FundingSync
from actors.messages import Event, Level, OrderIntent, OrderUpdate, Trace, stamp
from actors.orders import SOURCE, fill_of, place_checked, update_of
from actors.recent import RecentSet
from actors.venues.base import VenueError
from actors.venues.factory import VenueSpec, make_venue
from actors.venues.failures import FailureCountingVenue
from strategies.risk import PortfolioState

log = logging.getLogger(__name__)
TERMINAL = {"filled", "canceled", "rejected"}
# calls served at once: a close's entries (one per symbol, each behind its own symbol lock), the
# bar-close read and PortfolioRisk's ask for it, probes. With 4, the later entries of a close
# waited for a thread while the first ones were at the venue (issue #15: p99 21 ms to start)
MAX_CONCURRENCY = 16


class Executor:
    def __init__(
        self,
        spec: VenueSpec,
        keeper: Any,
        alerter: Any | None = None,
        risk: Any | None = None,
        desk: Any | None = None,
        require_confirm: bool = False,
        crash: CrashPlan | None = None,
        poll_s: float = 0.5,
        reconcile_s: float = 60.0,
        entry_ttl_ms: int = 900_000,
        adopt_stop_fraction: float = 0.02,
        confirm_timeout_s: float = 60.0,
        one_entry_per_symbol: bool = True,
        resend_within_ms: float = recovery.RESEND_WITHIN_MS,
        recent_cloids: int = 10_000,
    ) -> None:
        import ray

        self.spec = spec
        self.venue: Any = FailureCountingVenue(make_venue(spec))  # feeds exchange_failures
        self.keeper, self.alerter, self.risk, self.desk = keeper, alerter, risk, desk
        self.confirm_needed = require_confirm  # mainnet without AUTO_CONFIRM
        self.confirm_timeout_s = confirm_timeout_s
        self.one_entry_per_symbol = one_entry_per_symbol  # False only in benchmarks
        self.crash = crash
        self.poll_s, self.reconcile_s = poll_s, reconcile_s
        self.entry_ttl_ms = entry_ttl_ms
        self.adopt_stop_fraction = adopt_stop_fraction
        self.resend_within_ms = resend_within_ms  # market time: see actors.recovery
        self._lock = threading.RLock()
        # the order path's account read, beside its poll
        self._account_reader = futures.ThreadPoolExecutor(1, thread_name_prefix="account-read")
        # entries of one symbol go out one at a time, and so do mainnet confirmation prompts;
        # entries of different symbols go out side by side: several symbols often signal on one
        # close, and each waited for the previous one's journal writes and venue round trip
        # (issue #15). ``_lock`` guards the in-memory state, never a venue call of the order path
        self._symbol_locks: dict[str, threading.Lock] = {}
        self._confirm_lock = threading.Lock()
        self._sending: dict[str, OrderIntent] = {}  # journaled entries whose place call is out
        self._traces: deque[tuple[Trace, str]] = deque(maxlen=100_000)
        self._traced = threading.Condition()
        # message seqs: next() on a count is atomic, and entries now run on several threads
        self._seqs = itertools.count(time.time_ns() // 1000 + 1)
        self._stop = threading.Event()
        self.reconciled = False
        self.killed = False  # the kill switch: nothing at all is sent to the venue
        self.blocked: set[str] = set()
        self.positions: dict[str, float] = {}
        self.entries: dict[str, float] = {}  # venue entry price per open position
        self.unrealized: dict[str, float] = {}  # venue unrealised P&L per open position
        self.equity = 0.0
        # venue time of the last full sync (fills, unknown orders, expiries, then the account):
        # set only by the constructor, fresh_view and bar_closed: a view carrying it is complete
        # as of then
        self.as_of_ms = 0
        self.unknown: dict[str, tuple[OrderIntent, float]] = {}  # cloid -> (intent, sent wall s)
        self.resting: dict[str, tuple[OrderIntent, int]] = {}  # entry cloid -> (intent, venue ms)
        # entry cloids handled lately (the journal answers for older ones): bounded memory
        self._submitted = RecentSet(recent_cloids)
        self.known_tids: set[str] = set(ray.get(keeper.known_trade_ids.remote()))
        cursor = ray.get(keeper.get_meta.remote("fills_cursor"))
        self.cursor = int(cursor) if cursor else self.venue.now_ms() - 7 * 86_400_000
        self.funding = FundingSync(keeper, self.venue.now_ms())
        for problem in ray.get(keeper.startup_problems.remote()):  # journaled by the keeper
            if alerter is not None:
                alerter.send.remote(Event(source="keeper", seq=self._next_seq(),
                                          level=Level.CRITICAL, kind="state_corrupt",
                                          text=problem, time_ms=self.venue.now_ms()))  # fmt: skip
        with self._lock:
            as_of = self.venue.now_ms()  # every check below runs at or after this venue time
            self._rebuild_open_intents()
            # looked up by cloid; found -> journaled (a filled entry is protected right here),
            # absent -> re-sent with the same cloid when fresh, else abandoned
            for line in recovery.recover(self):
                log.info("restart: %s", line)
            # entries whose TTL ended while no Executor ran (or while Ray restarted this one):
            # canceled before the view below claims to be complete as of ``as_of``, or
            # PortfolioRisk, seeing a view that new, decides the next bar on an entry still
            # "in flight" and refuses its signal (entry_in_flight; found by the chaos test)
            self._expire_entries()
            self._reconcile()
            protection.tidy_all(self)  # e.g. a crash between placing a new stop and cancelling
            self.as_of_ms = as_of  # recovered, expired, reconciled and read from the venue
        self._last_reconcile = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="executor", daemon=True)
        self._thread.start()

    # ----- public ---------------------------------------------------------------------------
    def submit(self, intent: OrderIntent, trace: Trace | None = None) -> PortfolioState:
        """Place one approved entry (idempotent by cloid); returns the new portfolio view, which
        also goes to PortfolioRisk as the acknowledgement of ``intent.cloid``. ``trace``: hop
        timestamps (benchmarks), kept for :meth:`traces`."""
        return self._submit_one(intent, stamp(trace, "executor_in"))

    def submit_many(
        self, intents: list[OrderIntent], traces: list[Trace | None] | None = None
    ) -> PortfolioState:
        """The approved entries of one bar close (PortfolioRisk.on_signals), each as
        :meth:`submit` would place it, but journaled in one transaction and placed in one venue
        request where the venue takes a batch (:mod:`actors.entries`)."""
        hops = [stamp(t, "executor_in") for t in (traces or [None] * len(intents))]
        if entries.batchable(self, intents):
            return entries.submit_many(self, intents, hops)
        for intent, trace in zip(intents, hops, strict=True):
            self._submit_one(intent, trace)
        with self._lock:
            return self.portfolio()

    def _submit_one(self, intent: OrderIntent, trace: Trace | None) -> PortfolioState:
        with self._lock:
            symbol_lock = self._symbol_locks.setdefault(intent.symbol, threading.Lock())
        with symbol_lock:
            try:
                return self._submit(intent, trace)
            finally:
                with self._lock:  # the view that goes out is the one this entry produced
                    self._acknowledge(intent.cloid)

    def traces(self, at_least: int = 0, wait_s: float = 0.0) -> list[tuple[Trace, str]]:
        """Drain the hop traces of traced submits: (stamps, final order status); waits up to
        ``wait_s`` for ``at_least`` of them (one blocking call instead of a caller polling,
        whose calls would compete with the submits it measures)."""
        with self._traced:
            self._traced.wait_for(lambda: len(self._traces) >= at_least, timeout=wait_s)
            out = list(self._traces)
            self._traces.clear()
        return out

    def _submit(self, intent: OrderIntent, trace: Trace | None) -> PortfolioState:
        import ray

        with self._lock:
            # known cloids answer from memory; record_intent's own answer catches the rest
            if intent.cloid in self._submitted or (
                self.confirm_needed and ray.get(self.keeper.intent.remote(intent.cloid))
            ):
                self._event(Level.INFO, "duplicate_intent",
                            f"{intent.symbol} intent {intent.cloid} already journaled: not resent")  # fmt: skip
                return self.portfolio()
            refusal = self._refusal(intent)
            if refusal:
                self._event(
                    Level.WARNING, "entry_refused", f"{intent.symbol} entry refused: {refusal}"
                )
                return self.portfolio()
        if self.confirm_needed:
            with self._confirm_lock:
                if not self._confirmed(intent):
                    return self.portfolio()
        with self._lock:
            trace = stamp(trace, "executor_locked")
            crash_point(self.crash, "K1")
            self._submitted.add(intent.cloid)
            self._sending[intent.cloid] = intent  # pending from here on (portfolio())
        try:  # the journal write and the venue call hold no lock: other symbols' entries go too
            if not ray.get(self.keeper.record_intent.remote(intent)) and not self._ours(intent):
                self._event(Level.INFO, "duplicate_intent",
                            f"{intent.symbol} intent {intent.cloid} already journaled: not resent")  # fmt: skip
            else:
                crash_point(self.crash, "K2")
                self._send(intent, stamp(trace, "journaled"))
        finally:
            with self._lock:
                self._sending.pop(intent.cloid, None)
        with self._lock:
            return self.portfolio()  # submit() sends it to PortfolioRisk with the acknowledgement

    def _ours(self, intent: OrderIntent) -> bool:
        """``record_intent`` said "already journaled": was it this very call? The StateKeeper
        is retried by Ray when it dies mid-call, so a retry after the first attempt committed
        answers False for an intent nobody has sent. It is ours to send when the journal holds
        this intent with no order update and no other path here knows the cloid (intents left
        by a previous incarnation are rebuilt into ``unknown`` before any submit)."""
        import ray

        if intent.cloid in self.unknown:
            return False
        stored = ray.get(self.keeper.intent.remote(intent.cloid))
        fields = {"source", "seq"}
        return (
            stored is not None
            and stored.model_dump(exclude=fields) == intent.model_dump(exclude=fields)
            and ray.get(self.keeper.order_status.remote(intent.cloid)) is None
        )

    def attach(self, risk: Any) -> None:
        """The PortfolioRisk actor to keep informed (created after the Executor)."""
        self.risk = risk
        self._push_portfolio()

    def portfolio(self) -> PortfolioState:
        pending = {i.symbol for i, _ in self.unknown.values()}
        pending |= {i.symbol for i, _ in self.resting.values()}
        pending |= {i.symbol for i in list(self._sending.values())}
        return PortfolioState(
            equity=self.equity, positions=dict(self.positions), pending=frozenset(pending),
            blocked=frozenset(self.blocked), reconciled=self.reconciled,
            entries=dict(self.entries), unrealized=dict(self.unrealized),
            venue_failures=self.venue.failures(), as_of_ms=self.as_of_ms,
            in_flight=self._in_flight_notional(), version=self._next_seq(),
        )  # fmt: skip

    def _in_flight_notional(self) -> tuple[tuple[str, str, float], ...]:
        """Entries sent and not filled: resting (at their limit price) and unknown (at their
        price, a market entry at its stop: the price is not known before the fill)."""
        out = []
        sending = [(i, 0) for i in list(self._sending.values())]
        for intent, _ in [*self.unknown.values(), *self.resting.values(), *sending]:
            px = intent.price or intent.stop
            if intent.purpose == "entry" and px:
                g = 1.0 if intent.side == "buy" else -1.0
                out.append((intent.cloid, intent.symbol, g * intent.size * px))
        return tuple(sorted(set(out)))

    def fresh_view(self, min_as_of_ms: int = 0) -> PortfolioState:
        """A full poll and the account read from the venue now: PortfolioRisk asks for it when
        its view is older than the bar it decides on (a stop filled in that bar, an entry whose
        TTL ended with it, the equity the size comes from), so a decision never depends on when
        the background loop last polled. A view already as new as ``min_as_of_ms`` (the bar's
        close: :meth:`bar_closed` read it while the StrategyRunners worked) is answered as is."""
        with self._lock:
            if not (min_as_of_ms and self.as_of_ms >= min_as_of_ms):
                self._read_now(self.venue.now_ms())
            return self.portfolio()

    def bar_closed(self, close_ms: int) -> None:
        """The DataFeed has published the bars that closed at ``close_ms``: read the account now
        and push the view to PortfolioRisk, so a signal on those bars finds it fresh instead of
        waiting for the same venue calls after the StrategyRunner (they run side by side). The
        read starts after the close was published, so the view is as of that close even on a
        venue whose clock lags (a replay). A failed read is left to PortfolioRisk's own ask."""
        with self._lock:
            if self.as_of_ms >= close_ms:
                return
            try:
                self._read_now(max(self.venue.now_ms(), close_ms))
            except Exception as exc:  # noqa: BLE001 - fire-and-forget: nobody awaits this call
                log.warning("view for the bar close %d not read: %s", close_ms, exc)
                return
            self._push_portfolio()

    def _read_now(self, as_of: int) -> None:
        """Poll (entries past their TTL, fills, unknown orders) and read the account; the view
        is then complete as of ``as_of`` (venue ms, taken before the first read). On a venue
        whose reads may run at once (``concurrent_reads``: Hyperliquid's are independent HTTP
        posts) the account read runs beside the poll's calls, so the read costs about the
        longer of the two instead of their sum on the order path (issue #15); all start after
        ``as_of`` (a fill the poll finds after the account read re-reads the account)."""
        account = None
        if getattr(self.venue, "concurrent_reads", False):
            account = self._account_reader.submit(self.venue.positions_and_equity)
        try:
            upkeep.poll(self)
        except BaseException:
            if account is not None:
                futures.wait([account])  # its error, if any, is this one's consequence
            raise
        self._refresh_account(account.result() if account is not None else None)
        self.as_of_ms = max(self.as_of_ms, as_of)

    def reconcile_now(self) -> dict[str, Any]:
        with self._lock:
            return self._reconcile()

    def poll_now(self) -> PortfolioState:
        """One poll cycle now (fills, unknown orders, expiries); tests use it as a barrier."""
        with self._lock:
            self._poll()
            return self.portfolio()

    def cancel_entries(self, reason: str) -> int:
        """A circuit breaker tripped: cancel every resting entry (see :mod:`actors.upkeep`)."""
        return upkeep.cancel_entries(self, reason)

    def set_killed(self, killed: bool) -> None:
        """The `kill` breaker (PortfolioRisk relays it): while set, no order of any kind is
        sent — the operator's `fractal kill` owns the account."""
        if killed != self.killed:
            self.killed = killed
            self._event(Level.CRITICAL if killed else Level.INFO, "kill_switch",
                        "kill switch engaged: the executor sends nothing" if killed
                        else "kill switch released: the executor sends orders again")  # fmt: skip

    def flatten(self, reason: str) -> int:
        """Close every position reduce-only; returns how many are still open (see
        :mod:`actors.exits`)."""
        return exits.flatten(self, reason)

    def ping(self) -> int:
        """Liveness probe (answered on a free thread even while a submit waits)."""
        return time.time_ns() // 1_000_000

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._account_reader.shutdown(wait=True)
        self.venue.close()

    # ----- order path -----------------------------------------------------------------------
    def _refusal(self, intent: OrderIntent) -> str | None:
        """The Executor's own last check (defence in depth behind PortfolioRisk)."""
        if intent.purpose != "entry":
            return None
        if not self.reconciled:
            return "reconciliation with the venue is not clean"
        if intent.symbol in self.blocked:
            return "symbol blocked"
        if self.one_entry_per_symbol and (
            self.positions.get(intent.symbol, 0.0) != 0.0
            or intent.symbol in self.portfolio().pending
        ):
            return "a position or an entry is already open on this symbol"
        return None

    def _confirmed(self, intent: OrderIntent) -> bool:
        import ray

        req = ConfirmRequest(request_id=intent.cloid, symbol=intent.symbol, side=intent.side,
                             size=intent.size, price=intent.price, stop=intent.stop,
                             kind=intent.kind)  # fmt: skip
        self._event(Level.WARNING, "confirm_request", req.describe(), cloid=intent.cloid)
        if self.desk is None:
            ans_text, ok = "<no terminal>", False
        else:
            self.desk.request.remote(req)
            ans = ray.get(self.desk.wait.remote(req.request_id, self.confirm_timeout_s))
            ans_text, ok = ans.answer, ans.confirmed
        self._event(Level.WARNING, "confirm_answer",
                    f"{intent.symbol} {intent.cloid}: answer {ans_text!r} -> "
                    + ("placing" if ok else "skipped"), cloid=intent.cloid, confirmed=ok)  # fmt: skip
        return ok

    def _send(
        self, intent: OrderIntent, trace: Trace | None = None, journal: bool = True
    ) -> OrderUpdate:
        """Venue call for a journaled intent, then (``journal``) journal what happened and act on
        it under ``_lock``. The venue call itself takes no lock (the entry path calls this
        without one; protection, exits and recovery hold ``_lock`` around it)."""
        if self.killed:  # journaled, never sent: the kill switch owns the account
            upd = update_of(intent, "rejected", self.venue.now_ms(), error="kill switch: not sent")
            if journal:
                with self._lock:
                    self._journal_update(intent, upd)
            return upd
        upd = place_checked(self.venue, intent, self.venue.now_ms())
        if trace is not None:
            with self._traced:
                self._traces.append((stamp(trace, "venue_answered") or [], upd.status))
                self._traced.notify_all()
        crash_point(self.crash, "K4" if intent.purpose == "entry" else "K7")
        if journal:
            with self._lock:
                self._journal_update(intent, upd)
        return upd

    def _journal_update(self, intent: OrderIntent, upd: OrderUpdate) -> None:
        """Journal an order update (awaited), then act on it."""
        import ray

        ray.get(self.keeper.record_order_update.remote(upd))
        self._on_update(intent, upd)

    def _on_update(self, intent: OrderIntent, upd: OrderUpdate) -> None:
        what = f"{intent.purpose} {intent.side} {intent.size:g} {intent.symbol} ({intent.kind})"
        if upd.status == "unknown":
            self.unknown[intent.cloid] = (intent, time.time())
            self._event(Level.WARNING, "order_unknown",
                        f"{what}: outcome unknown ({upd.error}); looking it up", cloid=intent.cloid)  # fmt: skip
            return
        self.unknown.pop(intent.cloid, None)
        if upd.status == "rejected":
            self._event(Level.WARNING if intent.purpose == "entry" else Level.CRITICAL,
                        "order_rejected", f"{what} rejected: {upd.error}", cloid=intent.cloid)  # fmt: skip
            return
        if upkeep.rests(intent, upd.status):
            self.resting.setdefault(intent.cloid, (intent, self.venue.now_ms()))
        if upd.status in TERMINAL:
            self.resting.pop(intent.cloid, None)
        self._event(Level.INFO, "order_" + upd.status,
                    f"{what} {upd.status}" + (f" @ {upd.avg_price:g}" if upd.avg_price else ""),
                    cloid=intent.cloid)  # fmt: skip
        if upd.status in ("filled", "partially_filled") or upd.filled_size > 0:
            self._sync_fills()  # incl. an IOC partly filled, then canceled

    # ----- fills and protection ---------------------------------------------------------------
    def _sync_fills(self) -> None:
        self._apply_fills(self.venue.fills_since(self.cursor))

    def _apply_fills(self, fills: list[Any]) -> None:
        """Journal the venue fills not seen yet (by trade id), then protect what they opened.
        Runs under ``_lock``; ``fills`` may have been read before it was taken."""
        import ray

        touched: dict[str, OrderIntent | None] = {}
        for vf in fills:
            if vf.trade_id in self.known_tids:
                continue
            crash_point(self.crash, "K5")
            ray.get(self.keeper.record_fill.remote(fill_of(vf)))
            self.known_tids.add(vf.trade_id)
            self.cursor = max(self.cursor, vf.time_ms)
            intent = ray.get(self.keeper.intent.remote(vf.cloid)) if vf.cloid else None
            pnl = vf.closed_pnl - vf.fee
            self._event(Level.INFO, "fill",
                        f"fill {vf.side} {vf.size:g} {vf.symbol} @ {vf.price:g}"
                        + (f" ({intent.purpose})" if intent else "")
                        + (f", realised P&L {pnl:+.2f}" if vf.closed_pnl else f", fee {vf.fee:.2f}"),
                        trade_id=vf.trade_id, pnl=pnl)  # fmt: skip
            if intent is not None and intent.purpose == "entry":
                touched[vf.symbol] = intent
            else:
                touched.setdefault(vf.symbol, None)
        if fills:
            self.keeper.set_meta.remote("fills_cursor", str(self.cursor))
        if touched:
            crash_point(self.crash, "K6")
            self._refresh_account()
            for symbol, entry in touched.items():
                self._after_fills(symbol, entry)

    def _after_fills(self, symbol: str, entry: OrderIntent | None) -> None:
        protection.audit(self, symbol, entry)  # one stop (and target) sized to the position
        if self.positions.get(symbol, 0.0) == 0.0:
            metrics = self._metrics()
            self._event(Level.INFO, "position_closed",
                        f"{symbol} position closed; total realised P&L {metrics.get('total_pnl', 0.0):+.2f}")  # fmt: skip

    def _protect(self, symbol: str, pos: float, entry: OrderIntent | None, stop: float,
                 target: float | None, purpose: str) -> bool:  # fmt: skip
        """Place a reduce-only stop (and target) for ``pos``; check the stop rests on the venue."""
        return protection.protect(self, symbol, pos, entry, stop, target, purpose)

    def _emergency_close(self, symbol: str, pos: float, why: str) -> None:
        exits.emergency_close(self, symbol, pos, why)

    # ----- background loop --------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self._poll()
                with self._lock:
                    if time.monotonic() - self._last_reconcile >= self.reconcile_s:
                        self._reconcile()
                    self._push_portfolio()
            except Exception as exc:  # keep running: the venue keeps the stops
                self._event(Level.WARNING, "executor_error", f"executor loop: {exc}")

    def _poll(self) -> None:
        upkeep.poll(self)

    def _expire_entries(self) -> None:
        upkeep.expire_entries(self)

    # ----- state --------------------------------------------------------------------------------
    def _rebuild_open_intents(self) -> None:
        import ray

        for intent in ray.get(self.keeper.open_intents.remote()):
            # entries and exits: outcome unknown since journaled (actors.recovery settles them);
            # protective orders are audited by the reconciliation (re-placed if absent)
            if intent.purpose in ("entry", "exit"):
                self._submitted.add(intent.cloid)
                ms = ray.get(self.keeper.intent_recorded_ms.remote(intent.cloid))
                self.unknown[intent.cloid] = (intent, (ms or time.time() * 1000) / 1000)

    def _reconcile(self) -> dict[str, Any]:
        report = reconciler.run(self.venue, self.keeper, self.cursor)
        self._last_reconcile = time.monotonic()
        try:
            self.funding.sync(self.venue)  # funding paid/received: P&L no order explains
        except VenueError as exc:  # read again at the next reconciliation
            self._event(Level.WARNING, "funding_read_failed", f"funding history: {exc}")
        self._refresh_account()
        actions = reconciler.act(self, report)
        self.blocked = set(actions["blocked"])
        self.reconciled = not actions["blocking"]
        self._push_portfolio()
        return {"clean": report.clean, "differences": len(report.differences), **actions}

    def _refresh_account(self, reply: tuple[list[Any], float] | None = None) -> None:
        """Positions and equity from ``reply`` (read already), else read now."""
        positions, equity = reply if reply is not None else self.venue.positions_and_equity()
        held = [p for p in positions if p.size != 0.0]
        self.positions = {p.symbol: p.size for p in held}
        self.entries = {p.symbol: p.entry_price for p in held}
        self.unrealized = {p.symbol: p.unrealized_pnl for p in held}
        self.equity = equity
        self.keeper.record_equity.remote(self.venue.now_ms(), self.equity)

    def _metrics(self) -> dict[str, Any]:
        import ray

        return dict(ray.get(self.keeper.metrics.remote()))

    def _risk(self) -> Any:
        if isinstance(self.risk, str):  # by name: survives this actor's restart
            import ray

            try:
                self.risk = ray.get_actor(self.risk)
            except ValueError:
                return None  # not created yet
        return self.risk

    def _push_portfolio(self) -> None:
        risk = self._risk()
        if risk is not None:
            risk.on_portfolio.remote(self.portfolio())

    def _acknowledge(self, cloid: str) -> None:
        risk = self._risk()
        if risk is not None and hasattr(risk, "on_submitted"):
            risk.on_submitted.remote(cloid, self.portfolio())

    def _next_seq(self) -> int:
        return next(self._seqs)

    def _event(self, level: Level, kind: str, text: str, **data: Any) -> None:
        log.log(logging.INFO if level == Level.INFO else logging.WARNING, "%s", text)
        ev = Event(source=SOURCE, seq=self._next_seq(), level=level, kind=kind, text=text,
                   data=data, time_ms=self.venue.now_ms())  # fmt: skip
        if self.alerter is not None:
            self.alerter.send.remote(ev)
        self.keeper.record_event.remote(ev)
