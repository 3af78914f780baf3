"""``state.json``: an atomic, checksummed snapshot of the journal for humans and dashboards.

It is never the truth — the journal is — so a damaged ``state.json`` is detected (truncated,
invalid JSON, checksum mismatch → :class:`CorruptState` naming the problem) and rebuilt with
:func:`build_state_payload`. Writes are atomic (F18): the new body goes to a temp file in the
same directory, is fsynced, renamed over the old file, and the directory is fsynced; a crash at
any point leaves either the previous good file or the new one, never a torn one.

File layout: ``{"format": "fractal-state/1", "sha256": <hex of the canonical state>,
"state": {...}}`` where the canonical form is ``json.dumps(state, sort_keys=True,
separators=(",", ":"))``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actors.state.ledger import metrics

if TYPE_CHECKING:
    from actors.state.journal import Journal

FORMAT = "fractal-state/1"
TRADES_KEPT = 100


class CorruptState(Exception):
    """``state.json`` is unusable; the message names the file and the problem."""


def _canonical(state: dict[str, Any]) -> bytes:
    return json.dumps(state, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def checksum(state: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(state)).hexdigest()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_state_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` atomically with an embedded sha256 (temp file, fsync, rename, fsync
    the directory). Raises ValueError for a payload that is not plain JSON (NaN, objects)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT, "sha256": checksum(payload), "state": payload}
    body = json.dumps(doc, sort_keys=True, indent=1, allow_nan=False).encode() + b"\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    # temp files of an earlier writer killed before its rename (there is one writer)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)


def read_state_json(path: Path) -> dict[str, Any]:
    """The verified state payload; :class:`CorruptState` names what is wrong otherwise.
    FileNotFoundError propagates (a missing snapshot is not a corrupt one)."""
    path = Path(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise CorruptState(f"{path}: empty file")
    try:
        doc = json.loads(raw)
    except UnicodeDecodeError as err:
        raise CorruptState(f"{path}: not UTF-8 text ({err.reason})") from None
    except json.JSONDecodeError as err:
        text = raw.decode("utf-8", errors="replace").rstrip()
        # every file we write ends with "}": one that does not was cut short
        truncated = not text.endswith("}") or err.pos >= len(text) - 1
        what = "truncated" if truncated else "invalid JSON"
        raise CorruptState(f"{path}: {what} ({err.msg} at line {err.lineno})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CorruptState(f"{path}: not a {FORMAT} document")
    state, digest = doc.get("state"), doc.get("sha256")
    if not isinstance(state, dict) or not isinstance(digest, str):
        raise CorruptState(f"{path}: missing 'state' or 'sha256'")
    if checksum(state) != digest:
        raise CorruptState(f"{path}: checksum mismatch (the file was modified or damaged)")
    return state


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def build_state_payload(journal: Journal, *, now_ms: int | None = None) -> dict[str, Any]:
    """Open positions (entry, size, stop, target), open orders, the last 100 trades and the
    metrics (total P&L, win rate, Sharpe), plus counts, equity and the reconciliation status."""
    positions, all_trades = journal.ledger()
    m = metrics(all_trades)
    eq = journal.last_equity()
    recon = journal.last_reconciliation()
    return {
        "written_ms": int(now_ms if now_ms is not None else time.time_ns() // 1_000_000),
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
        "open_orders": [
            {
                "cloid": i.cloid,
                "symbol": i.symbol,
                "side": i.side,
                "size": i.size,
                "kind": i.kind,
                "purpose": i.purpose,
                "price": i.price,
                "trigger_price": i.trigger_price,
            }
            for i in journal.open_intents()
        ],  # fmt: skip
        "trades": [t.model_dump() for t in all_trades[-TRADES_KEPT:]],
        "metrics": {k: _finite(float(v)) if isinstance(v, float) else v for k, v in m.items()},
        "counts": journal.counts(),
        "equity": {"time_ms": eq[0], "equity": eq[1]} if eq else None,
        "reconciliation": (
            {"clean": recon.clean, "time_ms": recon.time_ms, "differences": len(recon.differences)}
            if recon
            else None
        ),  # fmt: skip
    }
