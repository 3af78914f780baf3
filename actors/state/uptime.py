"""Uptime from evidence: the recorded runs and their heartbeats (the seed's "uptime > 99 % over
30 days").

Why from ``runs`` rows and not from the absence of errors: a process that crashed writes nothing,
so only what a running system stamped proves it was up. A run covers ``[start_ms, end_ms]`` when
it stopped cleanly (or was ended by its driver), and ``[start_ms, last_seen_ms]`` when it has no
end: it crashed, was killed, or is still running — the last heartbeat is the last proof of
life, and a run whose heartbeat is fresh (younger than ``stale_ms``) is counted up to ``now``.
Time before the first recorded run is not counted against the system (it was not deployed),
and the check is judged only on a full window: with less history the figure is shown and the
verdict is "unknown" — unless the downtime already exceeds what the whole window allows, which
fails it early. All times are wall-clock milliseconds (uptime is about the process, not about
the venue's, possibly replayed, clock).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from actors.state.schema import RUNS_ADDED

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Uptime:
    """Uptime over ``[start_ms, end_ms)``: ``up_ms`` of ``span_ms`` covered by recorded runs."""

    start_ms: int  # the effective window start (not before the first recorded run)
    end_ms: int
    window_ms: int  # the window asked for (e.g. 30 days)
    up_ms: int
    runs: int  # runs overlapping the window

    @property
    def span_ms(self) -> int:
        return max(0, self.end_ms - self.start_ms)

    @property
    def down_ms(self) -> int:
        return self.span_ms - self.up_ms

    @property
    def fraction(self) -> float | None:
        return self.up_ms / self.span_ms if self.span_ms > 0 else None

    def passed(self, minimum: float) -> bool | None:
        """``fraction > minimum`` on a full window; False early when the downtime already
        exceeds what the full window allows; None while there is too little history."""
        if self.down_ms > (1.0 - minimum) * self.window_ms:
            return False
        if self.fraction is None or self.span_ms < self.window_ms:
            return None
        return self.fraction > minimum


def read_runs(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The ``runs`` rows (oldest first) on an open connection; [] when none were recorded."""
    cols = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
    if not cols:
        return []
    keys = ("id", "network", "start_ms", "end_ms", "clean", *(c for c in RUNS_ADDED if c in cols))
    rows = conn.execute(f"SELECT {', '.join(keys)} FROM runs ORDER BY id").fetchall()
    return [{**dict.fromkeys(RUNS_ADDED), **dict(zip(keys, r, strict=True))} for r in rows]


def covered(run: dict[str, Any], now_ms: int, stale_ms: int) -> tuple[int, int]:
    """The wall-clock interval a run proves the system was up."""
    start = int(run["start_ms"])
    if run.get("end_ms") is not None:
        return start, int(run["end_ms"])
    seen = run.get("last_seen_ms")
    if seen is None:
        return start, start  # no heartbeat: no proof it ever got going
    seen = int(seen)
    return start, (now_ms if now_ms - seen <= stale_ms else seen)


def uptime(
    runs: list[dict[str, Any]], end_ms: int, now_ms: int, stale_ms: int, window_days: int = 30
) -> Uptime | None:
    """Uptime over the ``window_days`` ending at ``min(end_ms, now_ms)``; None without a run
    that started before that end."""
    end = min(end_ms, now_ms)
    window = window_days * DAY_MS
    starts = [int(r["start_ms"]) for r in runs if int(r["start_ms"]) < end]
    if not starts:
        return None
    start = max(end - window, min(starts))
    spans = sorted(
        (max(a, start), min(b, end))
        for a, b in (covered(r, now_ms, stale_ms) for r in runs)
        if b > start and a < end
    )
    up, cur_a, cur_b = 0, None, None
    for a, b in spans:  # union of the intervals (runs may overlap: two drivers, a restart)
        if cur_b is None or a > cur_b:
            if cur_b is not None and cur_a is not None:
                up += cur_b - cur_a
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_a is not None and cur_b is not None:
        up += cur_b - cur_a
    n = sum(1 for r in runs if covered(r, now_ms, stale_ms)[1] > start and int(r["start_ms"]) < end)
    return Uptime(start_ms=start, end_ms=end, window_ms=window, up_ms=up, runs=n)
