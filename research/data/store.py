"""Columnar parquet store for candles and funding, one file per (venue, symbol, timeframe).

Layout: ``<root>/<venue>/<SYMBOL>/<timeframe>.parquet`` and ``.../funding.parquet``; each file
holds an int64 ``timestamp`` (bar open, epoch ms UTC) plus float64 value columns. Symbols are
stored under their canonical name (`research.data.symbols`). Every write validates first and
replaces the file atomically (temp file + ``os.replace``), so a rejected or crashed write
leaves what was persisted untouched.
"""

from __future__ import annotations

import builtins
import fcntl
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from research.data.csv_files import FUNDING
from research.data.symbols import canonical_symbol, canonical_venue
from research.data.timeframes import timeframe_ms
from research.data.validation import (
    FUNDING_COLUMNS,
    OHLCV_COLUMNS,
    GapSummary,
    ValidationReport,
    find_gaps,
    to_frame,
    validate_funding,
    validate_ohlcv,
)

_SHOW_FIRST = 3


class DataConflictError(ValueError):
    """Incoming rows disagree with stored rows at the same timestamps (pass overwrite=True).

    ``remedy`` is how the caller's user replaces them: the CLI says ``--overwrite``."""

    def __init__(self, detail: str, remedy: str = "pass overwrite=True") -> None:
        self.detail = detail
        super().__init__(f"{detail}; nothing was written. To replace them, {remedy}.")

    def with_remedy(self, remedy: str) -> DataConflictError:
        return DataConflictError(self.detail, remedy)


@dataclass(frozen=True)
class DatasetInfo:
    """One stored dataset, as listed by `MarketStore.list`."""

    venue: str
    symbol: str
    timeframe: str
    rows: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    path: Path
    gaps: GapSummary | None  # None for funding (irregular intervals)


@dataclass
class WriteReport:
    """What one write did: rows added / identical / overwritten, and the dataset afterwards."""

    venue: str
    symbol: str
    timeframe: str
    path: Path
    validation: ValidationReport
    rows_added: int = 0
    rows_identical: int = 0
    rows_overwritten: int = 0
    rows_total: int = 0
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    created: bool = False
    gaps: GapSummary = field(default_factory=GapSummary)

    @property
    def changed(self) -> bool:
        return bool(self.rows_added or self.rows_overwritten)


def _ms(index: pd.Index) -> np.ndarray:
    return pd.DatetimeIndex(index).as_unit("ns").asi8 // 1_000_000


def _to_time(ms: pd.Series | np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(ms, dtype="int64"), unit="ms", utc=True))


def _bound_ms(value: object) -> int | None:
    """Epoch ms for a user bound (str, datetime, Timestamp, int ms); naive means UTC."""
    if value is None:
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    ts = pd.Timestamp(value)  # type: ignore[arg-type]
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.as_unit("ns").value // 1_000_000)


@contextmanager
def _dataset_lock(path: Path) -> Iterator[None]:
    """Exclusive per-dataset lock so two writers cannot lose each other's rows (readers never
    need it: they only ever see a complete file thanks to the atomic replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class MarketStore:
    """Parquet store rooted at ``root`` (normally ``settings.store_dir``)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # ---- paths -------------------------------------------------------------------------
    def path(self, venue: str, symbol: str, timeframe: str) -> Path:
        """File for a dataset (timeframe ``funding`` for funding); validates every part."""
        v = canonical_venue(venue)
        if timeframe != FUNDING:
            timeframe_ms(timeframe)
        return self.root / v / canonical_symbol(v, symbol) / f"{timeframe}.parquet"

    def exists(self, venue: str, symbol: str, timeframe: str) -> bool:
        return self.path(venue, symbol, timeframe).is_file()

    # ---- reading -----------------------------------------------------------------------
    def _read(
        self, path: Path, columns: tuple[str, ...], start: object, end: object
    ) -> pd.DataFrame:
        filters = []
        lo, hi = _bound_ms(start), _bound_ms(end)
        if lo is not None:
            filters.append(("timestamp", ">=", lo))
        if hi is not None:
            filters.append(("timestamp", "<", hi))
        if not path.is_file():
            empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
            empty.index = _to_time(np.array([], dtype="int64")).as_unit("ns").rename("time")
            return empty
        table = pq.read_table(path, filters=filters or None)
        raw = table.to_pandas()
        frame = pd.DataFrame(
            {c: raw[c].to_numpy(dtype="float64") for c in columns},
            index=_to_time(raw["timestamp"]).as_unit("ns").rename("time"),
        )
        return frame

    def read(
        self, venue: str, symbol: str, timeframe: str, start: object = None, end: object = None
    ) -> pd.DataFrame:
        """Candles with ``start <= time < end`` (UTC index ``time``, float64 OHLCV).

        A missing dataset is an error (FileNotFoundError naming it), not an empty frame, so a
        typo in a symbol cannot look like "no data".
        """
        path = self.path(venue, symbol, timeframe)
        if not path.is_file():
            raise FileNotFoundError(
                f"no stored data for {venue}/{symbol}/{timeframe} (looked for {path}); "
                "import or fetch it first"
            )
        return self._read(path, OHLCV_COLUMNS, start, end)

    def read_funding(
        self, venue: str, symbol: str, start: object = None, end: object = None
    ) -> pd.DataFrame:
        """Funding prints with ``start <= time < end`` (float64 ``funding_rate``)."""
        path = self.path(venue, symbol, FUNDING)
        if not path.is_file():
            raise FileNotFoundError(f"no stored funding for {venue}/{symbol} (looked for {path})")
        return self._read(path, FUNDING_COLUMNS, start, end)

    def list(self) -> list[DatasetInfo]:
        """Every stored dataset, sorted by venue, symbol, timeframe."""
        out: list[DatasetInfo] = []
        for path in sorted(self.root.glob("*/*/*.parquet")):
            tf = path.stem
            ms = pq.read_table(path, columns=["timestamp"]).column("timestamp").to_numpy()
            first = pd.Timestamp(int(ms.min()), unit="ms", tz="UTC") if len(ms) else None
            last = pd.Timestamp(int(ms.max()), unit="ms", tz="UTC") if len(ms) else None
            gaps = None
            if tf != FUNDING and len(ms):
                try:
                    gaps = find_gaps(_to_time(ms), timeframe_ms(tf))
                except ValueError:
                    continue  # not a dataset this store wrote
            out.append(
                DatasetInfo(
                    path.parent.parent.name, path.parent.name, tf, len(ms), first, last, path, gaps
                )
            )
        return out

    def missing_ranges(
        self, venue: str, symbol: str, timeframe: str, start: object, end: object
    ) -> builtins.list[tuple[pd.Timestamp, pd.Timestamp]]:
        """Half-open ``[first_missing_open, end)`` ranges of grid bars in ``[start, end)``
        that are not stored — what a fetcher still has to download."""
        step = timeframe_ms(timeframe)
        lo, hi = _bound_ms(start), _bound_ms(end)
        if lo is None or hi is None:
            raise ValueError("missing_ranges needs both start and end")
        first = -(-lo // step) * step  # first grid bar at or after start
        if first >= hi:
            return []
        grid = np.arange(first, hi, step, dtype="int64")
        path = self.path(venue, symbol, timeframe)
        have = np.zeros(len(grid), dtype=bool)
        if path.is_file():
            stored = _ms(self._read(path, OHLCV_COLUMNS, first, hi).index)
            have = np.isin(grid, stored)
        ranges = []
        missing = np.flatnonzero(~have)
        if len(missing):
            breaks = np.flatnonzero(np.diff(missing) > 1)
            starts = np.r_[missing[0], missing[breaks + 1]]
            ends = np.r_[missing[breaks], missing[-1]]
            for a, b in zip(starts, ends, strict=True):
                ranges.append(
                    (
                        pd.Timestamp(int(grid[a]), unit="ms", tz="UTC"),
                        pd.Timestamp(int(grid[b]) + step, unit="ms", tz="UTC"),
                    )
                )
        return ranges

    # ---- writing -----------------------------------------------------------------------
    def write(
        self,
        venue: str,
        symbol: str,
        timeframe: str,
        df: pd.DataFrame,
        *,
        repair: bool = False,
        overwrite: bool = False,
    ) -> WriteReport:
        """Validate ``df`` and merge it into the stored dataset (created if absent).

        Rows at new timestamps are added; identical rows at stored timestamps are no-ops;
        differing rows raise DataConflictError unless ``overwrite=True`` (incoming wins).
        Nothing is written when the data is invalid or nothing changes.
        """
        path = self.path(venue, symbol, timeframe)
        label = f"{canonical_venue(venue)}/{canonical_symbol(venue, symbol)}/{timeframe}"
        frame, report = validate_ohlcv(df, timeframe, repair=repair, label=label)
        result = self._merge_and_save(path, label, frame, report, OHLCV_COLUMNS, overwrite)
        result.gaps = find_gaps(_to_time(self._stored_ms(path)), timeframe_ms(timeframe))
        return result

    append = write  # incremental append is the same validated, duplicate-free merge

    def write_funding(
        self,
        venue: str,
        symbol: str,
        df: pd.DataFrame,
        *,
        repair: bool = False,
        overwrite: bool = False,
    ) -> WriteReport:
        """Validate and merge funding prints (same conflict rules as `write`)."""
        path = self.path(venue, symbol, FUNDING)
        label = f"{canonical_venue(venue)}/{canonical_symbol(venue, symbol)}/funding"
        frame, report = validate_funding(df, repair=repair, label=label)
        return self._merge_and_save(path, label, frame, report, FUNDING_COLUMNS, overwrite)

    def _stored_ms(self, path: Path) -> np.ndarray:
        if not path.is_file():
            return np.array([], dtype="int64")
        return pq.read_table(path, columns=["timestamp"]).column("timestamp").to_numpy()

    def _merge_and_save(
        self,
        path: Path,
        label: str,
        frame: pd.DataFrame,
        report: ValidationReport,
        columns: tuple[str, ...],
        overwrite: bool,
    ) -> WriteReport:
        with _dataset_lock(path):
            return self._merge_and_save_locked(path, label, frame, report, columns, overwrite)

    def _merge_and_save_locked(
        self,
        path: Path,
        label: str,
        frame: pd.DataFrame,
        report: ValidationReport,
        columns: tuple[str, ...],
        overwrite: bool,
    ) -> WriteReport:
        venue, symbol, tf = label.split("/")
        result = WriteReport(venue, symbol, tf, path, report, created=not path.is_file())
        if path.is_file():
            stored = self._read(path, columns, None, None)
        else:
            stored = to_frame(pd.DataFrame(columns=["timestamp", *columns]), columns)
        common = frame.index.intersection(stored.index)
        new_rows = frame.index.difference(stored.index)
        differs = (frame.loc[common] != stored.loc[common]).any(axis=1)
        n_diff = int(differs.sum())
        if n_diff and not overwrite:
            first = ", ".join(
                f"{t:%Y-%m-%d %H:%M} stored {stored.loc[t].tolist()} vs new {frame.loc[t].tolist()}"
                for t in differs[differs].index[:_SHOW_FIRST]
            )
            raise DataConflictError(
                f"{label}: {n_diff} incoming rows differ from stored rows at the same timestamps "
                f"(first: {first})"
            )
        result.rows_added = len(new_rows)
        result.rows_identical = len(common) - n_diff
        result.rows_overwritten = n_diff
        if result.changed:
            if overwrite and n_diff:
                merged = frame.combine_first(stored)
            else:
                merged = pd.concat([stored, frame.loc[new_rows]]).sort_index()
            self._save(path, merged[list(columns)])
            index = merged.index
        else:
            index = stored.index
        result.rows_total = len(index)
        result.first = index[0] if len(index) else None
        result.last = index[-1] if len(index) else None
        return result

    def _save(self, path: Path, frame: pd.DataFrame) -> None:
        """Atomic replace: a crash leaves either the old file or the new one, never half."""
        table = pa.table(
            {"timestamp": pa.array(_ms(frame.index), pa.int64())}
            | {c: pa.array(frame[c].to_numpy(dtype="float64"), pa.float64()) for c in frame}
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "wb") as fh:
                pq.write_table(table, fh, compression="zstd")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
