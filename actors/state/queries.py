"""Read queries over the journal (plain functions of a connection: used by the writer to
rebuild actors after a restart and by read-only readers such as ``fractal status``)."""

from __future__ import annotations

import sqlite3
from typing import Any

from actors.messages import Fill, OrderIntent, OrderUpdate
from actors.state.ledger import ClosedTrade, JournalPosition, derive
from actors.state.reconcile import ReconciliationReport
from actors.state.schema import WRITTEN_TABLES

TERMINAL = ("filled", "canceled", "rejected")
STOP_PURPOSES = ("stop", "adopt_stop")
FILLED_TOLERANCE = 1e-9  # fills summing to the size within float error fill the order


def intent(conn: sqlite3.Connection, cloid: str) -> OrderIntent | None:
    row = conn.execute("SELECT payload FROM intents WHERE cloid=?", (cloid,)).fetchone()
    return OrderIntent.model_validate_json(row[0]) if row else None


def order_status(conn: sqlite3.Connection, cloid: str) -> str | None:
    """Journal status of an order: a terminal status once any update says so (terminal is
    absorbing, whatever order updates arrive in); else the newest update's; else None."""
    rows = conn.execute(
        "SELECT status FROM order_updates WHERE cloid=? ORDER BY time_ms, id", (cloid,)
    ).fetchall()
    statuses = [r[0] for r in rows]
    for s in statuses:
        if s in TERMINAL:
            return str(s)
    filled = filled_size(conn, cloid)
    it = intent(conn, cloid)
    if it is not None and filled >= it.size * (1 - FILLED_TOLERANCE):
        return "filled"
    return str(statuses[-1]) if statuses else None


def filled_size(conn: sqlite3.Connection, cloid: str) -> float:
    row = conn.execute(
        "SELECT COALESCE(SUM(size), 0) FROM fills WHERE cloid=?", (cloid,)
    ).fetchone()
    return float(row[0])


_OPEN_INTENTS = f"""
SELECT i.payload FROM intents i
WHERE NOT EXISTS (SELECT 1 FROM order_updates u
                  WHERE u.cloid = i.cloid AND u.status IN {TERMINAL!r})
  AND (SELECT COALESCE(SUM(f.size), 0) FROM fills f WHERE f.cloid = i.cloid)
      < i.size * (1 - {FILLED_TOLERANCE!r})
ORDER BY i.rowid
"""


def open_intents(conn: sqlite3.Connection) -> list[OrderIntent]:
    """Intents not known to be terminal on the venue, oldest first (incl. never-acknowledged
    ones: after a crash each must be looked up by cloid, F1). Same rule as
    :func:`order_status`, in one query."""
    return [OrderIntent.model_validate_json(r[0]) for r in conn.execute(_OPEN_INTENTS)]


def latest_update(conn: sqlite3.Connection, cloid: str) -> OrderUpdate | None:
    row = conn.execute(
        "SELECT payload FROM order_updates WHERE cloid=? ORDER BY time_ms DESC, id DESC LIMIT 1",
        (cloid,),
    ).fetchone()
    return OrderUpdate.model_validate_json(row[0]) if row else None


def fills(conn: sqlite3.Connection) -> list[Fill]:
    rows = conn.execute("SELECT payload FROM fills ORDER BY time_ms, trade_id").fetchall()
    return [Fill.model_validate_json(r[0]) for r in rows]


def known_trade_ids(conn: sqlite3.Connection, since_ms: int | None = None) -> set[str]:
    if since_ms is None:
        return {r[0] for r in conn.execute("SELECT trade_id FROM fills")}
    return {
        r[0] for r in conn.execute("SELECT trade_id FROM fills WHERE time_ms >= ?", (since_ms,))
    }


def ledger(conn: sqlite3.Connection) -> tuple[dict[str, JournalPosition], list[ClosedTrade]]:
    """Positions (with their stop and target) and closed trades, derived from the fills."""
    positions, trades = derive(fills(conn))
    return {s: _with_protection(conn, p) for s, p in positions.items()}, trades


def _with_protection(conn: sqlite3.Connection, pos: JournalPosition) -> JournalPosition:
    """Attach the stop/target: a resting stop/target order's trigger wins over the plan
    recorded on the entry intent."""
    stop = target = None
    rows = conn.execute(
        "SELECT cloid, payload FROM intents WHERE symbol=? ORDER BY rowid DESC", (pos.symbol,)
    ).fetchall()
    for cloid, payload in rows:
        it = OrderIntent.model_validate_json(payload)
        live = order_status(conn, cloid) not in ("canceled", "rejected", "filled")
        if it.purpose in STOP_PURPOSES and live and stop is None:
            stop = it.trigger_price
        elif it.purpose == "target" and live and target is None:
            target = it.trigger_price or it.price
    for cloid, payload in rows:
        it = OrderIntent.model_validate_json(payload)
        if it.purpose == "entry" and filled_size(conn, cloid) > 0:
            stop = stop if stop is not None else it.stop
            target = target if target is not None else it.target
            break
    return pos.model_copy(update={"stop": stop, "target": target})


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = {"orders": "intents", "order_updates": "order_updates", "fills": "fills",
              "signals": "signals", "decisions": "decisions", "equity_points": "equity",
              "events": "events", "reconciliations": "reconciliations"}  # fmt: skip
    return {
        k: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for k, t in tables.items()
    }


def last_equity(conn: sqlite3.Connection) -> tuple[int, float] | None:
    row = conn.execute("SELECT time_ms, equity FROM equity ORDER BY id DESC LIMIT 1").fetchone()
    return (int(row[0]), float(row[1])) if row else None


def recent_signals(conn: sqlite3.Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest signals with their latest decision and whether an order was sent for them."""
    out = []
    rows = conn.execute(
        "SELECT signal_id, symbol, strategy, bar_time_ms, payload FROM signals "
        "ORDER BY bar_time_ms DESC, rowid DESC LIMIT ?", (limit,),
    ).fetchall()  # fmt: skip
    for signal_id, symbol, strategy, bar_time_ms, payload in rows:
        dec = conn.execute(
            "SELECT approved, rule FROM decisions WHERE signal_id=? ORDER BY id DESC LIMIT 1",
            (signal_id,),
        ).fetchone()
        acted = conn.execute(
            "SELECT 1 FROM intents WHERE signal_id=? LIMIT 1", (signal_id,)
        ).fetchone()
        side = _json_field(payload, "side")
        out.append({
            "signal_id": signal_id, "symbol": symbol, "strategy": strategy, "side": side,
            "bar_time_ms": int(bar_time_ms), "approved": bool(dec[0]) if dec else None,
            "rule": dec[1] if dec else None, "acted": acted is not None,
        })  # fmt: skip
    return out


def _json_field(payload: str, key: str) -> Any:
    import json

    return json.loads(payload).get(key)


def last_reconciliation(conn: sqlite3.Connection) -> ReconciliationReport | None:
    row = conn.execute("SELECT payload FROM reconciliations ORDER BY id DESC LIMIT 1").fetchone()
    return ReconciliationReport.model_validate_json(row[0]) if row else None


def last_write_ms(conn: sqlite3.Connection) -> int | None:
    """Wall-clock time of the newest journal write (None for an empty journal)."""
    best: int | None = None
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for t in (t for t in WRITTEN_TABLES if t in have):  # a journal of an older version
        row = conn.execute(f"SELECT MAX(recorded_ms) FROM {t}").fetchone()
        if row and row[0] is not None:
            best = max(best or 0, int(row[0]))
    return best


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return str(row[0]) if row else None
