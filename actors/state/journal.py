"""The journal: an append-only SQLite (WAL) ledger of everything the live system decides and
everything the venue reports (docs/failure_modes.md F1, F5, F13, F18).

One writer — the StateKeeper actor — holds a read-write :class:`Journal`; every other process
(``fractal status``, the dashboard, tests) opens it with :meth:`Journal.open_readonly`. Each
``record_*`` call is one committed transaction. Every record is keyed by its own identity
(cloid, trade id, signal id, ``(source, seq)``), so a replayed or retried write is a no-op and
returns ``False``.

Durability has two levels (why: an fsync costs 1-5 ms and the order path waits for it):

* **Money facts** — intents, order updates, fills, reconciliations, meta — commit with
  ``synchronous=FULL``: the WAL is fsynced before the call returns, so the record survives a
  power cut (persist-before-send stands on this).
* **Operator records** — signals and risk decisions, equity samples, events — commit with
  ``synchronous=NORMAL``: no fsync. In WAL mode a NORMAL commit is still atomic and survives
  the *process* being killed (it is in the OS page cache); only an OS crash or power cut can
  lose it, and only until the next FULL commit or checkpoint, whose fsync of the (append-only)
  WAL file makes every earlier frame durable too. So an approved signal is durable with its
  intent, and nothing is ever half written.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from actors.messages import Event, Fill, Funding, OrderIntent, OrderUpdate, RiskDecision, Signal
from actors.state import queries as q
from actors.state.ledger import ClosedTrade, JournalPosition, metrics
from actors.state.reconcile import ReconciliationReport
from actors.state.schema import (
    CorruptJournal,
    JournalError,
    check_version,
    connect,
    create,
    integrity_problem,
)

log = logging.getLogger(__name__)

__all__ = ["CorruptJournal", "Journal", "JournalError", "Ledger"]

Ledger = tuple[dict[str, JournalPosition], list[ClosedTrade]]


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Journal:
    """The state store. Thread-safe (one lock around the single connection)."""

    def __init__(
        self,
        path: Path,
        *,
        readonly: bool = False,
        check: bool = True,
        clock: Callable[[], int] = _wall_ms,
    ) -> None:
        """Open (creating it when writable and absent) the journal at ``path``.

        ``check`` runs ``PRAGMA quick_check`` and raises :class:`CorruptJournal` on damage.
        ``clock`` stamps ``recorded_ms`` (when a record was written, not when it happened).
        """
        self.path = Path(path)
        self.readonly = readonly
        self._clock = clock
        self._lock = threading.RLock()
        # the writer caches the derived ledger until its next write; readers never cache
        # (another process writes under them)
        self._generation = 0
        self._durable = True  # connect() sets synchronous=FULL
        self._ledger_cache: tuple[int, Ledger] | None = None
        if readonly and not self.path.exists():
            raise JournalError(f"{self.path}: no journal here")
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = connect(self.path, readonly=readonly)
        try:
            version = check_version(self._conn, self.path)
            if check and (problem := integrity_problem(self._conn)):
                raise CorruptJournal(f"{self.path}: integrity check failed: {problem}")
            if not readonly:
                create(self._conn)
            elif version == 0:
                raise JournalError(f"{self.path}: not a Fractal Trader journal (no schema)")
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def open_readonly(cls, path: Path, *, check: bool = False) -> Journal:
        """A reader that never writes (``mode=ro``): safe while the live process writes."""
        return cls(path, readonly=True, check=check)

    # ---- writes (each one durable transaction) -------------------------------------------

    @contextmanager
    def _tx(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction; ``durable`` = fsynced at commit (see the module docstring)."""
        if self.readonly:
            raise JournalError(f"{self.path}: opened read-only")
        with self._lock:
            if durable != self._durable:  # a pragma, outside any transaction (cheap, no I/O)
                self._conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                self._durable = durable
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            finally:
                self._generation += 1
            self._conn.execute("COMMIT")

    def record_intent(self, intent: OrderIntent) -> bool:
        """Persist an order intent before it is sent (F1). False if the cloid exists (no-op)."""
        with self._tx() as c:
            return self._insert_intent(c, intent)

    def record_intents(self, intents: Sequence[OrderIntent]) -> list[bool]:
        """:meth:`record_intent` for the entries of one bar close, in one transaction (one
        fsync): all of them are durable, or none."""
        with self._tx() as c:
            return [self._insert_intent(c, i) for i in intents]

    def _insert_intent(self, c: sqlite3.Connection, intent: OrderIntent) -> bool:
        cur = c.execute(
            "INSERT OR IGNORE INTO intents(cloid, intent_id, signal_id, symbol, side, size,"
            " kind, purpose, reduce_only, payload, recorded_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (intent.cloid, intent.intent_id, intent.signal_id, intent.symbol, intent.side,
             intent.size, intent.kind, intent.purpose, int(intent.reduce_only),
             intent.model_dump_json(), self._clock()),
        )  # fmt: skip
        if cur.rowcount == 1:
            return True
        known = c.execute("SELECT payload FROM intents WHERE cloid=?", (intent.cloid,))
        first = OrderIntent.model_validate_json(known.fetchone()[0])
        if first.model_dump(exclude={"source", "seq"}) != intent.model_dump(
            exclude={"source", "seq"}
        ):
            log.warning("cloid %s reused by a different intent %s; the first one stands: %s",
                        intent.cloid, intent.intent_id, first.intent_id)  # fmt: skip
        return False

    def record_order_update(self, update: OrderUpdate) -> bool:
        """Append an order status change. False if this ``(source, seq)`` was recorded."""
        with self._tx() as c:
            return self._insert_update(c, update)

    def _insert_update(self, c: sqlite3.Connection, u: OrderUpdate) -> bool:
        cur = c.execute(
            "INSERT OR IGNORE INTO order_updates(source, seq, cloid, venue_order_id, symbol,"
            " status, filled_size, time_ms, payload, recorded_ms) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (u.source, u.seq, u.cloid, u.venue_order_id, u.symbol, u.status, u.filled_size,
             u.time_ms, u.model_dump_json(), self._clock()),
        )  # fmt: skip
        return cur.rowcount == 1

    def record_fill(self, fill: Fill) -> bool:
        """Append a venue fill. False if its ``trade_id`` was recorded (F5: no double count)."""
        with self._tx() as c:
            return self._insert_fill(c, fill)

    def _insert_fill(self, c: sqlite3.Connection, f: Fill) -> bool:
        cur = c.execute(
            "INSERT OR IGNORE INTO fills(trade_id, cloid, symbol, side, size, price, fee, time_ms,"
            " payload, recorded_ms) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (f.trade_id, f.cloid, f.symbol, f.side, f.size, f.price, f.fee, f.time_ms,
             f.model_dump_json(), self._clock()),
        )  # fmt: skip
        return cur.rowcount == 1

    def record_signal(self, signal: Signal, decision: RiskDecision | None) -> None:
        """Persist a signal (once per ``signal_id``) and, if given, the risk decision on it."""
        if decision is not None and decision.signal_id != signal.signal_id:
            raise ValueError(
                f"decision is for signal {decision.signal_id!r}, not {signal.signal_id!r}"
            )
        with self._tx(durable=False) as c:
            c.execute(
                "INSERT OR IGNORE INTO signals(signal_id, symbol, strategy, bar_time_ms, payload,"
                " recorded_ms) VALUES (?,?,?,?,?,?)",
                (signal.signal_id, signal.symbol, signal.strategy, signal.bar_time_ms,
                 signal.model_dump_json(), self._clock()),
            )  # fmt: skip
            if decision is not None:
                c.execute(
                    "INSERT OR IGNORE INTO decisions(source, seq, signal_id, approved, rule,"
                    " payload, recorded_ms) VALUES (?,?,?,?,?,?,?)",
                    (decision.source, decision.seq, decision.signal_id, int(decision.approved),
                     decision.rule, decision.model_dump_json(), self._clock()),
                )  # fmt: skip

    def record_equity(self, time_ms: int, equity: float) -> None:
        """Append an account-equity observation (venue clock ``time_ms``)."""
        with self._tx(durable=False) as c:
            c.execute(
                "INSERT INTO equity(time_ms, equity, recorded_ms) VALUES (?,?,?)",
                (int(time_ms), float(equity), self._clock()),
            )

    def record_funding(self, payments: list[Funding]) -> int:
        """Append funding payments (a money fact: fsynced); returns how many were new (the
        venue's settlement ``(symbol, time_ms)`` is the key, so a re-read window adds none)."""
        if not payments:
            return 0
        with self._tx() as c:
            cur = c.executemany(
                "INSERT OR IGNORE INTO funding(symbol, time_ms, amount, rate, size, payload,"
                " recorded_ms) VALUES (?,?,?,?,?,?,?)",
                [(p.symbol, p.time_ms, p.amount, p.rate, p.size, p.model_dump_json(),
                  self._clock()) for p in payments],
            )  # fmt: skip
            return max(cur.rowcount, 0)

    def last_funding_ms(self) -> int | None:
        """Settlement time of the newest journaled funding payment (the venue cursor)."""
        with self._lock:
            row = self._conn.execute("SELECT MAX(time_ms) FROM funding").fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def record_heartbeat(self, run_id: int, time_ms: int, venue_ms: int | None,
                         payload: str) -> None:  # fmt: skip
        """Stamp the run's ``last_seen_ms`` (uptime evidence) and replace its health snapshot
        (actors, bars, streams) that the read-only dashboard shows. Not fsynced: a heartbeat
        lost to a power cut only shortens the proven uptime."""
        with self._tx(durable=False) as c:
            c.execute(
                "UPDATE runs SET last_seen_ms=?, venue_first_ms=COALESCE(venue_first_ms, ?),"
                " venue_last_ms=COALESCE(?, venue_last_ms) WHERE id=?",
                (int(time_ms), venue_ms, venue_ms, int(run_id)),
            )
            c.execute(
                "INSERT OR REPLACE INTO health(run_id, time_ms, payload) VALUES (?,?,?)",
                (int(run_id), int(time_ms), payload),
            )

    def record_event(self, event: Event) -> bool:
        """Append an operator event. False if this ``(source, seq)`` was recorded."""
        return self.record_events([event]) == 1

    def record_events(self, events: list[Event]) -> int:
        """Append operator events in one transaction; returns how many were new."""
        if not events:
            return 0
        with self._tx(durable=False) as c:
            cur = c.executemany(
                "INSERT OR IGNORE INTO events(source, seq, level, kind, payload, recorded_ms)"
                " VALUES (?,?,?,?,?,?)",
                [(e.source, e.seq, e.level.value, e.kind, e.model_dump_json(), self._clock())
                 for e in events],
            )  # fmt: skip
            return max(cur.rowcount, 0)

    def record_reconciliation(self, report: ReconciliationReport) -> None:
        """Append a reconciliation report (the diff of one pass, F6)."""
        with self._tx() as c:
            self._insert_report(c, report)

    def _insert_report(self, c: sqlite3.Connection, r: ReconciliationReport) -> None:
        c.execute(
            "INSERT INTO reconciliations(report_id, time_ms, clean, n_differences, payload,"
            " recorded_ms) VALUES (?,?,?,?,?,?)",
            (r.report_id, r.time_ms, int(r.clean), len(r.differences), r.model_dump_json(),
             self._clock()),
        )  # fmt: skip

    def apply_reconciliation(self, report: ReconciliationReport) -> int:
        """Record a report and the journal writes it carries (missing and synthetic fills,
        terminal order updates) in one transaction. Returns how many records were new: 0 when
        the same report is applied again (F6)."""
        with self._tx() as c:
            new = sum(self._insert_fill(c, f) for f in report.fills)
            new += sum(self._insert_update(c, u) for u in report.order_updates)
            self._insert_report(c, report)
            return new

    def seen(self, source: str, seq: int) -> bool:
        """Whether a message with this dedup key was handled (persisted across restarts)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM seen_messages WHERE source=? AND seq=?", (source, seq)
            ).fetchone()
        return row is not None

    def mark_seen(self, source: str, seq: int) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT OR IGNORE INTO seen_messages(source, seq, recorded_ms) VALUES (?,?,?)",
                (source, seq, self._clock()),
            )

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            return q.get_meta(self._conn, key)

    def set_meta(self, key: str, value: str) -> None:
        """Persist a small fact (e.g. a breaker state). ``schema_version`` is reserved."""
        if key == "schema_version":
            raise ValueError("schema_version is managed by the journal")
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)", (key, str(value)))

    # ---- queries (used to rebuild actors after a restart, and by readers) ------------------

    def _read(self, fn: Callable[..., Any], *args: Any) -> Any:
        with self._lock:
            self._conn.execute("BEGIN")  # one consistent snapshot for multi-statement reads
            try:
                return fn(self._conn, *args)
            finally:
                self._conn.execute("COMMIT")

    def intent(self, cloid: str) -> OrderIntent | None:
        return self._read(q.intent, cloid)  # type: ignore[no-any-return]

    def order_status(self, cloid: str) -> str | None:
        """The journal's view of an order: terminal if any update said so, else the latest."""
        return self._read(q.order_status, cloid)  # type: ignore[no-any-return]

    def latest_update(self, cloid: str) -> OrderUpdate | None:
        """The newest order update for a cloid (by venue time)."""
        return self._read(q.latest_update, cloid)  # type: ignore[no-any-return]

    def open_intents(self) -> list[OrderIntent]:
        """Intents not terminal on the venue (incl. never acknowledged: look them up, F1)."""
        return self._read(q.open_intents)  # type: ignore[no-any-return]

    def fills(self) -> list[Fill]:
        return self._read(q.fills)  # type: ignore[no-any-return]

    def known_trade_ids(self, since_ms: int | None = None) -> set[str]:
        """Trade ids journaled (with fill time >= ``since_ms`` when given: reconciliation only
        needs those inside the venue fills window)."""
        return self._read(q.known_trade_ids, since_ms)  # type: ignore[no-any-return]

    def ledger(self) -> Ledger:
        """Open positions and all closed trades, derived from the fills in one snapshot."""
        with self._lock:
            cached = self._ledger_cache
            if not self.readonly and cached is not None and cached[0] == self._generation:
                return cached[1]
            result: Ledger = self._read(q.ledger)
            if not self.readonly:
                self._ledger_cache = (self._generation, result)
            return result

    def positions(self) -> dict[str, JournalPosition]:
        """Open positions derived from the fills (size, VWAP entry, stop, target)."""
        return dict(self.ledger()[0])

    def trades(self, limit: int = 100) -> list[ClosedTrade]:
        """The newest ``limit`` closed trades, oldest first."""
        trades = self.ledger()[1]
        return trades[-limit:] if limit > 0 else []

    def metrics(self) -> dict[str, float | int]:
        """Total P&L (net of fees), win rate and per-trade Sharpe over all closed trades."""
        return metrics(self.ledger()[1])

    def counts(self) -> dict[str, int]:
        """Row counts: ``orders`` (intents), ``fills``, ``signals``, ``order_updates``, ..."""
        return self._read(q.counts)  # type: ignore[no-any-return]

    def last_equity(self) -> tuple[int, float] | None:
        return self._read(q.last_equity)  # type: ignore[no-any-return]

    def recent_signals(self, limit: int = 20) -> list[dict[str, Any]]:
        return self._read(q.recent_signals, limit)  # type: ignore[no-any-return]

    def last_reconciliation(self) -> ReconciliationReport | None:
        return self._read(q.last_reconciliation)  # type: ignore[no-any-return]

    def last_write_ms(self) -> int | None:
        return self._read(q.last_write_ms)  # type: ignore[no-any-return]

    def integrity_problem(self) -> str | None:
        with self._lock:
            return integrity_problem(self._conn)

    def close(self) -> None:
        """Close the connection (idempotent). The WAL is checkpointed by SQLite on close."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None  # type: ignore[assignment]

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
