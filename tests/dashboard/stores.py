"""State stores for the dashboard tests: a hand-built journal with known figures, and one filled
by a real paper-venue session (simulator + Hyperliquid adapter + StateKeeper, the live path's
own functions: journal the intent, place, journal the update and the fills)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from actors.messages import OrderIntent, RiskDecision, Signal, make_cloid
from actors.state import journal_path
from actors.state.journal import Journal
from tests.state.helpers import fill

H = 3_600_000
T0 = 1_751_414_400_000  # 2025-07-02 00:00 UTC


def _signal(j: Journal, n: int, strategy: str, symbol: str, side: str, *, approved: bool = True,
            rule: str = "approved") -> str:  # fmt: skip
    sid = f"{strategy}:{symbol}:15m:{n}"
    j.record_signal(
        Signal(source="strat", seq=n, signal_id=sid, strategy=strategy, symbol=symbol,
               bar_time_ms=T0 + n * H, side=side, kind="market", price=None, stop=1.0),  # type: ignore[arg-type]
        RiskDecision(source="risk", seq=n, signal_id=sid, approved=approved, rule=rule),
    )  # fmt: skip
    return sid


def _entry(j: Journal, n: int, strategy: str, symbol: str, side: str) -> str:
    sid = _signal(j, n, strategy, symbol, side)
    cloid = make_cloid(strategy, symbol, sid, "entry")
    j.record_intent(OrderIntent.model_validate({
        "source": "executor", "seq": n, "intent_id": f"i{n}", "cloid": cloid, "signal_id": sid,
        "symbol": symbol, "side": side, "size": 1.0, "kind": "market", "purpose": "entry",
        "stop": 90.0,
    }))  # fmt: skip
    return cloid


def known_journal(data_dir: Path) -> dict[str, float]:
    """Two closed trades (alpha +9.8, beta -10.1), one open SOL long with a resting stop, one
    signal blocked by a breaker; equity 1000 -> 1100 -> 990 -> 1050. Returns the figures."""
    with Journal(journal_path(data_dir)) as j:
        a = _entry(j, 1, "alpha", "BTC", "buy")
        b = _entry(j, 2, "beta", "ETH", "sell")
        c = _entry(j, 3, "alpha", "SOL", "buy")
        _signal(j, 4, "alpha", "BTC", "buy", approved=False, rule="breaker:kill")
        stop = OrderIntent.model_validate({
            "source": "executor", "seq": 9, "intent_id": "stop3", "signal_id": None,
            "cloid": make_cloid("alpha", "SOL", "s3", "stop"), "symbol": "SOL", "side": "sell",
            "size": 1.0, "kind": "stop_loss", "trigger_price": 95.0, "reduce_only": True,
            "purpose": "stop",
        })  # fmt: skip
        j.record_intent(stop)
        fills = [
            fill("a1", cloid=a, price=100.0, fee=0.1, t=T0 + H),
            fill("a2", side="sell", price=110.0, fee=0.1, t=T0 + 2 * H),
            fill("b1", symbol="ETH", side="sell", size=2.0, cloid=b, price=50.0, fee=0.05,
                 t=T0 + 3 * H),
            fill("b2", symbol="ETH", size=2.0, price=55.0, fee=0.05, t=T0 + 4 * H),
            fill("c1", symbol="SOL", cloid=c, price=100.0, fee=0.1, t=T0 + 5 * H),
        ]  # fmt: skip
        for i, f in enumerate(fills):
            j.record_fill(f.model_copy(update={"seq": i}))
        for k, e in enumerate([1000.0, 1100.0, 990.0, 1050.0]):
            j.record_equity(T0 + k * 2 * H, e)
    closed = (110 - 100) - 0.2 + (50 - 55) * 2 - 0.1
    return {"realized": closed - 0.1, "closed": closed, "orders": 4, "fills": 5,
            "signals": 4, "unrealized": 1050.0 - 1000.0 - (closed - 0.1)}  # fmt: skip


@dataclass
class Session:
    orders: int
    fills: int
    realized: float  # closed trades and the open one's fees, from the venue's own fills


def paper_session(data_dir: Path, work: Path, round_trips: int = 3) -> Session:
    """Trade ``round_trips`` BTC round trips and one open long on the paper venue, journaling
    every step as the Executor does; returns what the venue says happened."""
    from actors.keeper import StateKeeper
    from actors.orders import fill_of, place_checked
    from actors.state.ledger import derive
    from actors.venues.factory import make_venue
    from tests.live.helpers import entry_intent, paper, wait_for

    keeper = StateKeeper(data_dir, snapshot_s=3600)
    with paper(work, speed=600.0) as px:
        venue = make_venue(px.spec)
        try:
            keeper.record_equity(venue.now_ms(), venue.equity())
            intents = []
            for k in range(round_trips * 2 + 1):
                side = "buy" if k % 2 == 0 else "sell"
                it = entry_intent("BTC", side, 0.01, 100_000.0, f"dash{k}")
                if side == "sell":  # the exit of the previous entry
                    it = it.model_copy(update={"purpose": "exit", "reduce_only": True,
                                               "signal_id": None, "stop": None, "target": None})  # fmt: skip
                else:
                    keeper.record_signal(
                        Signal(source="strat", seq=k, signal_id=it.signal_id or "", strategy="test",
                               symbol="BTC", bar_time_ms=venue.now_ms(), side="buy", kind="market",
                               price=None, stop=1.0),
                        RiskDecision(source="risk", seq=k, signal_id=it.signal_id or "",
                                     approved=True, rule="approved", size=0.01),
                    )  # fmt: skip
                keeper.record_intent(it)  # persist before send
                keeper.record_order_update(place_checked(venue, it, venue.now_ms()))
                intents.append(it)
                got = wait_for(lambda n=k + 1: len(venue.fills_since(0)) >= n and
                               venue.fills_since(0), 30, "the paper fills")  # fmt: skip
                for vf in got:
                    keeper.record_fill(fill_of(vf))
                keeper.record_equity(venue.now_ms(), venue.equity())
            vfills = venue.fills_since(0)
        finally:
            venue.close()
    keeper.snapshot()
    keeper.close()
    positions, trades = derive([fill_of(v) for v in vfills])
    open_part = sum(p.realized_pnl - p.fees for p in positions.values())  # the open long's fee
    return Session(orders=len(intents), fills=len(vfills),
                   realized=sum(t.pnl for t in trades) + open_part)  # fmt: skip


def heartbeat(data_dir: Path, symbols: tuple[str, ...] = ("BTC",), run_id: int | None = None,
              venue_ms: int = T0, interval_s: float = 60.0) -> int:  # fmt: skip
    """A live run with a fresh heartbeat in the format :class:`actors.health.HealthMonitor`
    writes (its own ``payload``): every actor answered, each symbol's stream connected."""
    import json
    import time
    from types import SimpleNamespace

    from actors.health import HealthMonitor
    from actors.state.runs import run_started

    rid = run_started(data_dir, "paper") if run_id is None else run_id
    now = time.time_ns() // 1_000_000
    system = SimpleNamespace(feed=None, runners=dict.fromkeys(symbols), risk=None, executor=None,
                             keeper=None, alerter=None)  # fmt: skip
    mon = HealthMonitor(system, rid, interval_s, clock=lambda: now)
    mon.last_ok = dict.fromkeys(mon.targets, now - 2_000)
    mon.feed = {"venue_ms": venue_ms, "silence_s": 30.0,
                "last_bar_ms": {s: venue_ms - 900_000 for s in symbols},
                "streams": {s: {"state": "connected", "last_message_ms": now - 1_000,
                                "reconnects": 0} for s in symbols}}  # fmt: skip
    with Journal(journal_path(data_dir)) as j:
        j.record_heartbeat(rid, now, venue_ms, json.dumps(mon.payload()))
    return rid
