"""The journal's SQLite schema and how connections to it are opened.

Why these settings (docs/failure_modes.md F1, F18):

* ``journal_mode=WAL`` — readers (``fractal status``, the dashboard) never block the writer and
  the writer never blocks them; a crash loses at most the transaction being written.
* ``synchronous=FULL`` — every commit fsyncs the WAL, so an order intent is on disk *before*
  the venue call that follows it (persist before send). The journal lowers it to NORMAL only
  around operator records (signals, equity, events; see :mod:`actors.state.journal`).
* Append-only tables keyed by the venue's or the message's own identity (cloid, trade id,
  ``(source, seq)``) so a replayed write is a no-op, never a duplicate.
* ``meta.schema_version`` — a newer journal than this program understands refuses to open,
  instead of being misread or "migrated" backwards.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS intents (
    cloid TEXT PRIMARY KEY, intent_id TEXT NOT NULL, signal_id TEXT, symbol TEXT NOT NULL,
    side TEXT NOT NULL, size REAL NOT NULL, kind TEXT NOT NULL, purpose TEXT NOT NULL,
    reduce_only INTEGER NOT NULL, payload TEXT NOT NULL, recorded_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS intents_signal ON intents(signal_id);
CREATE TABLE IF NOT EXISTS order_updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, seq INTEGER NOT NULL,
    cloid TEXT, venue_order_id TEXT, symbol TEXT NOT NULL, status TEXT NOT NULL,
    filled_size REAL NOT NULL, time_ms INTEGER NOT NULL, payload TEXT NOT NULL,
    recorded_ms INTEGER NOT NULL, UNIQUE (source, seq));
CREATE INDEX IF NOT EXISTS order_updates_cloid ON order_updates(cloid);
CREATE TABLE IF NOT EXISTS fills (
    trade_id TEXT PRIMARY KEY, cloid TEXT, symbol TEXT NOT NULL, side TEXT NOT NULL,
    size REAL NOT NULL, price REAL NOT NULL, fee REAL NOT NULL, time_ms INTEGER NOT NULL,
    payload TEXT NOT NULL, recorded_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS fills_cloid ON fills(cloid);
CREATE TABLE IF NOT EXISTS signals (
    signal_id TEXT PRIMARY KEY, symbol TEXT NOT NULL, strategy TEXT NOT NULL,
    bar_time_ms INTEGER NOT NULL, payload TEXT NOT NULL, recorded_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, seq INTEGER NOT NULL,
    signal_id TEXT NOT NULL, approved INTEGER NOT NULL, rule TEXT NOT NULL,
    payload TEXT NOT NULL, recorded_ms INTEGER NOT NULL, UNIQUE (source, seq));
CREATE INDEX IF NOT EXISTS decisions_signal ON decisions(signal_id);
CREATE TABLE IF NOT EXISTS equity (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL, equity REAL NOT NULL,
    recorded_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, seq INTEGER NOT NULL,
    level TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL,
    recorded_ms INTEGER NOT NULL, UNIQUE (source, seq));
CREATE TABLE IF NOT EXISTS reconciliations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, report_id TEXT NOT NULL, time_ms INTEGER NOT NULL,
    clean INTEGER NOT NULL, n_differences INTEGER NOT NULL, payload TEXT NOT NULL,
    recorded_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS funding (
    symbol TEXT NOT NULL, time_ms INTEGER NOT NULL, amount REAL NOT NULL, rate REAL,
    size REAL, payload TEXT NOT NULL, recorded_ms INTEGER NOT NULL,
    PRIMARY KEY (symbol, time_ms));
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, network TEXT NOT NULL, start_ms INTEGER NOT NULL,
    end_ms INTEGER, clean INTEGER NOT NULL DEFAULT 0, last_seen_ms INTEGER,
    venue_first_ms INTEGER, venue_last_ms INTEGER);
CREATE TABLE IF NOT EXISTS health (
    run_id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen_messages (
    source TEXT NOT NULL, seq INTEGER NOT NULL, recorded_ms INTEGER NOT NULL,
    PRIMARY KEY (source, seq)) WITHOUT ROWID;
"""

# tables whose newest row tells when the journal was last written
WRITTEN_TABLES = ("intents", "order_updates", "fills", "signals", "decisions", "equity",
                  "events", "reconciliations", "funding")  # fmt: skip
# columns added to ``runs`` after it first shipped (a journal of an older run lacks them)
RUNS_ADDED = ("last_seen_ms", "venue_first_ms", "venue_last_ms")


class JournalError(Exception):
    """The journal cannot be used (newer schema, wrong file); the message says why."""


class CorruptJournal(JournalError):
    """The journal file is damaged: quarantine it and rebuild from the venue and backups."""


def connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    """Open the journal. Read-only connections use a ``mode=ro`` URI so ``fractal status`` works
    while the live process writes (WAL readers never take the write lock)."""
    try:
        if readonly:
            conn = sqlite3.connect(
                f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False,
                isolation_level=None, timeout=10.0,
            )  # fmt: skip
        else:
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                   timeout=10.0)  # fmt: skip
        conn.execute("PRAGMA busy_timeout=10000")
        if not readonly:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise JournalError(f"{path}: could not enable WAL (journal_mode={mode})")
            conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as err:
        raise CorruptJournal(f"{path}: not a readable SQLite journal ({err})") from err
    return conn


def check_version(conn: sqlite3.Connection, path: Path) -> int:
    """The journal's schema version; refuses a version newer than this program's."""
    try:
        has_meta = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
        ).fetchone()
        if not has_meta:
            return 0
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    except sqlite3.DatabaseError as err:
        raise CorruptJournal(f"{path}: not a readable SQLite journal ({err})") from err
    if row is None:
        return 0
    try:
        version = int(row[0])
    except ValueError:
        raise CorruptJournal(f"{path}: schema_version {row[0]!r} is not a number") from None
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"{path}: journal schema version {version} is newer than this program supports "
            f"({SCHEMA_VERSION}); upgrade Fractal Trader, the journal was left untouched"
        )
    return version


def create(conn: sqlite3.Connection) -> None:
    """Create the tables (idempotent) and stamp the schema version."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for stmt in DDL.split(";"):
            if stmt.strip():
                conn.execute(stmt)
        have = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
        for col in RUNS_ADDED:  # additive migration: old rows keep NULL (no evidence)
            if col not in have:
                conn.execute(f"ALTER TABLE runs ADD COLUMN {col} INTEGER")
        conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def integrity_problem(conn: sqlite3.Connection) -> str | None:
    """``None`` when ``PRAGMA quick_check`` passes, else SQLite's description of the damage."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as err:
        return str(err)
    msgs = [r[0] for r in rows]
    return None if msgs == ["ok"] else "; ".join(msgs[:5])
