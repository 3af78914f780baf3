"""A record of every `fractal live` run (network, start, end, clean exit) in the journal DB.

Why: the mainnet preflight needs evidence the journal did not hold — how long the system ran on
testnet without a crash, and how many times it was restarted. One row per run, written at start
and completed at a clean stop; a run whose row has no end crashed (or is still running).
While it runs, the StateKeeper stamps ``last_seen_ms`` at every heartbeat
(:mod:`actors.health`), so a crashed run still proves how long it was up: the uptime of the seed's
success metric is computed from these rows (:mod:`actors.state.uptime`). The table itself is
part of the journal schema (:mod:`actors.state.schema`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from actors.state import journal_path
from actors.state.journal import Journal
from actors.state.schema import connect
from actors.state.uptime import read_runs as read_runs_on


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _writer(data_dir: Path):  # type: ignore[no-untyped-def]
    path = journal_path(data_dir)
    Journal(path, check=False).close()  # creates (or migrates) the journal schema
    return connect(path, readonly=False)


def run_started(data_dir: Path, network: str) -> int:
    conn = _writer(data_dir)
    try:
        cur = conn.execute(
            "INSERT INTO runs(network, start_ms) VALUES (?, ?)", (network, _now_ms())
        )
        return int(cur.lastrowid or 0)
    finally:
        conn.close()


def run_ended(data_dir: Path, run_id: int, clean: bool) -> None:
    conn = _writer(data_dir)
    try:
        conn.execute(
            "UPDATE runs SET end_ms=?, clean=? WHERE id=?", (_now_ms(), int(clean), run_id)
        )
    finally:
        conn.close()


def read_runs(data_dir: Path) -> list[dict[str, object]]:
    """Every recorded run, oldest first (read-only; empty when nothing was recorded)."""
    path = journal_path(data_dir)
    if not path.exists():
        return []
    conn = connect(path, readonly=True)
    try:
        return read_runs_on(conn)
    finally:
        conn.close()
