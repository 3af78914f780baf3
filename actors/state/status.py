"""The read-only status query behind ``fractal status`` (works while ``fractal live`` writes).

The journal is opened with ``mode=ro`` (a WAL reader: it never blocks the writer and is never
blocked by it); ``state.json`` is only verified and its write time reported — every figure comes
from the journal, the truth.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from actors.state import journal_path, state_json_path
from actors.state.journal import CorruptJournal, Journal, JournalError
from actors.state.ledger import metrics
from actors.state.snapshot import CorruptState, read_state_json

SIGNALS_SHOWN = 20


class StoreCorrupt(Exception):
    """The state store exists but cannot be read; the message names the file and problem."""


def _num(x: float) -> float | None:
    return x if math.isfinite(x) else None


def missing_status(data_dir: Path) -> dict[str, Any]:
    """What ``status`` reports when nothing has been journaled yet (zero counts)."""
    return {
        "store": "missing",
        "message": f"no state store at {journal_path(data_dir)} (nothing has run yet)",
        "data_dir": str(data_dir),
        "orders": 0, "fills": 0, "signals": 0,
        "positions": [], "open_orders": [], "equity": None, "pnl": None,
        "signals_recent": [], "reconciliation": None, "last_write_ms": None, "state_json": None,
    }  # fmt: skip


def status(data_dir: Path) -> dict[str, Any]:
    """Everything an operator asks first, as a JSON-ready dict. Keys ``orders`` and ``fills``
    are ints. Raises :class:`StoreCorrupt` for a damaged journal or ``state.json``."""
    data_dir = Path(data_dir)
    jpath = journal_path(data_dir)
    if not jpath.exists():
        return missing_status(data_dir)
    try:
        journal = Journal.open_readonly(jpath, check=True)
    except (CorruptJournal, JournalError) as err:
        raise StoreCorrupt(str(err)) from None
    try:
        out = _from_journal(journal, data_dir)
    except Exception as err:  # a record that no longer parses is damage too
        raise StoreCorrupt(f"{jpath}: unreadable record ({type(err).__name__}: {err})") from None
    finally:
        journal.close()
    spath = state_json_path(data_dir)
    try:
        state = read_state_json(spath)
        out["state_json"] = {"path": str(spath), "written_ms": state.get("written_ms")}
    except FileNotFoundError:
        out["state_json"] = None
    except CorruptState as err:
        raise StoreCorrupt(
            f"{err} — the journal is intact; the StateKeeper rewrites state.json from it on start"
        ) from None
    return out


def _from_journal(journal: Journal, data_dir: Path) -> dict[str, Any]:
    counts = journal.counts()
    positions, trades = journal.ledger()
    m = metrics(trades)
    eq = journal.last_equity()
    recon = journal.last_reconciliation()
    open_orders = []
    for it in journal.open_intents():
        upd = journal.latest_update(it.cloid)
        open_orders.append({
            "cloid": it.cloid, "symbol": it.symbol, "side": it.side, "size": it.size,
            "kind": it.kind, "purpose": it.purpose, "price": it.price,
            "trigger_price": it.trigger_price, "status": upd.status if upd else "journaled",
        })  # fmt: skip
    open_realized = sum(p.realized_pnl - p.fees for p in positions.values())
    return {
        "store": "ok",
        "data_dir": str(data_dir),
        "journal": str(journal.path),
        "orders": counts["orders"],
        "fills": counts["fills"],
        "signals": counts["signals"],
        "counts": counts,
        "positions": [
            {
                "symbol": p.symbol,
                "side": p.side,
                "size": p.size,
                "entry": p.entry_price,
                "stop": p.stop,
                "target": p.target,
                "opened_ms": p.opened_ms,
            }
            for p in positions.values()
        ],  # fmt: skip
        "open_orders": open_orders,
        "equity": {"time_ms": eq[0], "equity": eq[1]} if eq else None,
        "pnl": {
            "realized_closed_trades": m["total_pnl"],
            "realized_open_positions": open_realized,
            "trades": m["trades"],
            "win_rate": m["win_rate"],
            "sharpe": _num(float(m["sharpe"])),
            "fees": m["fees"],
        },
        "signals_recent": journal.recent_signals(SIGNALS_SHOWN),
        "reconciliation": (
            {
                "clean": recon.clean,
                "time_ms": recon.time_ms,
                "report_id": recon.report_id,
                "differences": [d.detail for d in recon.differences],
                "blocked_symbols": recon.blocked_symbols,
            }
            if recon
            else None
        ),  # fmt: skip
        "last_write_ms": journal.last_write_ms(),
    }
