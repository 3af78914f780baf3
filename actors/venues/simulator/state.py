"""Persist and restore the venue state so a restarted simulator keeps accounts, orders and fills.

Why JSON written atomically (tmp + rename): a crash mid-write must leave the previous state
intact; the market itself is reloaded from the shipped files, only mutable state is saved.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from actors.venues.simulator.accounts import Account, Position
from actors.venues.simulator.engine import Venue
from actors.venues.simulator.nonces import NonceBook
from actors.venues.simulator.orders import Order

STATE_FILE = "sim_state.json"
VERSION = 1


def snapshot(v: Venue) -> dict[str, Any]:
    return {
        "version": VERSION,
        "coins": v.coins,
        "now": v.now,
        "accounts": {
            addr: {
                "usdc": a.usdc,
                "positions": {c: vars(p) for c, p in a.positions.items()},
                "leverage": {c: list(lv) for c, lv in a.leverage.items()},
            }
            for addr, a in v.accounts.items()
        },
        "agents": v.agents,
        "orders": [o.to_dict() for o in v.orders.values()],
        "fills": v.fills,
        "fundings": v.fundings,
        "scheduled_cancel": v.scheduled_cancel,
        "nonces": v.nonces.kept,
        "next_oid": v.next_oid,
        "next_tid": v.next_tid,
        "marks": v.marks,
        "scripted": {c: [b.bids, b.asks] for c, b in v.books.items() if b.scripted},
    }


def restore(v: Venue, snap: dict[str, Any]) -> None:
    """Load a snapshot into a freshly built venue with the same coins."""
    if snap.get("version") != VERSION:
        raise ValueError(f"unsupported simulator state version {snap.get('version')!r}")
    if snap["coins"] != v.coins:
        raise ValueError(f"saved state is for coins {snap['coins']}, simulator has {v.coins}")
    v.now = int(snap["now"])
    v.accounts = {}
    for addr, a in snap["accounts"].items():
        acct = Account(addr, float(a["usdc"]))
        acct.positions = {c: Position(**p) for c, p in a["positions"].items()}
        acct.leverage = {c: (lv[0], int(lv[1])) for c, lv in a["leverage"].items()}
        v.accounts[addr] = acct
    v.agents = snap["agents"]
    v.orders = {}
    v.cloids = {}
    for d in snap["orders"]:
        v._store(Order.from_dict(d))
    v.fills = snap["fills"]
    v.fundings = snap["fundings"]
    v.scheduled_cancel = {k: int(t) for k, t in snap["scheduled_cancel"].items()}
    v.nonces = NonceBook({k: list(n) for k, n in snap["nonces"].items()})
    v.next_oid = int(snap["next_oid"])
    v.next_tid = int(snap["next_tid"])
    v.marks.update({c: float(m) for c, m in snap["marks"].items()})
    for c, (bids, asks) in snap.get("scripted", {}).items():
        v.books[c].set_script([tuple(b) for b in bids], [tuple(a) for a in asks])
    for c in v.coins:
        if not v.books[c].scripted and c in v.marks:
            v.books[c].reprice(v.marks[c])


def save(v: Venue, state_dir: Path) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / STATE_FILE
    tmp = path.with_suffix(".tmp")
    text = json.dumps(snapshot(v))  # one write, not json.dump's thousands of small ones
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def load(state_dir: Path) -> dict[str, Any] | None:
    path = state_dir / STATE_FILE
    if not path.exists():
        return None
    try:
        with open(path) as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise ValueError(f"simulator state file {path} is corrupt: {exc}") from None
