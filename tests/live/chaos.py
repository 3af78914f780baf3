"""Chaos harness (failure_modes F12): the whole live actor graph on a manual-clock simulator,
stepped one bar at a time, with actors killed (Ray restarts them) between or right after steps.

Why a manual clock: a replay whose bars come from wall time would make every run different (an
order sent 50 ms later fills at another price), so "the ledger equals the fault-free run" could
never be asserted. Here time moves only when the harness steps it, and after each step the harness
waits until the step's work is done: the feed published the bar, each runner handled it, PortfolioRisk
decided its signal and the Executor acknowledged and synced the fills. Nothing is timed with
sleeps; every wait is on a condition. Shared by tests/live/test_chaos.py and the soak benchmark.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actors import system
from actors.venues.factory import make_venue
from actors.venues.hyperliquid import CLOSE_GUARD_MS
from actors.venues.paper import PaperExchange
from strategies.risk import Limits
from tests.conftest import MARKET
from tests.live.helpers import wait_for

ACTOR_TYPES = ("feed", "runner", "risk", "executor", "keeper", "alerter")
START_MS = 1_753_142_400_000  # 2025-07-22 00:00 UTC: inside every shipped Hyperliquid 1m file
TF_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000}


def call(fn: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    """``ray.get`` of a call on an actor that may be restarting: None while it is unavailable."""
    import ray
    from ray.exceptions import GetTimeoutError, RayActorError

    try:
        return ray.get(fn(), timeout=timeout_s)
    except (RayActorError, GetTimeoutError):
        return None


@dataclass
class Session:
    """One replayed paper session: the simulator, the live system and the test's venue client."""

    paper: PaperExchange
    live: system.LiveSystem
    venue: Any
    symbols: tuple[str, ...]
    tf_ms: int
    kills: list[tuple[int, str]] = field(default_factory=list)  # (step, actor type) done

    def handle(self, kind: str, symbol: str | None = None) -> Any:
        live = self.live
        if kind == "runner":
            return live.runners[symbol or self.symbols[0]]
        return {"feed": live.feed, "risk": live.risk, "executor": live.executor,
                "keeper": live.keeper, "alerter": live.alerter}[kind]  # fmt: skip

    def kill(self, kind: str, step: int) -> None:
        """SIGKILL-equivalent of one actor; Ray restarts it (``max_restarts``)."""
        import ray

        ray.kill(self.handle(kind), no_restart=False)
        self.kills.append((step, kind))

    def step(self) -> int:
        """Advance the venue clock to the next close of a bar of the live timeframe (the
        simulator's own price path in between); returns the closed bar's open time."""
        sim = self.paper.simulator
        now = sim.clock.now_ms()
        close = (now // self.tf_ms + 1) * self.tf_ms
        # the venue counts its newest bucket closed CLOSE_GUARD_MS after its end (as Hyperliquid)
        sim.clock.advance(ms=close + CLOSE_GUARD_MS - now)
        return close - self.tf_ms

    def settle(self, bar_ms: int, timeout_s: float = 120.0) -> None:
        """Wait until the step that closed ``bar_ms`` has been handled end to end."""
        live = self.live
        wait_for = _wait_for
        wait_for(lambda: _published(call(lambda: live.feed.stats.remote()), self.symbols, bar_ms),
                 timeout_s, f"the feed to publish bar {bar_ms}")  # fmt: skip
        signals = []
        for s in self.symbols:
            r = live.runners[s]
            st = wait_for(lambda r=r, s=s: _at(call(lambda: r.state.remote(s)), bar_ms), timeout_s,
                          f"runner {s} to handle bar {bar_ms}")  # fmt: skip
            if st["last_signal"] and st["last_signal"].endswith(f":{bar_ms}"):
                signals.append(st["last_signal"])
        for sid in signals:
            wait_for(lambda sid=sid: call(lambda: live.risk.decided.remote(sid)), timeout_s,
                     f"PortfolioRisk to decide {sid}")  # fmt: skip
        wait_for(lambda: call(lambda: live.risk.in_flight.remote()) == [], timeout_s,
                 "every approved entry to be acknowledged by the executor")  # fmt: skip
        wait_for(lambda: call(lambda: live.executor.poll_now.remote()), timeout_s,
                 "an executor poll after the step")  # fmt: skip


def _wait_for(pred: Callable[[], Any], timeout_s: float, what: str) -> Any:
    return wait_for(pred, timeout_s, what, every_s=0.005)  # each probe is a Ray round trip


def _published(stats: dict[str, Any] | None, symbols: tuple[str, ...], bar_ms: int) -> bool:
    return stats is not None and all(stats["last_closed"].get(s, -1) >= bar_ms for s in symbols)


def _at(state: dict[str, Any] | None, bar_ms: int) -> dict[str, Any] | None:
    return state if state is not None and (state["last_ms"] or -1) >= bar_ms else None


@contextmanager
def session(tmp: Path, prefix: str, symbols: tuple[str, ...] = ("BTC",), timeframe: str = "1m",
            strategy: str = "bos_orderblock", warmup_bars: int = 300,
            start_ms: int = START_MS, **config: Any) -> Iterator[Session]:  # fmt: skip
    """A fresh simulator (manual clock) and live system; stopped cleanly on exit."""
    with PaperExchange(market_dir=MARKET, state_dir=tmp / "paper", symbols=list(symbols),
                       speed=1.0, clock="manual", start_ms=start_ms) as px:  # fmt: skip
        # a manual clock moves only when stepped: every actor reads it, never extrapolates it
        spec = px.spec.model_copy(update={"clock_resync_s": 0.0})
        cfg = system.LiveConfig(
            spec=spec, data_dir=tmp / "data",
            symbols=tuple(system.SymbolPlan(s, strategy) for s in symbols), timeframe=timeframe,
            limits=Limits(risk_fraction=0.01, max_open_positions=3, max_leverage=2.0),
            warmup_bars=warmup_bars, **{"snapshot_s": 3600.0, "reconcile_s": 3600.0,
                                        "poll_s": 0.2, **config},
        )  # fmt: skip
        live = system.start(cfg, namespace_prefix=prefix)
        venue = make_venue(px.spec)
        try:
            yield Session(px, live, venue, symbols, TF_MS[timeframe])
        finally:
            live.stop()
            venue.close()


def replay(s: Session, steps: int, kills: dict[int, list[str]] | None = None,
           in_flight: bool = False) -> None:  # fmt: skip
    """Step ``steps`` bars; at step ``i`` kill the actor types ``kills[i]`` — after the step is
    settled, or (``in_flight``) right after the clock moved, while the bar is being handled."""
    kills = kills or {}
    for i in range(steps):
        bar = s.step()
        if in_flight:
            for kind in kills.get(i, []):
                s.kill(kind, i)
        s.settle(bar)
        if not in_flight:
            for kind in kills.get(i, []):
                s.kill(kind, i)


def schedule(seed: int, steps: int, kinds: tuple[str, ...] = ACTOR_TYPES) -> dict[int, list[str]]:
    """One kill per actor type at a seeded random step (distinct steps, the last one free)."""
    rng = random.Random(seed)
    at = rng.sample(range(steps - 1), len(kinds))
    out: dict[int, list[str]] = {}
    for step, kind in zip(at, kinds, strict=True):
        out.setdefault(step, []).append(kind)
    return out


def ledger(s: Session) -> dict[str, Any]:
    """What must not depend on faults: the venue's orders, fills, positions and P&L, and the
    journal's intents, statuses, fills, positions and P&L (trade ids excluded: the venue numbers
    its trades by arrival, so they say nothing about the trading)."""
    from actors.state import journal_path
    from actors.state.journal import Journal

    v = s.venue
    vfills = sorted((f.cloid, f.symbol, f.side, f.size, f.price, round(f.fee, 9),
                     round(f.closed_pnl, 9), f.time_ms) for f in v.fills_since(0))  # fmt: skip
    opened = sorted((o.cloid, o.symbol, o.side, o.kind, o.remaining, o.price, o.trigger_price)
                    for o in v.open_orders())  # fmt: skip
    with Journal.open_readonly(journal_path(s.live.config.data_dir)) as j:
        cloids = j._read(lambda c: [r[0] for r in c.execute("SELECT cloid FROM intents")])
        intents = {}
        for c in cloids:
            i = j.intent(c)
            intents[c] = (i.purpose, i.symbol, i.side, _sig(i.size), i.kind, _sig(i.price),
                          _sig(i.trigger_price), j.order_status(c))  # fmt: skip
        jfills = sorted((f.cloid, f.symbol, f.side, f.size, f.price) for f in j.fills())
        jpos = {k: p.size for k, p in j.positions().items() if p.size != 0.0}
        pnl = round(sum(t.pnl for t in j.trades(1_000_000)), 6)
    return {
        "venue_fills": vfills,
        "venue_open": opened,
        "venue_positions": {p.symbol: p.size for p in v.positions() if p.size != 0.0},
        "venue_equity": round(v.equity(), 6),
        "intents": intents,
        "journal_fills": jfills,
        "journal_positions": jpos,
        "journal_pnl": pnl,
    }


def _sig(x: float | None) -> float | None:
    """10 significant digits. A restarted StrategyRunner rebuilds its stream from the feed's
    kept history (fewer bars than the original run had seen), so a stop or target level can
    differ from the fault-free run's in the last bits of the float (~1e-13 relative); the venue
    rounds every price to 5 significant digits, and its own records are compared exactly."""
    return None if x is None else float(f"{x:.10g}")


def diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Readable differences between two ledgers (empty: equal)."""
    out = []
    for k in a:
        if a[k] != b.get(k):
            if isinstance(a[k], dict):
                keys = set(a[k]) | set(b[k])
                bad = {x: (a[k].get(x), b[k].get(x)) for x in keys if a[k].get(x) != b[k].get(x)}
                out.append(f"{k}: {bad}")
            elif isinstance(a[k], list):
                sa, sb = set(a[k]), set(b[k])
                out.append(f"{k}: only fault-free {sorted(sa - sb)}; only chaos {sorted(sb - sa)}")
            else:
                out.append(f"{k}: {a[k]} != {b[k]}")
    return out


def problems(s: Session) -> list[str]:
    """What the soak calls "lost": venue orders or fills without a journaled intent, journal and
    venue disagreeing (fills, positions, open orders), intents still unknown, two venue orders
    for one signal, positions without exactly one reduce-only stop on the venue."""
    from actors.state import journal_path
    from actors.state.journal import Journal

    v = s.venue
    out: list[str] = []
    positions = {p.symbol: p.size for p in v.positions() if p.size != 0.0}
    open_orders = v.open_orders()
    fills = v.fills_since(0)
    held = s.paper.simulator.venue.cloids
    account = s.paper.spec.account_address.lower()
    with Journal.open_readonly(journal_path(s.live.config.data_dir)) as j:
        cloids = {o.cloid for o in open_orders if o.cloid} | {f.cloid for f in fills if f.cloid}
        out += [f"orphan venue order {c}" for c in sorted(cloids) if j.intent(c) is None]
        jfills = {f.trade_id for f in j.fills()}
        vfills = {f.trade_id for f in fills}
        if jfills != vfills:
            out.append(f"fills: journal-only {sorted(jfills - vfills)}, "
                       f"venue-only {sorted(vfills - jfills)}")  # fmt: skip
        jpos = {k: p.size for k, p in j.positions().items() if p.size != 0.0}
        if set(jpos) != set(positions) or any(abs(jpos[k] - positions[k]) > 1e-9 for k in jpos):
            out.append(f"positions: journal {jpos} != venue {positions}")
        jopen = {i.cloid for i in j.open_intents()}
        vopen = {o.cloid for o in open_orders}
        if jopen != vopen:
            out.append(f"open orders: journal-only {sorted(jopen - vopen)}, "
                       f"venue-only {sorted(vopen - jopen)}")  # fmt: skip
        all_cloids = j._read(lambda c: [r[0] for r in c.execute("SELECT cloid FROM intents")])
        per_signal: dict[str, int] = {}
        for c in all_cloids:
            if j.order_status(c) == "unknown":
                out.append(f"intent {c} still unknown")
            i = j.intent(c)
            if i is not None and i.purpose == "entry" and i.signal_id and (account, c) in held:
                per_signal[i.signal_id] = per_signal.get(i.signal_id, 0) + 1
    out += [f"{n} venue orders for signal {sid}" for sid, n in per_signal.items() if n > 1]
    for sym, size in positions.items():
        closing = "sell" if size > 0 else "buy"
        stops = [o for o in open_orders if o.symbol == sym and o.kind == "stop_loss"
                 and o.reduce_only and o.side == closing]  # fmt: skip
        if len(stops) != 1 or abs(stops[0].remaining - abs(size)) > 1e-9:
            out.append(f"{sym} position {size} has stops {[o.remaining for o in stops]}")
    return out
