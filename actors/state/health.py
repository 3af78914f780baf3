"""What the last heartbeat says about the live system, judged at read time.

Why judged by the reader: a crashed process cannot write "I am down", so the dashboard compares
the heartbeat's age with its period — older than :func:`stale_ms` means the live process is down
or hung, whatever the snapshot said; inside a fresh snapshot, an actor whose own last answer is
older than that threshold is NOT ANSWERING, and one whose probe raised is DOWN.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from actors.state.uptime import read_runs

MIN_STALE_MS = 30_000
STALE_PERIODS = 3  # heartbeats missed before "stale"


def stale_ms(interval_s: float | None) -> int:
    """How old a heartbeat (or an actor's answer) may be before it counts as missing."""
    return max(MIN_STALE_MS, int(STALE_PERIODS * 1000 * (interval_s or 10.0)))


def when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def age(now_ms: int, ms: int | None) -> str:
    if ms is None:
        return "never"
    s = max(0, now_ms - ms) // 1000
    if s < 120:
        return f"{s} s ago"
    if s < 7200:
        return f"{s // 60} min ago"
    return f"{s // 3600} h {s % 3600 // 60} min ago"


@dataclass
class Health:
    """``status``: live | stale | stopped | crashed | none (no run recorded)."""

    status: str
    summary: str
    run: dict[str, Any] | None = None
    heartbeat_ms: int | None = None
    venue_ms: int | None = None
    actors: list[dict[str, str]] = field(default_factory=list)
    feeds: list[dict[str, str]] = field(default_factory=list)
    stale_ms: int = MIN_STALE_MS  # from the newest heartbeat's period

    @property
    def ok(self) -> bool:
        return (
            self.status == "live"
            and all(a["state"] == "alive" for a in self.actors)
            and all(f["websocket"] == "connected" for f in self.feeds)
        )


def read_health(conn: sqlite3.Connection, now_ms: int) -> Health:
    """The newest run and its heartbeat, judged at ``now_ms`` (wall clock)."""
    runs = read_runs(conn)
    if not runs:
        return Health("none", "no live run recorded yet (fractal live / make run)")
    run = runs[-1]
    has = conn.execute("SELECT 1 FROM sqlite_master WHERE name='health'").fetchone()
    row = (
        conn.execute("SELECT time_ms, payload FROM health WHERE run_id=?", (run["id"],)).fetchone()
        if has
        else None
    )
    data: dict[str, Any] = json.loads(row[1]) if row else {}
    hb = int(row[0]) if row else None
    limit = stale_ms(data.get("interval_s"))
    h = Health("live", "", run=run, heartbeat_ms=hb, venue_ms=data.get("venue_ms"), stale_ms=limit)
    net = run["network"]
    if run["end_ms"] is not None:
        h.status = "stopped" if run["clean"] else "crashed"
        how = "stopped cleanly" if run["clean"] else "ended with an error"
        h.summary = f"not running: the last run ({net}) {how} at {when(run['end_ms'])}"
    elif hb is None or now_ms - hb > limit:
        h.status = "stale"
        h.summary = (f"DOWN or hung: the run on {net} started {when(run['start_ms'])} has not "
                     f"written a heartbeat since {when(hb)} ({age(now_ms, hb)}; expected every "
                     f"{data.get('interval_s', 10):g} s)")  # fmt: skip
    else:
        h.summary = f"running on {net} since {when(run['start_ms'])}; heartbeat {age(now_ms, hb)}"
    fresh = h.status == "live"
    for name, a in (data.get("actors") or {}).items():
        h.actors.append(_actor(name, a, hb or 0, limit, fresh, h.status))
    silence = data.get("silence_s")
    streams = data.get("streams") or {}
    for sym, bar in sorted((data.get("last_bar_ms") or {}).items()):
        st = streams.get(sym) or {}
        ws = str(st.get("state", "unknown")) if fresh else f"unknown ({h.status})"
        h.feeds.append({
            "symbol": sym, "last bar (open, venue clock)": when(int(bar)) if bar else "none yet",
            "websocket": ws, "last message": f"{when(st.get('last_message_ms'))} "
            f"({age(hb or now_ms, st.get('last_message_ms'))} at the heartbeat)",
            "reconnects": str(st.get("reconnects", 0)),
            "silent after": f"{silence:g} s" if isinstance(silence, int | float) else "",
        })  # fmt: skip
    return h


def _actor(
    name: str, a: dict[str, Any], hb: int, limit: int, fresh: bool, status: str
) -> dict[str, str]:
    last = a.get("last_ms")
    if not fresh:
        state = f"unknown ({status})"
    elif a.get("error"):
        state = f"DOWN: {a['error']}"
    elif last is None:
        sent = a.get("probe_sent_ms")
        state = ("NOT ANSWERING" if sent is not None and hb - int(sent) > limit
                 else "starting (no answer yet)")  # fmt: skip
    elif hb - int(last) > limit:
        state = f"NOT ANSWERING for {(hb - int(last)) // 1000} s"
    else:
        state = "alive"
    return {"actor": name, "state": state, "last heartbeat": when(last)}
