"""StateKeeper actor: the only writer of state (failure_modes rule 9).

Why one actor: SQLite has one writer; funnelling every journal write through one Ray actor makes
the order of writes the order of calls and keeps the Executor's "persist before send" a plain
awaited call. It also writes ``state.json`` every ``snapshot_s`` seconds and at shutdown, and
the daily backup. A corrupt ``state.json`` found at start is only a snapshot: it is moved aside
(``state.json.corrupt-<ms>``) and rebuilt from the journal; a corrupt *journal* stops the start
with a clear error (nothing is overwritten).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from actors.messages import (
    Event,
    Fill,
    Funding,
    Level,
    OrderIntent,
    OrderUpdate,
    RiskDecision,
    Signal,
)
from actors.state import backups_dir, journal_path, state_json_path
from actors.state.backups import backup, restore_latest, restore_state_json
from actors.state.journal import Journal
from actors.state.reconcile import ReconciliationReport
from actors.state.snapshot import (
    CorruptState,
    build_state_payload,
    read_state_json,
    write_state_json,
)

log = logging.getLogger(__name__)


def _startup_seq(problem: str, n: int) -> int:
    """A seq derived from the problem's text: a restart of this actor records it once."""
    return int(hashlib.sha256(f"{n}|{problem}".encode()).hexdigest()[:15], 16)


class StateKeeper:
    """Wraps :class:`Journal`; every method is idempotent (the journal dedupes by key)."""

    def __init__(
        self,
        data_dir: Path,
        snapshot_s: float = 60.0,
        keep_days: int = 7,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self.data_dir = Path(data_dir)
        self.state_json = state_json_path(self.data_dir)
        self.problems: list[str] = []
        self._restore_missing_journal()
        self._quarantine_bad_snapshot()
        self.journal = Journal(journal_path(self.data_dir))
        for n, problem in enumerate(self.problems):  # durable, for status and the runbooks
            self.journal.record_event(Event(source="keeper", seq=_startup_seq(problem, n),
                                            level=Level.CRITICAL, kind="state_corrupt",
                                            text=problem))  # fmt: skip
        self.snapshot_s = snapshot_s
        self.keep_days = keep_days
        self._today = today
        self._backup_day: date | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.snapshot()
        self._thread = threading.Thread(target=self._loop, name="state-snapshots", daemon=True)
        self._thread.start()

    def _quarantine_bad_snapshot(self) -> None:
        """A corrupt ``state.json`` (truncated, invalid JSON, bad checksum) is moved aside and
        the last good one restored from the backups; the snapshot written right after from the
        journal (the truth) supersedes it."""
        try:
            read_state_json(self.state_json)
        except FileNotFoundError:
            return
        except CorruptState as err:
            aside = self.state_json.with_name(f"state.json.corrupt-{time.time_ns() // 1_000_000}")
            self.state_json.rename(aside)
            day = restore_state_json(backups_dir(self.data_dir), self.state_json)
            how = f"restored from the backup of {day}" if day else "no good backup"
            self.problems.append(f"corrupt {self.state_json} moved to {aside.name} ({err}); "
                                 f"{how}; rebuilt from the journal")  # fmt: skip
            log.critical("%s", self.problems[-1])

    def _restore_missing_journal(self) -> None:
        """No journal but backups (e.g. a lost disk, a deleted file): start from the newest good
        backup instead of an empty journal; the venue reconciliation then records what happened
        since (failure_modes F18). A corrupt journal is never replaced here: the start fails and
        the operator runs ``fractal restore`` (DISASTER_RECOVERY.md)."""
        jp = journal_path(self.data_dir)
        if jp.exists():
            return
        day = restore_latest(backups_dir(self.data_dir), jp, self.data_dir / "state.restored.json")
        if day is not None:
            (self.data_dir / "state.restored.json").unlink(missing_ok=True)
            self.problems.append(f"journal {jp} was missing: restored from the backup of {day}; "
                                 "the venue reconciliation records what happened since")  # fmt: skip
            log.critical("%s", self.problems[-1])

    # ----- writes (the journal dedupes: a duplicated message writes nothing) --------------------
    def record_intent(self, intent: OrderIntent) -> bool:
        return self.journal.record_intent(intent)

    def record_intents(self, intents: list[OrderIntent]) -> list[bool]:
        """The entries of one bar close, in one transaction (the Executor's submit_many)."""
        return self.journal.record_intents(intents)

    def record_order_update(self, update: OrderUpdate) -> bool:
        return bool(self.journal.record_order_update(update))

    def record_fill(self, fill: Fill) -> bool:
        return self.journal.record_fill(fill)

    def record_signal(self, signal: Signal, decision: RiskDecision | None) -> None:
        self.journal.record_signal(signal, decision)

    def record_event(self, event: Event) -> None:
        """Written at once, without an fsync (the journal's NORMAL level): an event costs a
        ~0.1 ms transaction, so it neither queues an fsync in front of the next intent nor waits
        in a buffer a crash would lose; it is durable against power loss with the next money
        record's fsync. (It used to be buffered up to 0.5 s and then written one fsynced
        transaction per event.)"""
        self.journal.record_event(event)

    def record_equity(self, time_ms: int, equity: float) -> None:
        self.journal.record_equity(time_ms, equity)

    def record_funding(self, payments: list[Funding]) -> int:
        return self.journal.record_funding(payments)

    def last_funding_ms(self) -> int | None:
        return self.journal.last_funding_ms()

    def record_heartbeat(self, run_id: int, time_ms: int, venue_ms: int | None,
                         payload: str) -> None:  # fmt: skip
        """The live driver's health snapshot (:mod:`actors.health`) and the run's proof of life."""
        self.journal.record_heartbeat(run_id, time_ms, venue_ms, payload)

    def ping(self) -> int:
        """Liveness probe: this actor's wall clock, ms (answered on any free thread)."""
        return time.time_ns() // 1_000_000

    def apply_reconciliation(self, report: ReconciliationReport) -> int:
        return self.journal.apply_reconciliation(report)

    def set_meta(self, key: str, value: str) -> None:
        self.journal.set_meta(key, value)

    # ----- reads (to rebuild actors after a restart) ---------------------------------------------
    def get_meta(self, key: str) -> str | None:
        return self.journal.get_meta(key)

    def intent(self, cloid: str) -> OrderIntent | None:
        return self.journal.intent(cloid)

    def order_status(self, cloid: str) -> str | None:
        return self.journal.order_status(cloid)

    def intent_recorded_ms(self, cloid: str) -> int | None:
        """When the intent was journaled (wall ms): how long its outcome has been unknown."""
        row = self.journal._read(
            lambda c: c.execute(
                "SELECT recorded_ms FROM intents WHERE cloid=?", (cloid,)
            ).fetchone()
        )
        return None if row is None else int(row[0])

    def open_intents(self) -> list[OrderIntent]:
        return self.journal.open_intents()

    def positions(self) -> dict[str, Any]:
        return self.journal.positions()

    def known_trade_ids(self) -> set[str]:
        return self.journal.known_trade_ids()

    def closed_trades(self, limit: int = 100) -> list[tuple[int, float]]:
        """``(closed_ms, net pnl)`` of the newest closed round trips, oldest first (loss streak)."""
        return [(t.closed_ms, t.pnl) for t in self.journal.trades(limit)]

    def counts(self) -> dict[str, int]:
        return self.journal.counts()

    def metrics(self) -> dict[str, float | int]:
        return self.journal.metrics()

    def startup_problems(self) -> list[str]:
        return list(self.problems)

    # ----- snapshots and backups ----------------------------------------------------------------
    def snapshot(self) -> Path:
        """Write ``state.json`` now (atomic, checksummed); back up once per day."""
        with self._lock:
            write_state_json(self.state_json, build_state_payload(self.journal))
            day = self._today()
            if self._backup_day != day:
                backup(self.journal.path, self.state_json, backups_dir(self.data_dir), day,
                       self.keep_days)  # fmt: skip
                self._backup_day = day
        return self.state_json

    def _loop(self) -> None:
        while not self._stop.wait(self.snapshot_s):
            try:
                self.snapshot()
            except Exception as exc:  # keep snapshotting; the journal is the truth
                log.error("state snapshot failed: %s", exc)

    def close(self) -> None:
        """Final snapshot, then close the journal (shutdown)."""
        self._stop.set()
        try:
            self.snapshot()
        finally:
            self.journal.close()
