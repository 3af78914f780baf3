"""A damaged store at start (issue #18, failure_modes F18): a corrupt ``state.json`` (truncated,
invalid JSON, bad checksum) is detected, moved aside, restored from the last good backup and
alerted CRITICAL; a missing journal comes back from the newest backup. Nothing journaled is lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from actors.keeper import StateKeeper
from actors.state import backups_dir, journal_path
from actors.state.journal import Journal
from actors.state.snapshot import read_state_json
from tests.live.helpers import entry_intent

DAY = date(2025, 7, 1)


def _keeper(data: Path, day: date = DAY) -> StateKeeper:
    return StateKeeper(data, snapshot_s=3600, keep_days=3, today=lambda: day)


def _critical(data: Path) -> list[str]:
    with Journal.open_readonly(journal_path(data)) as j:
        rows = j._read(lambda c: c.execute(
            "SELECT payload FROM events WHERE level='CRITICAL' AND kind='state_corrupt'"
        ).fetchall())  # fmt: skip
    return [json.loads(r[0])["text"] for r in rows]


def _bad_checksum(b: bytes) -> bytes:
    doc = json.loads(b)
    doc["state"]["counts"] = {"orders": 999}
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    "damage",
    [lambda b: b[: len(b) // 2], lambda b: b"{not json" + b, _bad_checksum],
    ids=["truncated", "invalid-json", "bad-checksum"],
)
def test_corrupt_state_json_is_restored_from_the_backup_and_alerted(
    tmp_path: Path, damage: Callable[[bytes], bytes]
) -> None:
    k = _keeper(tmp_path)  # writes state.json and the day's backup (with a good state.json)
    assert k.record_intent(entry_intent("BTC", "buy", 0.01, 100_000.0, "a"))
    k.snapshot()
    k.close()
    backup_state = backups_dir(tmp_path) / DAY.isoformat() / "state.json"
    assert read_state_json(backup_state)
    state = tmp_path / "state.json"
    broken = damage(state.read_bytes())
    state.write_bytes(broken)
    k2 = _keeper(tmp_path, date(2025, 7, 2))
    try:
        (problem,) = k2.startup_problems()
        assert "corrupt" in problem and f"restored from the backup of {DAY}" in problem
        assert k2.counts()["orders"] == 1  # nothing journaled lost
        assert read_state_json(state)["counts"]["orders"] == 1  # valid again, from the journal
    finally:
        k2.close()
    (aside,) = tmp_path.glob("state.json.corrupt-*")
    assert aside.read_bytes() == broken  # kept for the operator
    assert _critical(tmp_path) == [problem]  # alerted, durably
    k3 = _keeper(tmp_path, date(2025, 7, 2))  # a clean start: no new alert
    assert k3.startup_problems() == []
    k3.close()
    assert len(_critical(tmp_path)) == 1


def test_without_a_good_backup_state_json_is_rebuilt_from_the_journal(tmp_path: Path) -> None:
    k = _keeper(tmp_path)
    assert k.record_intent(entry_intent("BTC", "buy", 0.01, 100_000.0, "a"))
    k.close()
    for p in backups_dir(tmp_path).rglob("state.json"):
        p.write_text("garbage")  # the backup's copy fails its manifest checksum
    (tmp_path / "state.json").write_text("{")
    k2 = _keeper(tmp_path)
    (problem,) = k2.startup_problems()
    assert "no good backup" in problem and "rebuilt from the journal" in problem
    assert read_state_json(tmp_path / "state.json")["counts"]["orders"] == 1
    k2.close()


def test_a_missing_journal_is_restored_from_the_newest_backup(tmp_path: Path) -> None:
    k = _keeper(tmp_path)
    assert k.record_intent(entry_intent("BTC", "buy", 0.01, 100_000.0, "a"))
    k.close()  # the day's backup was taken at start, before the intent
    k = _keeper(tmp_path, date(2025, 7, 2))  # the next day's start backs up the intent too
    k.close()
    jp = journal_path(tmp_path)
    for extra in ("", "-wal", "-shm"):
        jp.with_name(jp.name + extra).unlink(missing_ok=True)  # the disk lost the journal
    k2 = _keeper(tmp_path, date(2025, 7, 2))
    try:
        (problem,) = k2.startup_problems()
        assert "missing" in problem and "2025-07-02" in problem
        assert k2.counts()["orders"] == 1
    finally:
        k2.close()
    assert _critical(tmp_path) == [problem]
