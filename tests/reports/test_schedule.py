"""The daily report runs at DAILY_REPORT_UTC for the previous UTC day and sends its summary."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from actors.messages import Event
from actors.reports.schedule import DailyReportScheduler, next_due_ms, parse_hhmm
from tests.reports.test_daily_report import _journal


def _ms(*a: int) -> int:
    return int(datetime(*a, tzinfo=UTC).timestamp() * 1000)  # type: ignore[arg-type,misc]


def test_next_due_is_strictly_after_now() -> None:
    assert next_due_ms(_ms(2025, 7, 3, 0, 0), "00:05") == _ms(2025, 7, 3, 0, 5)
    assert next_due_ms(_ms(2025, 7, 3, 0, 5), "00:05") == _ms(2025, 7, 4, 0, 5)
    assert next_due_ms(_ms(2025, 7, 3, 23, 59), "23:30") == _ms(2025, 7, 4, 23, 30)
    for bad in ("24:00", "7", "ab:cd", "12:60"):
        with pytest.raises(ValueError, match="HH:MM"):
            parse_hhmm(bad)


def test_due_time_writes_yesterdays_report_and_sends_its_summary(
    _isolated_data_dir: Path,
) -> None:
    _journal(_isolated_data_dir)  # trades on 2025-07-02
    sent: list[Event] = []
    got = threading.Event()

    def send(ev: Event) -> None:
        sent.append(ev)
        got.set()

    now = _ms(2025, 7, 3, 0, 4, 59) + 999  # 1 ms before 00:05 on the day after
    sched = DailyReportScheduler(_isolated_data_dir, "00:05", send, clock=lambda: now).start()
    try:
        assert got.wait(timeout=30)
    finally:
        sched.stop()
    assert sent[0].kind == "daily_report" and sent[0].text.startswith("Daily report 2025-07-02")
    assert "3 trade(s)" in sent[0].text
    assert (_isolated_data_dir / "reports" / "daily-2025-07-02.html").exists()
    assert sent[0].seq == date(2025, 7, 2).toordinal()  # one report per day, deduplicated
    assert len(sent) == 1  # the frozen clock never re-triggers the same due time
