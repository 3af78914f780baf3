"""Daily backups: consistent while written, verified, pruned to N days, restorable (F18)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from actors.state import backups_dir, journal_path, state_json_path
from actors.state.backups import BackupError, backup, quarantine, restore_latest, verify
from actors.state.journal import Journal
from actors.state.snapshot import build_state_payload, read_state_json, write_state_json
from tests.state.helpers import fill

DAY = date(2026, 1, 10)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    with Journal(journal_path(tmp_path)) as j:
        for i in range(5):
            j.record_fill(fill(f"t{i}", t=i))
        write_state_json(state_json_path(tmp_path), build_state_payload(j))
    return tmp_path


def test_backup_while_the_writer_is_open_is_consistent(store: Path) -> None:
    with Journal(journal_path(store)) as j:
        j.record_fill(fill("t-live", t=99))  # in the WAL, not yet checkpointed
        out = backup(journal_path(store), state_json_path(store), backups_dir(store), DAY, 7)
        j.record_fill(fill("t-after", t=100))
    assert out == backups_dir(store) / "2026-01-10"
    verify(out)
    with Journal.open_readonly(out / "journal.sqlite", check=True) as copy:
        assert "t-live" in copy.known_trade_ids() and "t-after" not in copy.known_trade_ids()
        assert copy.counts()["fills"] == 6
    assert read_state_json(out / "state.json")["counts"]["fills"] == 5
    assert {p.name for p in out.iterdir()} == {"journal.sqlite", "state.json", "manifest.json"}


def test_same_day_is_replaced_and_old_days_pruned(store: Path) -> None:
    bdir = backups_dir(store)
    (bdir / "notes").mkdir(parents=True)  # not a backup: never touched
    for k in range(6):
        backup(journal_path(store), state_json_path(store), bdir, DAY + timedelta(days=k), 3)
    backup(journal_path(store), state_json_path(store), bdir, DAY + timedelta(days=5), 3)
    assert sorted(p.name for p in bdir.iterdir()) == [
        "2026-01-13", "2026-01-14", "2026-01-15", "notes"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="keep_days"):
        backup(journal_path(store), state_json_path(store), bdir, DAY, 0)


def test_corrupt_state_json_is_not_backed_up_but_the_journal_is(store: Path) -> None:
    state_json_path(store).write_text("{")
    out = backup(journal_path(store), state_json_path(store), backups_dir(store), DAY, 2)
    manifest = json.loads((out / "manifest.json").read_text())
    assert "truncated" in manifest["note"] and not (out / "state.json").exists()


def test_missing_journal_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no journal"):
        backup(tmp_path / "nope.sqlite", tmp_path / "s.json", tmp_path / "b", DAY, 2)


def test_restore_latest_skips_damaged_backups_and_quarantines(store: Path) -> None:
    bdir = backups_dir(store)
    backup(journal_path(store), state_json_path(store), bdir, DAY, 5)
    newer = backup(journal_path(store), state_json_path(store), bdir, DAY + timedelta(days=1), 5)
    (newer / "journal.sqlite").write_bytes(b"damaged")
    with pytest.raises(BackupError, match="does not match its checksum"):
        verify(newer)
    journal_path(store).write_bytes(b"corrupt journal")  # the live journal is damaged too
    assert restore_latest(bdir, journal_path(store), state_json_path(store)) == DAY
    with Journal(journal_path(store)) as j:
        assert j.counts()["fills"] == 5
    kept = [p for p in journal_path(store).parent.iterdir() if ".corrupt-" in p.name]
    main = [p for p in kept if not p.name.endswith(("-wal", "-shm"))]
    assert len(main) == 1 and main[0].read_bytes() == b"corrupt journal"  # never deleted
    # its -wal/-shm went with it: a stale WAL must never be replayed into the restored file
    assert all(p.name.startswith(main[0].name) for p in kept)
    assert read_state_json(state_json_path(store))["counts"]["fills"] == 5


def test_restore_without_backups_and_quarantine_of_nothing(tmp_path: Path) -> None:
    assert restore_latest(tmp_path / "b", tmp_path / "j.sqlite", tmp_path / "s.json") is None
    assert quarantine(tmp_path / "j.sqlite") is None
