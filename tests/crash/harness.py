"""The crash suite's venue, live processes and convergence checks.

The venue is the loopback simulator with a manual clock, in the test's own process: it outlives
every "live process" (a forked child running the real StateKeeper and Executor), as an exchange
outlives a crashed bot. Prices move only when a test moves them, so no stop fires by accident.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from actors.messages import OrderIntent, make_cloid
from actors.state import journal_path
from actors.state.journal import Journal
from actors.venues.factory import make_venue
from actors.venues.paper import PaperExchange
from tests.conftest import MARKET
from tests.crash.child import Script, run
from tests.live.helpers import wait_for

_CTX: Any = None


def context() -> Any:
    """One forkserver per test session; it imports the actors once, every case forks from it."""
    global _CTX
    if _CTX is None:
        _CTX = multiprocessing.get_context("forkserver")
        _CTX.set_forkserver_preload(["tests.crash.child"])
    return _CTX


@dataclass
class Bench:
    """A venue (simulator + the test's own client) and one data dir for the live process."""

    paper: PaperExchange
    venue: Any
    data_dir: Path
    spec: Any
    tmp: Path
    incarnation: int = 0

    @property
    def sim(self) -> Any:
        return self.paper.simulator

    def mid(self, symbol: str = "BTC") -> float:
        return float(self.sim.venue.mark(symbol))

    def script(self, **kw: Any) -> Script:
        self.incarnation += 1
        marker = str(self.tmp / f"crash-{self.incarnation}.marker")
        return Script(spec=self.spec, data_dir=str(self.data_dir), marker=marker, **kw)

    def start(self, script: Script) -> Any:
        proc = context().Process(target=run, args=(script,), daemon=True)
        proc.start()
        return proc

    def live(self, script: Script, timeout_s: float = 120.0) -> int:
        """Run one incarnation to its end (clean stop or its SIGKILL); returns the exit code."""
        proc = self.start(script)
        proc.join(timeout_s)
        if proc.exitcode is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.join(30)
            pytest.fail(f"live process did not end within {timeout_s:g} s")
        return int(proc.exitcode)

    def crash(self, script: Script) -> None:
        """Run an incarnation that must die by SIGKILL at its crash point."""
        assert script.crash
        code = self.live(script)
        assert code == -signal.SIGKILL, f"expected a SIGKILL at {script.crash}, exit {code}"
        assert Path(script.marker).exists()

    def restart(self, outcome: str | None = None, **kw: Any) -> None:
        """A new live process on the same journal and venue: rebuild, recover, reconcile.
        Faults are cleared first; ``outcome`` arms one for what the restart sends (a re-send)."""
        self.sim.faults.clear()
        if outcome is not None:
            arm(self, outcome)
        code = self.live(self.script(**kw))
        assert code == 0, f"the restarted live process failed (exit {code})"

    def kill_when_venue_holds(self, script: Script, cloid: str) -> None:
        """Crash point K3, from outside: the request was sent and the venue accepted it, but the
        reply is held back; the whole live process is SIGKILLed before it reads any reply."""
        proc = self.start(script)
        try:
            wait_for(lambda: self.holds(cloid) or proc.exitcode is not None, 120, "the order")
            assert proc.exitcode is None, f"live process ended before the kill ({proc.exitcode})"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.join(30)
        assert proc.exitcode == -signal.SIGKILL

    def holds(self, cloid: str) -> bool:
        return (self.paper.spec.account_address.lower(), cloid) in self.sim.venue.cloids

    def journal(self) -> Journal:
        return Journal.open_readonly(journal_path(self.data_dir), check=True)


@contextmanager
def bench(tmp: Path, timeout_s: float = 2.0, data_dir: Path | None = None) -> Iterator[Bench]:
    with PaperExchange(market_dir=MARKET, state_dir=tmp / "paper", symbols=["BTC"], speed=1.0,
                       clock="manual") as px:  # fmt: skip
        spec = px.spec.model_copy(update={"timeout_s": timeout_s})
        venue = make_venue(px.spec)
        try:
            yield Bench(px, venue, data_dir or tmp / "data", spec, tmp)
        finally:
            venue.close()


def slow_reply(b: Bench, script: Script) -> Script:
    """The same incarnation with a long HTTP timeout (for an external kill while it waits)."""
    spec = b.paper.spec.model_copy(update={"timeout_s": 300.0})
    return replace(script, spec=spec)


def intent(b: Bench, tag: str, side: str = "buy", size: float = 0.01, kind: str = "market",
           purpose: str = "entry", away: float = 0.05) -> OrderIntent:  # fmt: skip
    """An entry (market, or a limit ``away`` from the mid that rests) with a stop and a target
    5 % away; or a reduce-only market exit."""
    mid = b.mid()
    g = 1.0 if side == "buy" else -1.0
    sid = f"crash:BTC:{tag}"
    price = round(mid * (1 - away * g)) if kind == "limit" else None
    entry = purpose == "entry"
    return OrderIntent(
        source="risk", seq=1, intent_id=f"{sid}:{purpose}", signal_id=sid if entry else None,
        cloid=make_cloid("crash", "BTC", sid, purpose), symbol="BTC", side=side,  # type: ignore[arg-type]
        size=size, kind=kind, price=price, reduce_only=not entry,  # type: ignore[arg-type]
        purpose=purpose,  # type: ignore[arg-type]
        stop=round(mid * (1 - 0.05 * g)) if entry else None,
        target=round(mid * (1 + 0.05 * g)) if entry else None,
    )  # fmt: skip


def arm(b: Bench, outcome: str) -> None:
    """What the venue does with the next order: fill | partial | none (rests) | reject | timeout
    (accepted and filled, reply lost)."""
    f = b.sim.faults
    if outcome == "partial":
        f.inject("partial_fill", fraction=0.5)
    elif outcome == "reject":
        f.inject("reject", message="Insufficient margin to place order.", count=1)
    elif outcome == "timeout":
        f.inject("timeout_after_accept", count=1, hang_seconds=8.0)


def converged(b: Bench) -> dict[str, Any]:
    """The suite's invariants after restart + reconciliation; returns the facts for the case's
    own expectations. Zero orphans, zero duplicates, zero unprotected or over-protected
    positions, journal equal to the venue."""
    v = b.venue
    positions = {p.symbol: p.size for p in v.positions() if p.size != 0.0}
    open_orders = v.open_orders()
    fills = v.fills_since(0)
    with b.journal() as j:
        intents = {c: j.intent(c) for c in {o.cloid for o in open_orders if o.cloid}
                   | {f.cloid for f in fills if f.cloid}}  # fmt: skip
        orphans = [c for c, i in intents.items() if i is None]
        assert not orphans, f"venue orders without a journaled intent: {orphans}"
        jpos = {s: p.size for s, p in j.positions().items() if p.size != 0.0}
        assert jpos == pytest.approx(positions), f"journal {jpos} != venue {positions}"
        jopen = {i.cloid for i in j.open_intents()}
        vopen = {o.cloid for o in open_orders}
        assert jopen == vopen, f"journal open {jopen} != venue open {vopen}"
        jfills = {f.trade_id for f in j.fills()}
        assert jfills == {f.trade_id for f in fills}, "journal fills != venue fills"
        all_intents = j._read(lambda c: [r[0] for r in c.execute("SELECT cloid FROM intents")])
        statuses = {c: j.order_status(c) for c in all_intents}
        entries = [j.intent(c) for c in all_intents]
    # one venue order per entry signal, never two (the venue refuses a reused cloid)
    per_signal: dict[str, int] = {}
    for e in entries:
        if e is not None and e.purpose == "entry" and e.signal_id and b.holds(e.cloid):
            per_signal[e.signal_id] = per_signal.get(e.signal_id, 0) + 1
    assert all(n == 1 for n in per_signal.values()), f"duplicate entries: {per_signal}"
    for sym, size in positions.items():
        closing = "sell" if size > 0 else "buy"
        stops = [o for o in open_orders if o.symbol == sym and o.kind == "stop_loss"
                 and o.reduce_only and o.side == closing]  # fmt: skip
        assert len(stops) == 1 and stops[0].remaining == pytest.approx(abs(size)), (
            f"{sym} {size}: stops {[(o.remaining, o.trigger_price) for o in stops]}"
        )
        targets = [o for o in open_orders if o.symbol == sym and o.kind == "take_profit"]
        assert len(targets) <= 1 and all(t.remaining == pytest.approx(abs(size)) for t in targets)
    if not positions:  # no protection left behind a flat position
        assert not [o for o in open_orders if o.reduce_only]
    return {"positions": positions, "open": open_orders, "statuses": statuses,
            "per_signal": per_signal}  # fmt: skip
