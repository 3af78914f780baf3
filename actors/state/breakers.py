"""Durable circuit-breaker states and the append-only ``circuit_breaker_events.log``.

Why in the journal DB: the breaker states are part of the money-safety state (a restart must come
up HALTED when a breaker is tripped), and the journal is already the durable, WAL-mode store that
backups copy. The ``fractal breaker`` CLI writes while ``fractal live`` may be running, so every
write is one short ``BEGIN IMMEDIATE`` transaction on its own connection; readers use ``mode=ro``.
The pure transitions (trip, request/confirm resume) live in :mod:`strategies.breakers`; this
module only loads and stores their :class:`BreakerState` values and logs each transition.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from actors.state import journal_path
from actors.state.journal import Journal
from actors.state.schema import connect
from strategies import breakers as b

EVENTS_LOG_NAME = "circuit_breaker_events.log"
DDL = "CREATE TABLE IF NOT EXISTS breakers (name TEXT PRIMARY KEY, state TEXT NOT NULL)"


def events_log_path(data_dir: Path) -> Path:
    return Path(data_dir) / EVENTS_LOG_NAME


def read_states(data_dir: Path) -> dict[str, b.BreakerState]:
    """Every breaker's state, read-only (safe while another process writes). A missing journal
    or table means nothing was ever tripped: all armed. A damaged row raises (fail closed)."""
    states = b.initial_states()
    path = journal_path(data_dir)
    if not path.exists():
        return states
    conn = connect(path, readonly=True)
    try:
        has = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='breakers'"
        ).fetchone()
        rows = conn.execute("SELECT name, state FROM breakers").fetchall() if has else []
    finally:
        conn.close()
    for name, text in rows:
        try:
            states[name] = b.BreakerState.model_validate_json(text)
        except ValueError as err:
            raise b.BreakerError(f"stored state of breaker {name!r} is unreadable: {err}") from err
    return states


class BreakerStore:
    """Read-modify-write of breaker states, one short transaction each, plus the event log."""

    def __init__(self, data_dir: Path, clock: Callable[[], int] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.path = journal_path(self.data_dir)
        self._clock = clock or (lambda: int(datetime.now(UTC).timestamp() * 1000))
        Journal(self.path, check=False).close()  # creates the journal schema when absent
        conn = connect(self.path, readonly=False)
        try:
            conn.execute(DDL)
        finally:
            conn.close()

    def states(self) -> dict[str, b.BreakerState]:
        return read_states(self.data_dir)

    def apply(
        self, name: str, fn: Callable[[b.BreakerState, int], b.BreakerState], action: str
    ) -> b.BreakerState:
        """Apply the pure transition ``fn`` to breaker ``name`` atomically; log it. A
        :class:`~strategies.breakers.BreakerError` from ``fn`` rolls back: nothing changes."""
        b.check_name(name)
        now = self._clock()
        conn = connect(self.path, readonly=False)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT state FROM breakers WHERE name=?", (name,)).fetchone()
                old = (b.BreakerState.model_validate_json(row[0]) if row
                       else b.BreakerState(name=name))  # fmt: skip
                new = fn(old, now)
                conn.execute("INSERT OR REPLACE INTO breakers(name, state) VALUES (?,?)",
                             (name, new.model_dump_json()))  # fmt: skip
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()
        if new != old:
            self.log(now, name, action, new.values if action == "trip" else {}, new.reason)
        return new

    def trip(
        self, name: str, reason: str, values: dict[str, float] | None = None
    ) -> b.BreakerState:
        return self.apply(name, lambda s, now: b.trip(s, reason, values or {}, now), "trip")

    def request_resume(self, name: str, code: str) -> b.BreakerState:
        return self.apply(name, lambda s, now: b.request_resume(s, code, now), "resume_requested")

    def confirm(self, code: str) -> b.BreakerState:
        """Re-arm the breaker waiting for ``code``; wrong or reused code: BreakerError."""
        target = b.find_pending(self.states(), code)
        return self.apply(target.name, lambda s, now: b.confirm_resume(s, code, now), "resumed")

    def log(self, now_ms: int, name: str, action: str, values: dict[str, float],
            reason: str) -> None:  # fmt: skip
        """One JSON line per transition (appended and fsynced; never rewritten)."""
        line = json.dumps({
            "time": datetime.fromtimestamp(now_ms / 1000, UTC).isoformat(timespec="milliseconds"),
            "breaker": name, "action": action, "values": values, "reason": reason,
        }, sort_keys=True)  # fmt: skip
        path = events_log_path(self.data_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())


def read_events(data_dir: Path) -> tuple[list[dict[str, object]], list[str]]:
    """The logged transitions and a list of problems (garbled lines are reported, not fatal)."""
    path = events_log_path(data_dir)
    if not path.exists():
        return [], []
    events: list[dict[str, object]] = []
    problems: list[str] = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            ev = json.loads(line)
            if not isinstance(ev, dict) or "breaker" not in ev or "action" not in ev:
                raise ValueError("missing breaker/action")
            events.append(ev)
        except ValueError as err:
            problems.append(f"{path.name} line {i} is garbled ({err}); ignored")
    return events, problems
