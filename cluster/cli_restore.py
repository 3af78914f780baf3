"""`fractal backup` and `fractal restore --from BACKUP` — the data-corruption and lost-server
runbooks of DISASTER_RECOVERY.md.

``backup`` takes a verified backup of the journal and ``state.json`` now (the StateKeeper also
takes one a day) and can copy it elsewhere (another disk, a mounted off-site volume).
``restore`` puts a verified backup in place: the current journal is moved aside, never
deleted. Stop ``fractal live`` first; its next start reconciles with the venue, which records
every fill and position change made after the backup.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cluster.cli_common import console, fail, settings_or_exit


def backup(
    to: Annotated[
        Path | None, typer.Option("--to", help="Also copy the backup into this directory.")
    ] = None,
) -> None:
    """Back up the journal and state.json now (verified); print the backup's directory."""
    from actors.state import backups_dir, journal_path, state_json_path
    from actors.state.backups import BackupError, verify
    from actors.state.backups import backup as make_backup

    data = settings_or_exit().fractal_data_dir
    if not journal_path(data).exists():
        raise fail(f"no journal under {data}: nothing to back up", 2)
    day = datetime.now(UTC).date()
    try:
        made = make_backup(journal_path(data), state_json_path(data), backups_dir(data), day,
                           keep_days=3650)  # fmt: skip  # pruning is the keeper's job
    except BackupError as err:
        raise fail(str(err), 1) from None
    console.print(f"backup {made}")
    if to is not None:
        target = to / made.name
        if target.exists():
            raise fail(f"--to {target} exists already; choose another directory", 2)
        to.mkdir(parents=True, exist_ok=True)
        shutil.copytree(made, target)
        verify(target)
        console.print(f"copied to {target}")


def restore(
    source: Annotated[
        Path, typer.Option("--from", help="A backup directory (backups/YYYY-MM-DD or a copy).")
    ],
) -> None:
    """Restore the journal and state.json from a verified backup (the current ones are kept
    aside). Stop `fractal live` first; its next start reconciles with the venue."""
    from actors.state import journal_path, state_json_path
    from actors.state.backups import BackupError, restore_from

    data = settings_or_exit().fractal_data_dir
    if not source.is_dir():
        raise fail(f"--from {source}: no such backup directory", 2)
    try:
        aside = restore_from(source, journal_path(data), state_json_path(data))
    except BackupError as err:
        raise fail(f"--from {source}: {err}; nothing was changed", 2) from None
    if aside is not None:
        console.print(f"previous journal kept at {aside}")
    console.print(f"restored {journal_path(data)} and {state_json_path(data)} from {source}")
