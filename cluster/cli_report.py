"""`fractal report --date YYYY-MM-DD` — the daily report as an HTML page under the data dir.

Read-only on the journal (works while `fractal live` writes). Exit codes: 0 (also for a day
without data or a missing store: the page says so), 2 for a bad date or an unreadable store.
"""

from __future__ import annotations

from datetime import date

import typer

from cluster.cli_common import console, fail, settings_or_exit


def report(
    day: str = typer.Option(..., "--date", help="UTC day to report, YYYY-MM-DD."),
    summary: bool = typer.Option(False, "--summary", help="Also print the Telegram summary."),
) -> None:
    """Daily report: P&L, fees, top strategy, worst trade, win rate, drawdown, breaker events,
    health and the seed's success metrics, with charts; written to
    FRACTAL_DATA_DIR/reports/daily-YYYY-MM-DD.html."""
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise fail(f"--date must be a calendar day YYYY-MM-DD, got {day!r}", code=2) from None
    from actors.reports.daily import build
    from actors.reports.render import telegram_summary, write_report
    from actors.state.journal import JournalError

    settings = settings_or_exit()
    try:
        rep = build(settings.fractal_data_dir, when)
    except JournalError as err:
        raise fail(f"cannot read the state store: {err}", code=2) from None
    path = write_report(rep)
    if rep.message:
        console.print(f"[yellow]{rep.message}[/yellow]", highlight=False)
    console.print(f"daily report written to {path}", highlight=False, soft_wrap=True)
    if summary:
        typer.echo(telegram_summary(rep))
