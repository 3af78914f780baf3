"""What the dashboard (and the daily report) show about the live system, read from the store.

Why one module: the dashboard page is a thin Streamlit script; every figure it shows is computed
here from the journal opened read-only (``mode=ro``: a WAL reader never blocks ``fractal live``)
so it can be tested without a browser and cannot disagree with ``fractal status`` or the daily
report (same ledger, same formatters). A missing or unreadable store is a :class:`LiveView`
with ``store`` set and a message that says so — never an exception.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import ValidationError

from actors.reports.daily import (
    SEED_WINDOW_DAYS,
    SeedCheck,
    max_drawdown,
    uptime_check,
    uptime_text,
)
from actors.reports.fmt import duration, money, pct, signed_money
from actors.state import journal_path, queries, state_json_path
from actors.state.health import Health, read_health
from actors.state.ledger import ClosedTrade, JournalPosition, derive
from actors.state.ledger import metrics as trade_metrics
from actors.state.reconcile import ReconciliationReport
from actors.state.schema import JournalError, check_version, connect, integrity_problem
from actors.state.snapshot import CorruptState, read_state_json
from actors.state.uptime import Uptime, read_runs, uptime
from strategies.metrics import sortino

SIGNALS_SHOWN = 50
Store = Literal["ok", "missing", "corrupt"]


@dataclass
class LiveView:
    """Everything the monitoring page shows, as plain values (formatting happens in tables)."""

    data_dir: Path
    store: Store
    message: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    trades: list[ClosedTrade] = field(default_factory=list)
    strategy_of: dict[str, str] = field(default_factory=dict)
    positions: list[JournalPosition] = field(default_factory=list)
    open_orders: list[dict[str, Any]] = field(default_factory=list)
    signals: list[dict[str, Any]] = field(default_factory=list)
    equity: list[tuple[int, float]] = field(default_factory=list)
    realized_pnl: float = 0.0  # closed trades + reductions of open ones, net of fees
    unrealized_pnl: float | None = None
    funding: float | None = None  # every settlement journaled (received +, paid -)
    funding_since_start: float | None = None  # since the first equity point
    metrics: dict[str, float | int | None] = field(default_factory=dict)
    reconciliation: ReconciliationReport | None = None
    breakers: list[dict[str, Any]] = field(default_factory=list)
    health: list[tuple[str, str]] = field(default_factory=list)
    system: Health | None = None  # the last heartbeat: actors, bars, websockets
    uptime: Uptime | None = None  # the 30 days ending now (wall clock)
    seed: list[SeedCheck] = field(default_factory=list)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _when(ms: int | None) -> str:
    if ms is None:
        return "n/a"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def load_live(data_dir: Path, now_ms: int | None = None) -> LiveView:
    """The live view of ``data_dir``'s store. Never raises for a missing or damaged store."""
    data_dir = Path(data_dir)
    path = journal_path(data_dir)
    view = LiveView(data_dir=data_dir, store="missing")
    if not path.exists():
        view.message = (
            f"No state store at {path}: nothing has run yet. Start the live system "
            "(fractal live / make run) and this page fills in."
        )
        return view
    try:
        conn = connect(path, readonly=True)
        try:
            if check_version(conn, path) == 0:
                raise JournalError(f"{path}: not a Fractal Trader journal (no schema)")
            conn.execute("BEGIN")  # one consistent snapshot while the live process writes
            _fill(view, conn, now_ms if now_ms is not None else _now_ms())
            conn.execute("COMMIT")
        finally:
            conn.close()
        _add_breakers(view)
        _add_seed(view)
    except (JournalError, sqlite3.DatabaseError, ValidationError, ValueError, KeyError) as err:
        view = LiveView(data_dir=data_dir, store="corrupt")
        view.message = (
            f"The state store at {path} cannot be read: {err}. Nothing was changed; "
            "see `fractal status` and docs on restoring from backups."
        )
    return view


def _fill(view: LiveView, conn: sqlite3.Connection, now_ms: int) -> None:
    view.store = "ok"
    view.counts = queries.counts(conn)
    fills = queries.fills(conn)
    positions, trades = derive(fills)
    protected = queries.ledger(conn)[0] if positions else {}
    view.positions = list(protected.values())
    view.trades = trades
    view.strategy_of = _strategies(conn, trades, fills)
    for it in queries.open_intents(conn):
        upd = queries.latest_update(conn, it.cloid)
        view.open_orders.append({
            "symbol": it.symbol, "side": it.side, "size": it.size, "kind": it.kind,
            "purpose": it.purpose, "price": it.price, "trigger_price": it.trigger_price,
            "reduce_only": it.reduce_only, "status": upd.status if upd else "journaled",
            "cloid": it.cloid,
        })  # fmt: skip
    view.signals = queries.recent_signals(conn, SIGNALS_SHOWN)
    view.equity = [
        (int(t), float(e))
        for t, e in conn.execute("SELECT time_ms, equity FROM equity ORDER BY time_ms, id")
    ]
    view.reconciliation = queries.last_reconciliation(conn)
    view.funding = _funding(conn)
    view.funding_since_start = _funding(conn, view.equity[0][0] if view.equity else 0)
    open_realized = sum(p.realized_pnl - p.fees for p in positions.values())
    view.realized_pnl = sum(t.pnl for t in trades) + open_realized
    view.unrealized_pnl = _unrealized(view, trades, open_realized)
    m = trade_metrics(trades)
    rets = np.array([t.return_pct for t in trades], dtype=np.float64)
    enough = len(trades) >= 2
    view.metrics = {
        "trades": int(m["trades"]), "win_rate": float(m["win_rate"]) if trades else None,
        "sharpe": float(m["sharpe"]) if enough and np.isfinite(m["sharpe"]) else None,
        "sortino": float(sortino(rets, 1.0)) if enough and np.isfinite(m["sharpe"]) else None,
        "fees": float(sum(f.fee for f in fills)),
        "max_drawdown": max_drawdown([e for _, e in view.equity]),
    }  # fmt: skip
    view.health = _health(conn, view, now_ms)


def _unrealized(view: LiveView, trades: list[ClosedTrade], open_realized: float) -> float | None:
    """Equity change since the first equity point minus what was realised since then (and the
    funding, when recorded): the venue's equity includes the open positions at their mark."""
    if len(view.equity) < 1 or not view.positions:
        return 0.0 if view.equity else None
    t0, e0 = view.equity[0]
    realized_since = sum(t.pnl for t in trades if t.closed_ms >= t0) + open_realized
    return view.equity[-1][1] - e0 - realized_since - (view.funding_since_start or 0.0)


def _funding(conn: sqlite3.Connection, since_ms: int = 0) -> float | None:
    """Net funding received (+) / paid (-) from ``since_ms`` (venue clock) on; None for a
    journal of a version that did not record it (no ``funding`` table)."""
    has = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='funding'"
    ).fetchone()
    if not has:
        return None
    row = conn.execute(
        "SELECT COALESCE(SUM(amount), 0) FROM funding WHERE time_ms >= ?", (since_ms,)
    ).fetchone()
    return float(row[0])


def _strategies(
    conn: sqlite3.Connection, trades: list[ClosedTrade], fills: list[Any]
) -> dict[str, str]:
    """trade_key -> strategy through the first fill's cloid -> intent -> signal."""
    by_tid = {f.trade_id: f for f in fills}
    out: dict[str, str] = {}
    for t in trades:
        first = by_tid.get(t.trade_key.split(":", 1)[1])
        row = None
        if first is not None and first.cloid:
            row = conn.execute(
                "SELECT s.strategy FROM intents i JOIN signals s ON s.signal_id = i.signal_id "
                "WHERE i.cloid = ?", (first.cloid,),
            ).fetchone()  # fmt: skip
        out[t.trade_key] = str(row[0]) if row else "unknown"
    return out


def _health(conn: sqlite3.Connection, view: LiveView, now_ms: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    problem = integrity_problem(conn)
    out.append(("journal integrity", "ok" if problem is None else f"DAMAGED: {problem}"))
    last = queries.last_write_ms(conn)
    out.append(("last journal write", "never" if last is None
                else f"{_when(last)} ({duration(now_ms - last)} ago)"))  # fmt: skip
    spath = state_json_path(view.data_dir)
    try:
        st = read_state_json(spath)
        out.append(("state.json", f"valid, written {_when(st.get('written_ms'))}"))
    except FileNotFoundError:
        out.append(("state.json", "not written yet"))
    except CorruptState as err:
        out.append(("state.json", f"DAMAGED: {err} (rebuilt from the journal on start)"))
    view.system = read_health(conn, now_ms)
    out.append(("live system", view.system.summary))
    view.uptime = uptime(read_runs(conn), now_ms, now_ms, view.system.stale_ms, SEED_WINDOW_DAYS)
    out.append(("uptime, last 30 days (wall clock)", uptime_text(view.uptime)))
    return out


def _add_breakers(view: LiveView) -> None:
    from actors.state.breakers import read_states

    try:
        states = read_states(view.data_dir)
    except Exception as err:  # fail closed: an unreadable breaker is shown as such
        view.breakers = [{"breaker": "?", "state": f"UNREADABLE: {err}", "since": "", "reason": ""}]
        return
    view.breakers = [
        {"breaker": s.name, "state": s.state, "since": _when(s.since_ms) if s.since_ms else "",
         "reason": s.reason}
        for s in states.values()
    ]  # fmt: skip


def _add_seed(view: LiveView) -> None:
    """The seed's success metrics over the 30 days ending on the newest activity's UTC day
    (the venue's clock: a paper replay's day is the simulated day)."""
    from actors.reports.daily import build

    times = [t for t, _ in view.equity] + [t.closed_ms for t in view.trades]
    last = max(times) if times else _now_ms()
    day = datetime.fromtimestamp(last / 1000, UTC).date()
    view.seed = [
        uptime_check(view.uptime) if c.name.startswith("uptime") else c
        for c in build(view.data_dir, day).seed
    ]  # uptime: the 30 days ending now


# ---- display tables (lists of dicts: Streamlit and pandas show them, sortable) ---------------


def kpis(view: LiveView) -> list[tuple[str, str]]:
    """The headline numbers, formatted."""
    m = view.metrics
    eq = view.equity[-1][1] if view.equity else None
    net = view.realized_pnl + (view.funding or 0.0)
    return [
        ("Net P&L (realised + funding)", signed_money(net)),
        ("Realised P&L", signed_money(view.realized_pnl)),
        ("Unrealised P&L", signed_money(view.unrealized_pnl)),
        ("Equity", money(eq)),
        ("Closed trades", str(m.get("trades", 0))),
        ("Win rate", pct(_f(m.get("win_rate")))),
        ("Sharpe (per trade)", _ratio(m.get("sharpe"))),
        ("Sortino (per trade)", _ratio(m.get("sortino"))),
        ("Max drawdown", pct(_f(m.get("max_drawdown")), 2)),
        ("Fees paid", money(_f(m.get("fees")))),
        ("Funding", signed_money(view.funding) if view.funding is not None else "not recorded"),
        ("Orders / fills", f"{view.counts.get('orders', 0)} / {view.counts.get('fills', 0)}"),
    ]


def _f(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) else None


def _ratio(x: object) -> str:
    v = _f(x)
    return "n/a (too few trades or no spread)" if v is None else f"{v:,.2f}"


def positions_table(view: LiveView) -> list[dict[str, Any]]:
    """Open positions with the last reconciliation's difference for their symbol, if any."""
    diffs: dict[str, list[str]] = {}
    if view.reconciliation is not None:
        for d in view.reconciliation.differences:
            diffs.setdefault(d.symbol, []).append(
                f"{d.kind}: journal {d.journal_size} vs venue {d.venue_size} ({d.detail})"
            )
    rows = [
        {"symbol": p.symbol, "side": p.side, "size": abs(p.size), "entry": p.entry_price,
         "stop": p.stop, "target": p.target, "opened": _when(p.opened_ms),
         "venue vs journal": "; ".join(diffs.pop(p.symbol, [])) or "agrees"}
        for p in view.positions
    ]  # fmt: skip
    for sym, texts in diffs.items():  # the venue holds something the journal does not
        rows.append({"symbol": sym, "side": "?", "size": None, "entry": None, "stop": None,
                     "target": None, "opened": "", "venue vs journal": "; ".join(texts)})  # fmt: skip
    return rows


def orders_table(view: LiveView) -> list[dict[str, Any]]:
    """Open orders; stops and targets show their trigger price."""
    return [
        {"symbol": o["symbol"], "purpose": o["purpose"], "side": o["side"], "size": o["size"],
         "kind": o["kind"], "price": o["price"], "trigger": o["trigger_price"],
         "reduce only": o["reduce_only"], "status": o["status"]}
        for o in view.open_orders
    ]  # fmt: skip


def signals_table(view: LiveView) -> list[dict[str, Any]]:
    """The last 50 signals: acted on, or the rule that blocked them."""
    out = []
    for s in view.signals:
        if s["acted"]:
            outcome = "acted on (order sent)"
        elif s["approved"] is False:
            outcome = f"blocked: {s['rule']}"
        elif s["approved"]:
            outcome = "approved, no order recorded"
        else:
            outcome = "no decision recorded"
        out.append({"bar time": _when(s["bar_time_ms"]), "symbol": s["symbol"],
                    "strategy": s["strategy"], "side": s["side"], "outcome": outcome})  # fmt: skip
    return out


def trades_table(view: LiveView) -> list[dict[str, Any]]:
    """Closed trades, newest first; numbers stay numbers so the table sorts by value."""
    return [
        {"closed": _when(t.closed_ms), "strategy": view.strategy_of.get(t.trade_key, "unknown"),
         "symbol": t.symbol, "side": t.side, "size": t.size, "entry": t.entry_price,
         "exit": t.exit_price, "P&L ($)": round(t.pnl, 2), "return (%)": round(t.return_pct * 100, 3),
         "fees ($)": round(t.fees, 4), "held": duration(t.closed_ms - t.opened_ms)}
        for t in reversed(view.trades)
    ]  # fmt: skip


def reconciliation_text(view: LiveView) -> str:
    r = view.reconciliation
    if r is None:
        return "no reconciliation recorded yet"
    if r.clean:
        return f"clean at {_when(r.time_ms)} ({len(r.differences)} non-blocking difference(s))"
    return (f"DIFFERENCES at {_when(r.time_ms)}: {len(r.differences)}; entries blocked on "
            f"{', '.join(r.blocked_symbols) or 'none'}")  # fmt: skip


def actors_table(view: LiveView) -> list[dict[str, str]]:
    """Each live actor with its state and last heartbeat (empty before any heartbeat)."""
    return list(view.system.actors) if view.system is not None else []


def feeds_table(view: LiveView) -> list[dict[str, str]]:
    """Per symbol: the last closed bar and the websocket state with its last message."""
    return list(view.system.feeds) if view.system is not None else []


def seed_table(seed: list[SeedCheck]) -> list[dict[str, str]]:
    return [
        {"metric": c.name, "target": c.target, "value": c.value,
         "result": "unknown" if c.passed is None else ("PASS" if c.passed else "FAIL")}
        for c in seed
    ]  # fmt: skip
