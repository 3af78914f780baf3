"""Persist and restore the venue state so a restarted simulator keeps accounts, orders and fills.

Why a snapshot plus an append-only journal: every action must be durable before its reply (a
client that heard "resting" and then sees the simulator killed must find the order again), but
rewriting the whole state per action costs O(orders + fills) and grew to ~18 ms a place. Each
action now appends one JSON line (the small scalars, the orders it touched, the fills and
fundings it added, the nonce lists it changed) and fsyncs it; the full snapshot (temp file,
fsync, rename) is rewritten only to compact the journal and on stop. Journal lines carry the
generation of the snapshot they extend, so a crash between a new snapshot and the journal's
truncation never replays old lines onto it, and a torn last line (kill -9 mid-write: that
action was never answered) is dropped.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from actors.venues.simulator.accounts import Account, Position
from actors.venues.simulator.engine import Venue
from actors.venues.simulator.nonces import NonceBook
from actors.venues.simulator.orders import Order

STATE_FILE = "sim_state.json"
JOURNAL_FILE = "sim_state.journal"
VERSION = 1
COMPACT_BYTES = 4 * 2**20  # journal size that triggers a new snapshot (and at least its size)


def _small(v: Venue) -> dict[str, Any]:
    """The parts rewritten whole in every journal line (a few accounts, a few coins)."""
    return {
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
        "scheduled_cancel": v.scheduled_cancel,
        "next_oid": v.next_oid,
        "next_tid": v.next_tid,
        "marks": v.marks,
        "scripted": {c: [b.bids, b.asks] for c, b in v.books.items() if b.scripted},
    }


def snapshot(v: Venue) -> dict[str, Any]:
    return {
        "version": VERSION,
        "coins": v.coins,
        **_small(v),
        "orders": [o.to_dict() for o in v.orders.values()],
        "fills": v.fills,
        "fundings": v.fundings,
        "nonces": v.nonces.kept,
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


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_snapshot(v: Venue, state_dir: Path, gen: str) -> int:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / STATE_FILE
    tmp = path.with_suffix(".tmp")
    text = json.dumps({**snapshot(v), "gen": gen})  # one write, not json.dump's many small ones
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(state_dir)  # the rename is durable before the journal it replaces is truncated
    return len(text)


def save(v: Venue, state_dir: Path) -> Path:
    """A full snapshot; the journal of the previous one is emptied (its lines are in it)."""
    _write_snapshot(v, state_dir, uuid.uuid4().hex)
    (state_dir / JOURNAL_FILE).unlink(missing_ok=True)
    return state_dir / STATE_FILE


def clear(state_dir: Path) -> None:
    """Forget the saved state (``fractal sim --fresh``)."""
    for name in (STATE_FILE, JOURNAL_FILE):
        (state_dir / name).unlink(missing_ok=True)


def _apply(snap: dict[str, Any], orders: dict[int, dict[str, Any]], rec: dict[str, Any]) -> None:
    snap.update(rec["small"])
    for d in rec["orders"]:
        orders[d["oid"]] = d  # an existing oid keeps its place: the venue's iteration order
    for key in ("fills", "fundings"):
        for user, rows in rec[key].items():
            snap[key].setdefault(user, []).extend(rows)
    snap["nonces"].update(rec["nonces"])


def _journal_lines(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Complete, parseable lines and the byte offset after the last of them."""
    if not path.exists():
        return [], 0
    data = path.read_bytes()
    out, good = [], 0
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break  # torn by a crash mid-append: that action was never answered
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break
        good += len(line)
    return out, good


def load(state_dir: Path) -> dict[str, Any] | None:
    """The last snapshot with its journal applied (None: no saved state)."""
    path = state_dir / STATE_FILE
    if not path.exists():
        return None
    try:
        with open(path) as fh:
            snap: dict[str, Any] = json.load(fh)
    except json.JSONDecodeError as exc:
        raise ValueError(f"simulator state file {path} is corrupt: {exc}") from None
    records, _ = _journal_lines(state_dir / JOURNAL_FILE)
    gen = snap.get("gen")
    records = [r for r in records if gen is not None and r.get("gen") == gen]
    if records:
        orders = {d["oid"]: d for d in snap["orders"]}
        for rec in records:
            _apply(snap, orders, rec)
        snap["orders"] = list(orders.values())
    return snap


class StateStore:
    """Durable state of one venue object: :meth:`checkpoint` writes a snapshot, :meth:`append`
    journals what changed since the last call (one write and one fdatasync)."""

    def __init__(self, state_dir: Path, compact_bytes: int = COMPACT_BYTES) -> None:
        self.dir = Path(state_dir)
        self.compact_bytes = compact_bytes
        self._fd: int | None = None
        self._gen = ""
        self._journal_bytes = 0
        self._snapshot_bytes = 0
        self._fills: dict[str, int] = {}
        self._fundings: dict[str, int] = {}
        self._nonces: dict[str, list[int]] = {}

    def checkpoint(self, v: Venue) -> None:
        """Full snapshot of ``v`` under a new generation; the journal starts empty. Must be
        called whenever the venue object is rebuilt (its change tracking starts here)."""
        self._gen = uuid.uuid4().hex
        self._snapshot_bytes = _write_snapshot(v, self.dir, self._gen)
        if self._fd is None:
            self._fd = os.open(self.dir / JOURNAL_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                               0o600)  # fmt: skip
        os.ftruncate(self._fd, 0)  # stale lines would carry the old generation anyway
        self._journal_bytes = 0
        for o in v.orders.values():
            o.clean()
        self._fills = {u: len(rows) for u, rows in v.fills.items()}
        self._fundings = {u: len(rows) for u, rows in v.fundings.items()}
        self._nonces = {s: list(n) for s, n in v.nonces.kept.items()}

    def append(self, v: Venue) -> None:
        """Journal what changed in ``v`` since the last append or checkpoint, durably."""
        if self._fd is None:
            self.checkpoint(v)
            return
        dirty = [o for o in v.orders.values() if o.dirty]
        rec: dict[str, Any] = {
            "gen": self._gen,
            "small": _small(v),
            "orders": [o.to_dict() for o in dirty],
            "fills": _added(v.fills, self._fills),
            "fundings": _added(v.fundings, self._fundings),
            "nonces": {s: n for s, n in v.nonces.kept.items() if self._nonces.get(s) != n},
        }
        line = (json.dumps(rec) + "\n").encode()
        os.write(self._fd, line)
        os.fdatasync(self._fd)
        self._journal_bytes += len(line)
        for o in dirty:
            o.clean()
        for key, seen in (("fills", self._fills), ("fundings", self._fundings)):
            for user, rows in rec[key].items():
                seen[user] = seen.get(user, 0) + len(rows)
        for s in rec["nonces"]:
            self._nonces[s] = list(v.nonces.kept[s])
        if self._journal_bytes > max(self.compact_bytes, self._snapshot_bytes):
            self.checkpoint(v)  # amortised: a snapshot per at least its own size of journal

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _added(rows: dict[str, list[Any]], seen: dict[str, int]) -> dict[str, list[Any]]:
    """Rows appended per user since ``seen``; the venue only ever appends them."""
    return {user: lst[seen.get(user, 0):] for user, lst in rows.items()
            if len(lst) > seen.get(user, 0)}  # fmt: skip
