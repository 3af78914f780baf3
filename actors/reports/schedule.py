"""Write yesterday's daily report at a fixed UTC time and send its summary to the Alerter.

Why a thread with a stop event: the report is read-only work on the journal, so it needs no
actor of its own; it waits on ``stop`` until the next due time (no polling) and exits at once
when the live system stops. Days are wall-clock UTC days: a fast paper replay packs many
simulated days into one wall day — run ``fractal report --date`` for those.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from actors.messages import Event, Level
from actors.reports.daily import DAY_MS, build
from actors.reports.render import telegram_summary, write_report

log = logging.getLogger("fractal.reports")
SOURCE = "daily-report"


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def parse_hhmm(at_utc: str) -> int:
    """``"00:05"`` -> milliseconds after midnight; ValueError names a bad value."""
    try:
        hh, mm = (int(x) for x in at_utc.split(":"))
    except ValueError:
        raise ValueError(f"daily report time must be HH:MM (UTC), got {at_utc!r}") from None
    if not (0 <= hh < 24 and 0 <= mm < 60):
        raise ValueError(f"daily report time must be HH:MM (UTC), got {at_utc!r}")
    return (hh * 60 + mm) * 60_000


def next_due_ms(now_ms: int, at_utc: str) -> int:
    """The first ``at_utc`` strictly after ``now_ms``."""
    offset = parse_hhmm(at_utc)
    due = now_ms - now_ms % DAY_MS + offset
    return due if due > now_ms else due + DAY_MS


class DailyReportScheduler:
    """At ``at_utc`` every day: write the previous day's report, ``send`` its summary."""

    def __init__(
        self,
        data_dir: Path,
        at_utc: str,
        send: Callable[[Event], None],
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        parse_hhmm(at_utc)
        self.data_dir = Path(data_dir)
        self.at_utc = at_utc
        self.send = send
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def report_day(self, day: date) -> Path:
        """Write ``day``'s report and send its summary; returns the page's path."""
        rep = build(self.data_dir, day)
        path = write_report(rep)
        self.send(Event(source=SOURCE, seq=day.toordinal(), level=Level.INFO,
                        kind="daily_report", text=telegram_summary(rep),
                        data={"path": str(path)}, time_ms=self.clock()))  # fmt: skip
        return path

    def run(self) -> None:
        last_due = 0
        while True:
            # never the same due time twice (a wall clock that steps back, an early wake-up)
            due = next_due_ms(max(self.clock(), last_due), self.at_utc)
            last_due = due
            if self._stop.wait(max(0.0, (due - self.clock()) / 1000)):
                return
            yesterday = datetime.fromtimestamp(due / 1000, UTC).date() - timedelta(days=1)
            try:
                self.report_day(yesterday)
            except Exception as exc:  # a bad day must not stop tomorrow's report
                log.error("daily report for %s failed: %s", yesterday, exc)

    def start(self) -> DailyReportScheduler:
        self._thread = threading.Thread(target=self.run, name="daily-report", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
