"""StateKeeper: a corrupt state.json at start is set aside and rebuilt; nothing journaled is lost."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from actors.keeper import StateKeeper
from actors.state.journal import JournalError
from actors.state.snapshot import read_state_json
from tests.live.helpers import entry_intent


def test_corrupt_state_json_is_quarantined_and_rebuilt(tmp_path: Path) -> None:
    k = StateKeeper(tmp_path, snapshot_s=3600, keep_days=2, today=lambda: date(2025, 7, 1))
    assert k.record_intent(entry_intent("BTC", "buy", 0.01, 100_000.0, "k"))
    k.close()
    state = tmp_path / "state.json"
    state.write_text('{"half written')
    k2 = StateKeeper(tmp_path, snapshot_s=3600, keep_days=2, today=lambda: date(2025, 7, 1))
    problems = k2.startup_problems()
    assert len(problems) == 1 and "corrupt" in problems[0]
    aside = list(tmp_path.glob("state.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == '{"half written'  # kept for the operator
    assert k2.counts()["orders"] == 1  # the journal is the truth: nothing lost
    assert read_state_json(state)  # rebuilt, valid, checksummed
    assert (tmp_path / "backups" / "2025-07-01").is_dir()  # the daily backup
    k2.close()


def test_corrupt_journal_stops_the_start_and_is_not_overwritten(tmp_path: Path) -> None:
    k = StateKeeper(tmp_path, snapshot_s=3600)
    k.close()
    journal = tmp_path / "state" / "journal.sqlite"
    for extra in ("-wal", "-shm"):
        journal.with_name(journal.name + extra).unlink(missing_ok=True)
    garbage = b"SQLite format 3\x00" + b"\xff" * 4096
    journal.write_bytes(garbage)
    with pytest.raises(JournalError) as exc:
        StateKeeper(tmp_path, snapshot_s=3600)
    assert "journal" in str(exc.value).lower() or "database" in str(exc.value).lower()
    assert journal.read_bytes() == garbage
