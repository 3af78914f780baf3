"""Persisted alert outbox (SQLite): nothing is lost across restarts or while Telegram is down.

Why SQLite and not a list in the Alerter: Ray reruns an actor's constructor after a crash and
restores nothing (failure_modes F12); an alert accepted before the crash must still be delivered
after it. Rows move pending -> sent (or -> coalesced into a digest that was sent); a row is marked
sent only after the Bot API confirmed it, so a crash between send and mark re-sends at most that
one message (at-least-once, never lost).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from actors.alerts.policy import Pending

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    level TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',   -- pending | sent | coalesced | log_only
    sent_ms INTEGER,
    message_id INTEGER
);
CREATE INDEX IF NOT EXISTS alerts_state ON alerts(state);
CREATE TABLE IF NOT EXISTS sends (            -- one row per Telegram message delivered
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sent_ms INTEGER NOT NULL,
    critical INTEGER NOT NULL,
    alert_count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Outbox:
    """The alert queue on disk. One writer (the Alerter); readers may open it read-only."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def add(self, level: str, kind: str, text: str, created_ms: int, deliver: bool = True) -> int:
        """Queue an alert (``deliver=False``: recorded for the log/report only)."""
        cur = self._db.execute(
            "INSERT INTO alerts(level, kind, text, created_ms, state) VALUES (?, ?, ?, ?, ?)",
            (level, kind, text, created_ms, "pending" if deliver else "log_only"),
        )
        return int(cur.lastrowid or 0)

    def pending(self) -> list[Pending]:
        rows = self._db.execute(
            "SELECT id, level, kind, text, created_ms FROM alerts WHERE state = 'pending' "
            "ORDER BY created_ms, id"
        ).fetchall()
        return [Pending(*row) for row in rows]

    def mark_sent(
        self, ids: tuple[int, ...], sent_ms: int, critical: bool, message_id: int
    ) -> None:
        """Record one delivered Telegram message and the alerts it carried, atomically."""
        state = "sent" if len(ids) == 1 else "coalesced"
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "UPDATE alerts SET state = ?, sent_ms = ?, message_id = ? WHERE id = ?",
                [(state, sent_ms, message_id, i) for i in ids],
            )
            self._db.execute(
                "INSERT INTO sends(sent_ms, critical, alert_count) VALUES (?, ?, ?)",
                (sent_ms, int(critical), len(ids)),
            )
            self._db.execute("COMMIT")

    def send_times(self, since_ms: int) -> tuple[list[int], list[int]]:
        """Times of messages sent since ``since_ms``: all, and the CRITICAL ones."""
        rows = self._db.execute(
            "SELECT sent_ms, critical FROM sends WHERE sent_ms >= ?", (since_ms,)
        ).fetchall()
        return [r[0] for r in rows], [r[0] for r in rows if r[1]]

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def counts(self) -> dict[str, int]:
        """Alerts per state (for status pages and tests)."""
        rows = self._db.execute("SELECT state, COUNT(*) FROM alerts GROUP BY state").fetchall()
        return {str(s): int(n) for s, n in rows}

    def close(self) -> None:
        self._db.close()
