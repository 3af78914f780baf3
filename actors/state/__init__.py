"""The state store of the live system: the money ledger (docs/failure_modes.md F1, F5, F6, F18).

* :mod:`~actors.state.journal` — the append-only SQLite (WAL) journal, the only truth kept
  locally; one writer (the StateKeeper actor), any number of read-only readers.
* :mod:`~actors.state.ledger` — positions, closed trades and metrics derived from fills (pure).
* :mod:`~actors.state.snapshot` — ``state.json``, an atomic, checksummed snapshot for humans and
  dashboards; never the truth, always rebuildable from the journal.
* :mod:`~actors.state.backups` — daily consistent copies and restore.
* :mod:`~actors.state.reconcile` — pure diff of journal vs venue (the venue is the truth).
* :mod:`~actors.state.status` — the read-only query behind ``fractal status``.
"""

from __future__ import annotations

from pathlib import Path

JOURNAL_RELPATH = Path("state") / "journal.sqlite"
STATE_JSON_NAME = "state.json"
BACKUPS_DIRNAME = "backups"


def journal_path(data_dir: Path) -> Path:
    """Where the journal lives under ``FRACTAL_DATA_DIR``."""
    return Path(data_dir) / JOURNAL_RELPATH


def state_json_path(data_dir: Path) -> Path:
    """Where the ``state.json`` snapshot lives under ``FRACTAL_DATA_DIR``."""
    return Path(data_dir) / STATE_JSON_NAME


def backups_dir(data_dir: Path) -> Path:
    """Where the daily backups live under ``FRACTAL_DATA_DIR``."""
    return Path(data_dir) / BACKUPS_DIRNAME
