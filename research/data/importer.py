"""Import shipped CSV files (or whole folders of them) into the parquet store.

Why separate from the store: importing is about files on disk (names, folders, partial
failures); the store only knows validated frames. One bad file never stops the others and
never touches what is already stored.
"""

from __future__ import annotations

import csv
import functools
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from research.data.csv_files import _NAME, parse_csv_name, read_raw_csv
from research.data.store import DataConflictError, MarketStore, WriteReport
from research.data.validation import FUNDING_COLUMNS, OHLCV_COLUMNS


@dataclass
class ImportResult:
    """Outcome for one file: the write report, or the error that rejected it."""

    path: Path
    report: WriteReport | None = None
    error: str | None = None
    conflict: DataConflictError | None = None  # set when stored rows differ (see `overwrite`)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given plus every ``*.csv[.gz]`` named like a dataset inside given folders.

    A path that does not exist is an error (FileNotFoundError naming it), as is a folder
    holding no data file, so a typo never imports "nothing" silently.
    """
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*.csv*") if f.is_file() and _NAME.match(f.name))
            if not found:
                raise FileNotFoundError(f"no <venue>_<SYMBOL>_<tf>.csv.gz files under {p}")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    return list(dict.fromkeys(files))


@functools.cache
def _manifest(manifest_path: Path) -> dict[str, str]:
    """``folder/file`` → sha256 from a shipped ``manifest.csv``."""
    with open(manifest_path, newline="") as fh:
        return {row["file"]: row["sha256"] for row in csv.DictReader(fh) if row.get("sha256")}


def check_against_manifest(path: Path) -> bool:
    """If a ``manifest.csv`` one or two folders up lists this file, its sha256 must match.

    Returns whether the file was verified; raises ValueError on a mismatch (a modified or
    truncated copy must not enter the store looking like the published data).
    """
    path = path.resolve()
    for root in (path.parent, path.parent.parent):
        manifest_path = root / "manifest.csv"
        if not manifest_path.is_file():
            continue
        expected = _manifest(manifest_path).get(path.relative_to(root).as_posix())
        if expected is None:
            continue
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != expected:
            raise ValueError(
                f"{path}: sha256 {actual[:12]}… differs from {manifest_path} "
                f"({expected[:12]}…); the file was modified or is corrupt, not imported"
            )
        return True
    return False


def import_file(
    store: MarketStore, path: Path, *, repair: bool = False, overwrite: bool = False
) -> WriteReport:
    """Import one file; raises ValueError/DataValidationError/DataConflictError when bad."""
    name = parse_csv_name(path)
    check_against_manifest(path)
    if name.is_funding:
        raw = read_raw_csv(path, FUNDING_COLUMNS)
        return store.write_funding(name.venue, name.symbol, raw, repair=repair, overwrite=overwrite)
    raw = read_raw_csv(path, OHLCV_COLUMNS)
    return store.write(
        name.venue, name.symbol, name.timeframe, raw, repair=repair, overwrite=overwrite
    )


def import_paths(
    store: MarketStore,
    paths: Iterable[str | Path],
    *,
    repair: bool = False,
    overwrite: bool = False,
    on_file: Callable[[ImportResult], None] | None = None,
) -> list[ImportResult]:
    """Import every file under ``paths``; per-file errors are collected, not raised."""
    results = []
    for path in expand_paths(paths):
        result = ImportResult(path)
        try:
            result.report = import_file(store, path, repair=repair, overwrite=overwrite)
        except (ValueError, OSError) as err:  # validation/conflict errors are ValueErrors
            result.error = str(err)
            result.conflict = err if isinstance(err, DataConflictError) else None
        results.append(result)
        if on_file is not None:
            on_file(result)
    return results
