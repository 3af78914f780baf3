"""Daily backups of the journal and ``state.json``, and restore (F18).

The journal is copied with SQLite's online backup API, which yields a consistent copy while the
StateKeeper keeps writing (a plain file copy of a WAL database can miss or tear the ``-wal``).
Each backup is built in a temp directory, verified (``PRAGMA integrity_check``), described by a
``manifest.json`` with sha256 sums, and renamed into ``backups/YYYY-MM-DD/``; days older than
the last ``keep_days`` are pruned. Directories that are not backups are never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from datetime import date, timedelta
from pathlib import Path

from actors.state.snapshot import CorruptState, read_state_json

JOURNAL_NAME = "journal.sqlite"
STATE_NAME = "state.json"
MANIFEST = "manifest.json"


class BackupError(Exception):
    """A backup could not be made or restored; the message says why."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _day_dirs(backups_dir: Path) -> list[tuple[date, Path]]:
    out = []
    if backups_dir.is_dir():
        for p in backups_dir.iterdir():
            try:
                out.append((date.fromisoformat(p.name), p))
            except ValueError:
                continue
    return sorted(out)


def _copy_journal(src: Path, dst: Path) -> None:
    source = sqlite3.connect(f"{src.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # a self-contained single file
        problem = target.execute("PRAGMA integrity_check").fetchall()
        if [r[0] for r in problem] != ["ok"]:
            raise BackupError(f"backup of {src} failed its integrity check: {problem[:3]}")
    finally:
        target.close()
        source.close()


def backup(
    journal_path: Path, state_json: Path, backups_dir: Path, day: date, keep_days: int
) -> Path:
    """Back up the journal (and ``state.json`` when it is valid) into ``backups_dir/<day>/``,
    replacing an earlier backup of the same day; prune days before ``day - keep_days + 1``.
    Returns the backup directory."""
    if keep_days < 1:
        raise ValueError(f"keep_days must be >= 1, got {keep_days}")
    if not Path(journal_path).exists():
        raise BackupError(f"{journal_path}: no journal to back up")
    backups_dir.mkdir(parents=True, exist_ok=True)
    final = backups_dir / day.isoformat()
    tmp = backups_dir / f".{day.isoformat()}.{os.getpid()}.{time.time_ns()}.tmp"
    tmp.mkdir()
    try:
        _copy_journal(Path(journal_path), tmp / JOURNAL_NAME)
        files = {JOURNAL_NAME: _sha256(tmp / JOURNAL_NAME)}
        note = None
        try:
            read_state_json(state_json)
            shutil.copyfile(state_json, tmp / STATE_NAME)
            files[STATE_NAME] = _sha256(tmp / STATE_NAME)
        except FileNotFoundError:
            note = "state.json absent"
        except CorruptState as err:
            note = f"state.json not copied: {err}"
        manifest = {"day": day.isoformat(), "created_ms": time.time_ns() // 1_000_000,
                    "files": files, "note": note}  # fmt: skip
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        for f in tmp.iterdir():
            with f.open("rb") as fh:
                os.fsync(fh.fileno())
        old = None
        if final.exists():
            old = backups_dir / f".{day.isoformat()}.old.{time.time_ns()}"
            final.rename(old)
        tmp.rename(final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    prune(backups_dir, day, keep_days)
    return final


def prune(backups_dir: Path, today: date, keep_days: int) -> list[Path]:
    """Delete day directories older than the last ``keep_days`` days; returns what was removed."""
    cutoff = today - timedelta(days=keep_days - 1)
    removed = []
    for d, p in _day_dirs(backups_dir):
        if d < cutoff:
            shutil.rmtree(p)
            removed.append(p)
    return removed


def verify(backup_dir: Path) -> None:
    """Raise BackupError unless every file in the manifest is present and matches its sha256."""
    try:
        manifest = json.loads((backup_dir / MANIFEST).read_text())
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise BackupError(f"{backup_dir}: unreadable manifest ({err})") from None
    if JOURNAL_NAME not in files:
        raise BackupError(f"{backup_dir}: manifest lists no journal")
    for name, digest in files.items():
        p = backup_dir / name
        if not p.exists() or _sha256(p) != digest:
            raise BackupError(f"{backup_dir}: {name} is missing or does not match its checksum")


def quarantine(journal_path: Path) -> Path | None:
    """Move a damaged journal (and its ``-wal``/``-shm``) aside, never deleting it."""
    journal_path = Path(journal_path)
    if not journal_path.exists():
        return None
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = journal_path.with_name(f"{journal_path.name}.corrupt-{stamp}-{time.time_ns()}")
    for suffix in ("-wal", "-shm"):
        side = journal_path.with_name(journal_path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    journal_path.rename(target)
    return target


def restore_from(backup_dir: Path, journal_path: Path, state_json: Path) -> Path | None:
    """Restore one verified backup (BackupError if it does not verify, before anything moves):
    the current journal (with its ``-wal``/``-shm``) is quarantined, never overwritten; the
    backup's journal and ``state.json`` are copied in atomically. Returns the quarantined path."""
    verify(backup_dir)
    aside = quarantine(journal_path)
    journal_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = journal_path.with_name(journal_path.name + ".restore.tmp")
    shutil.copyfile(backup_dir / JOURNAL_NAME, tmp)
    os.replace(tmp, journal_path)
    if (backup_dir / STATE_NAME).exists():
        state_json.parent.mkdir(parents=True, exist_ok=True)
        tmp_s = state_json.with_name(state_json.name + ".restore.tmp")
        shutil.copyfile(backup_dir / STATE_NAME, tmp_s)
        os.replace(tmp_s, state_json)
    return aside


def restore_latest(backups_dir: Path, journal_path: Path, state_json: Path) -> date | None:
    """Restore the newest verified backup: an existing journal is quarantined first (never
    overwritten). Returns the backup's day, or None when no valid backup exists."""
    for d, p in reversed(_day_dirs(backups_dir)):
        try:
            restore_from(p, journal_path, state_json)
        except BackupError:
            continue
        return d
    return None


def restore_state_json(backups_dir: Path, state_json: Path) -> date | None:
    """Copy ``state.json`` from the newest verified backup that holds a valid one (atomic
    replace). Returns that backup's day, or None when no backup has one."""
    for d, p in reversed(_day_dirs(backups_dir)):
        try:
            verify(p)
            read_state_json(p / STATE_NAME)
        except (BackupError, CorruptState, FileNotFoundError):
            continue
        state_json.parent.mkdir(parents=True, exist_ok=True)
        tmp = state_json.with_name(state_json.name + ".restore.tmp")
        shutil.copyfile(p / STATE_NAME, tmp)
        os.replace(tmp, state_json)
        return d
    return None
