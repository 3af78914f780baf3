"""Uptime from the recorded runs: clean runs, a crash (covered to its last heartbeat), a run still
beating, overlapping runs, too little history (unknown), too much downtime (failed early)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from actors.state import journal_path
from actors.state.journal import Journal
from actors.state.runs import read_runs, run_ended, run_started
from actors.state.uptime import DAY_MS, uptime

H = 3_600_000
STALE = 30_000
T0 = 1_700_000_000_000


def run(start: int, end: int | None = None, seen: int | None = None) -> dict[str, object]:
    return {"id": 1, "network": "testnet", "start_ms": start, "end_ms": end, "clean": 1,
            "last_seen_ms": seen}  # fmt: skip


def test_crash_counts_to_the_last_heartbeat_and_the_gap_as_down() -> None:
    runs = [run(T0, seen=T0 + 10 * H),  # crashed: no end, last heartbeat after 10 h
            run(T0 + 12 * H, end=T0 + 24 * H)]  # fmt: skip
    u = uptime(runs, T0 + 24 * H, T0 + 100 * DAY_MS, STALE)
    assert u is not None
    assert (u.start_ms, u.end_ms, u.up_ms, u.down_ms) == (T0, T0 + 24 * H, 22 * H, 2 * H)
    assert u.fraction == 22 / 24
    assert u.passed(0.99) is None  # one day of history: not judged ...
    runs.append(run(T0 + 25 * H, end=T0 + 32 * H))
    worse = uptime(runs, T0 + 40 * H, T0 + 100 * DAY_MS, STALE)
    assert worse is not None and worse.down_ms == 11 * H  # 2 h + 1 h + 8 h since the last stop
    assert worse.passed(0.99) is False  # ... but 11 h down > 1 % of 30 days: failed already


def test_a_run_without_heartbeat_proves_nothing_and_a_fresh_one_counts_to_now() -> None:
    assert uptime([run(T0)], T0 + H, T0 + H, STALE).up_ms == 0  # type: ignore[union-attr]
    now = T0 + 5 * H
    fresh = uptime([run(T0, seen=now - 10_000)], now, now, STALE)
    assert fresh is not None and fresh.up_ms == 5 * H
    old = uptime([run(T0, seen=now - 10 * 60_000)], now, now, STALE)
    assert old is not None and old.up_ms == 5 * H - 10 * 60_000


def test_full_window_pass_and_fail_and_overlaps_counted_once() -> None:
    end = T0 + 40 * DAY_MS
    up = [run(T0, end=T0 + 20 * DAY_MS), run(T0 + 10 * DAY_MS, end=end)]  # overlapping
    u = uptime(up, end, end, STALE)
    assert u is not None and u.span_ms == 30 * DAY_MS and u.up_ms == 30 * DAY_MS
    assert u.passed(0.99) is True
    gap = [run(T0, end=T0 + 20 * DAY_MS), run(T0 + 20 * DAY_MS + 8 * H, end=end)]
    g = uptime(gap, end, end, STALE)
    assert g is not None and g.down_ms == 8 * H and g.passed(0.99) is False  # 98.9 %
    small = [run(T0, end=T0 + 20 * DAY_MS), run(T0 + 20 * DAY_MS + 7 * H, end=end)]
    assert uptime(small, end, end, STALE).passed(0.99) is True  # type: ignore[union-attr]
    assert uptime(up, T0 - 1, end, STALE) is None  # a window before the first run


def test_runs_recorded_with_heartbeats_and_old_journals_migrate(tmp_path: Path) -> None:
    data = tmp_path / "d"
    path = journal_path(data)
    path.parent.mkdir(parents=True)
    old = sqlite3.connect(path)  # a journal of the version before heartbeats
    old.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, network TEXT NOT NULL,"
                " start_ms INTEGER NOT NULL, end_ms INTEGER, clean INTEGER NOT NULL DEFAULT 0)")  # fmt: skip
    old.execute("INSERT INTO runs(network, start_ms) VALUES ('testnet', 5)")
    old.commit()
    old.close()
    assert read_runs(data)[0]["last_seen_ms"] is None  # readable before any migration
    rid = run_started(data, "paper")  # opens the writer: columns added, old row kept
    with Journal(path) as j:
        j.record_heartbeat(rid, T0, 1_751_400_000_000, "{}")
        j.record_heartbeat(rid, T0 + 10_000, 1_751_400_900_000, "{}")
    run_ended(data, rid, clean=True)
    rows = read_runs(data)
    assert [r["start_ms"] for r in rows][0] == 5 and rows[0]["last_seen_ms"] is None
    assert rows[1]["last_seen_ms"] == T0 + 10_000 and rows[1]["clean"] == 1
    assert (rows[1]["venue_first_ms"], rows[1]["venue_last_ms"]) == (
        1_751_400_000_000, 1_751_400_900_000)  # fmt: skip
