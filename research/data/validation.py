"""Candle and funding validation: reject bad data loudly, repair only when asked, never fill gaps.

Why: a single duplicated or off-grid bar silently shifts every indicator after it, so the store
refuses invalid frames by default (`DataValidationError` lists each problem with counts and the
first offending timestamps). Gaps are real (exchange outages) and are only *reported*.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from research.data.timeframes import timeframe_ms

OHLCV_COLUMNS = ("open", "high", "low", "close", "volume")
FUNDING_COLUMNS = ("funding_rate",)
FUNDING_GRID_MS = 3_600_000  # funding prints are floored to the hour of settlement
_SHOW_FIRST = 3


@dataclass(frozen=True)
class Problem:
    """One violated rule: how many rows and where it first happens.

    ``first`` holds the first offending timestamps (NaT where a row has none); ``rows`` names
    the same rows in the input ("line 51" for a CSV file, "row 49" for a frame), with the bad
    values when a cell is not a number, so a user can find them in an editor."""

    rule: str
    description: str
    count: int
    first: tuple[pd.Timestamp, ...]
    rows: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = ", ".join(self.rows) if self.rows else ", ".join(_fmt(t) for t in self.first)
        return f"{self.count} {self.description}" + (f" (first at {where})" if where else "")


@dataclass(frozen=True)
class GapSummary:
    """Missing bars between the first and last bar (never filled)."""

    missing_bars: int = 0
    gaps: int = 0
    largest_gap_bars: int = 0
    largest_gap_after: pd.Timestamp | None = None

    def __str__(self) -> str:
        if not self.gaps:
            return "no gaps"
        return (
            f"{self.missing_bars} missing bars in {self.gaps} gaps "
            f"(largest {self.largest_gap_bars} bars after {_fmt(self.largest_gap_after)})"
        )


@dataclass
class ValidationReport:
    """What was found, what repair did, and the gaps left in the validated frame."""

    rows_in: int
    rows_out: int
    problems: list[Problem] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    gaps: GapSummary = field(default_factory=GapSummary)

    @property
    def warnings(self) -> list[str]:
        """Non-fatal findings (gaps) as readable lines."""
        return [f"gaps: {self.gaps}"] if self.gaps.gaps else []


class DataValidationError(ValueError):
    """Invalid market data; the message names every problem with counts and timestamps."""

    def __init__(self, label: str, problems: list[Problem]) -> None:
        self.label = label
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid data{f' for {label}' if label else ''}:\n{lines}")


def _fmt(ts: pd.Timestamp | None) -> str:
    if ts is None or pd.isna(ts):
        return "no timestamp"
    return ts.strftime("%Y-%m-%d %H:%M:%S%z")


def _first(index: pd.DatetimeIndex, mask: np.ndarray) -> tuple[pd.Timestamp, ...]:
    return tuple(index[mask][:_SHOW_FIRST])


@dataclass(frozen=True)
class RowNames:
    """How to name the validated frame's rows in messages: the input's row labels (a CSV
    reader labels them with file line numbers, ``kind="line"``) and the unparseable cells."""

    labels: np.ndarray | None = None  # input label of each frame row; None = a time-indexed frame
    kind: str = "row"
    bad_cells: dict[int, str] = field(default_factory=dict)  # frame position -> "open 'x'"

    def name(self, pos: int, ts: pd.Timestamp) -> str:
        if self.labels is None:
            return _fmt(ts)
        where = f"{self.kind} {self.labels[pos]}"
        detail = self.bad_cells.get(pos) or _fmt(ts)
        return f"{where}: {detail}"

    def take(self, keep: np.ndarray) -> RowNames:
        """The names of the rows a repair kept (``keep`` is a boolean mask or positions)."""
        if self.labels is None:
            return self
        positions = np.arange(len(self.labels))[keep]
        cells = {new: self.bad_cells[old] for new, old in enumerate(positions) if old in self.bad_cells}
        return RowNames(self.labels[keep], self.kind, cells)


def _problem(
    rule: str,
    description: str,
    index: pd.DatetimeIndex,
    mask: np.ndarray,
    names: RowNames | None = None,
) -> Problem | None:
    count = int(mask.sum())
    if not count:
        return None
    first = _first(index, mask)
    rows: tuple[str, ...] = ()
    if names is not None and names.labels is not None:
        positions = np.flatnonzero(mask)[:_SHOW_FIRST]
        rows = tuple(names.name(int(p), t) for p, t in zip(positions, first, strict=True))
    return Problem(rule, description, count, first, rows)


def _short(value: object) -> str:
    text = repr(str(value))
    return text if len(text) <= 24 else text[:20] + "…'"


def row_names(df: pd.DataFrame, columns: tuple[str, ...]) -> RowNames:
    """Row labels of an input frame and its cells that are present but not numbers.

    A time-indexed frame (from a fetcher or the store) is named by its timestamps."""
    if isinstance(df.index, pd.DatetimeIndex) and "timestamp" not in df.columns:
        return RowNames()
    cells: dict[int, list[str]] = {}
    for col in ("timestamp", *columns):
        if col not in df.columns or pd.api.types.is_numeric_dtype(df[col]):
            continue
        raw = df[col]
        bad = np.flatnonzero(raw.notna().to_numpy() & pd.to_numeric(raw, errors="coerce").isna())
        for pos in bad:
            cells.setdefault(int(pos), []).append(f"{col} {_short(raw.iloc[pos])}")
    kind = str(df.index.name) if df.index.name else "row"
    return RowNames(
        np.asarray(df.index), kind, {p: ", ".join(v) + " not a number" for p, v in cells.items()}
    )


def to_frame(df: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Canonical shape: UTC ``DatetimeIndex`` named ``time`` (ns) and float64 ``columns``.

    Accepts an integer-millisecond ``timestamp`` column (the shipped CSV layout), a ``time``
    column, or a DatetimeIndex. A tz-naive index is taken as UTC. Does not sort or dedupe.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataValidationError(
            "", [Problem("columns", f"missing column(s): {', '.join(missing)}", len(missing), ())]
        )
    if "timestamp" in df.columns:
        ts = pd.to_numeric(df["timestamp"], errors="coerce")
        index = pd.DatetimeIndex(pd.to_datetime(ts, unit="ms", utc=True))
    elif "time" in df.columns:
        index = pd.DatetimeIndex(pd.to_datetime(df["time"], utc=True))
    elif isinstance(df.index, pd.DatetimeIndex):
        index = df.index
        index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    else:
        raise TypeError("frame needs a DatetimeIndex or a 'timestamp' (ms) / 'time' column")
    out = pd.DataFrame(
        {c: pd.to_numeric(df[c], errors="coerce").to_numpy(dtype="float64") for c in columns},
        index=index.as_unit("ns").rename("time"),
    )
    return out


def frame_from_rows(
    times: list[int], values: list[list[float]], columns: tuple[str, ...]
) -> pd.DataFrame:
    """Canonical frame from epoch-ms open times and value rows (used by the fetchers)."""
    data = np.array(values, dtype="float64").reshape(len(times), len(columns))
    index = pd.DatetimeIndex(pd.to_datetime(np.array(times, dtype="int64"), unit="ms", utc=True))
    return pd.DataFrame(data, index=index.as_unit("ns").rename("time"), columns=list(columns))


def _time_ms(index: pd.DatetimeIndex) -> np.ndarray:
    """Epoch milliseconds, with NaT as int64 min (callers mask NaT separately)."""
    return index.as_unit("ns").asi8 // 1_000_000


def find_problems(
    df: pd.DataFrame, grid_ms: int, *, ohlc_rules: bool = True, names: RowNames | None = None
) -> list[Problem]:
    """Every rule that the canonical frame ``df`` violates (empty list = valid).

    ``names`` (from `row_names` on the input) makes messages name input rows and bad cells."""
    idx = pd.DatetimeIndex(df.index)
    values = df.to_numpy(dtype="float64")
    nat = np.asarray(idx.isna())
    ms = _time_ms(idx)
    garbage = np.zeros(len(idx), dtype=bool)
    if names is not None and names.bad_cells:
        garbage[list(names.bad_cells)] = True

    def problem(rule: str, description: str, mask: np.ndarray) -> Problem | None:
        # a row with an unparseable cell is reported once, as that, not by the other rules
        return _problem(rule, description, idx, mask & ~garbage, names)

    checks: list[Problem | None] = [
        _problem("not_a_number", "rows with a value that is not a number", idx, garbage, names),
        problem(
            "nan",
            "rows with NaN/inf values or no timestamp",
            ~np.isfinite(values).all(axis=1) | nat,
        ),
    ]
    if ohlc_rules:
        o, h, low, c, v = (df[col].to_numpy() for col in OHLCV_COLUMNS)
        checks += [
            problem(
                "nonpositive_price",
                "rows with a non-positive price",
                np.asarray((df[["open", "high", "low", "close"]].to_numpy() <= 0).any(axis=1)),
            ),
            problem(
                "high_lt_open_close", "rows with high < max(open, close)", h < np.maximum(o, c)
            ),
            problem(
                "low_gt_open_close", "rows with low > min(open, close)", low > np.minimum(o, c)
            ),
            problem("high_lt_low", "rows with high < low", h < low),
            problem("negative_volume", "rows with negative volume", v < 0),
        ]
    valid_ms = ms[~nat]
    dup = np.zeros(len(idx), dtype=bool)
    dup[~nat] = pd.Index(valid_ms).duplicated(keep="first")
    back = np.zeros(len(idx), dtype=bool)
    if len(valid_ms) > 1:
        back[np.flatnonzero(~nat)[1:]] = np.diff(valid_ms) < 0
    checks += [
        problem("duplicates", "duplicate timestamps", dup),
        problem("out_of_order", "out-of-order rows (timestamp earlier than the row before)", back),
        problem(
            "off_grid",
            f"timestamps off the {grid_ms // 60_000}-minute grid",
            ~nat & (ms % grid_ms != 0),
        ),
    ]
    return [p for p in checks if p is not None]


def find_gaps(index: pd.DatetimeIndex, grid_ms: int) -> GapSummary:
    """Count bars missing between consecutive (sorted, unique, on-grid) bars."""
    ms = np.unique(_time_ms(pd.DatetimeIndex(index).dropna()))
    if len(ms) < 2:
        return GapSummary()
    missing = np.diff(ms) // grid_ms - 1
    holes = missing > 0
    if not holes.any():
        return GapSummary()
    at = int(np.argmax(missing))
    return GapSummary(
        missing_bars=int(missing[holes].sum()),
        gaps=int(holes.sum()),
        largest_gap_bars=int(missing[at]),
        largest_gap_after=pd.Timestamp(int(ms[at]), unit="ms", tz="UTC"),
    )


def _repair(df: pd.DataFrame, grid_ms: int) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """Drop unparseable/NaN and off-grid rows, sort, drop duplicates (keep the last); say what
    was done. Also returns the input positions of the rows kept (to keep naming them)."""
    done: list[str] = []
    pos = np.arange(len(df))
    bad = ~np.isfinite(df.to_numpy(dtype="float64")).all(axis=1) | np.asarray(df.index.isna())
    if bad.any():
        done.append(
            f"dropped {int(bad.sum())} rows with NaN/inf or non-numeric values or no timestamp"
        )
        df, pos = df[~bad], pos[~bad]
    off = _time_ms(pd.DatetimeIndex(df.index)) % grid_ms != 0
    if off.any():
        done.append(f"dropped {int(off.sum())} off-grid rows")
        df, pos = df[~off], pos[~off]
    if not df.index.is_monotonic_increasing:
        done.append("sorted rows by time")
        order = np.argsort(_time_ms(pd.DatetimeIndex(df.index)), kind="stable")
        df, pos = df.iloc[order], pos[order]
    dup = df.index.duplicated(keep="last")
    if dup.any():
        keys = df.index[dup]
        differing = int(
            (df[dup].groupby(level=0).first() != df[~dup].loc[keys.unique()]).any(axis=1).sum()
        )
        done.append(
            f"dropped {int(dup.sum())} duplicate-timestamp rows "
            f"({differing} timestamps had differing values; kept the last occurrence)"
        )
        df, pos = df[~dup], pos[~dup]
    return df, done, pos


def _validate(
    df: pd.DataFrame,
    columns: tuple[str, ...],
    grid_ms: int,
    *,
    repair: bool,
    label: str,
    ohlc_rules: bool,
    gaps: bool,
) -> tuple[pd.DataFrame, ValidationReport]:
    try:
        frame = to_frame(df, columns)
    except DataValidationError as err:
        raise DataValidationError(label, err.problems) from None
    names = row_names(df, columns)
    report = ValidationReport(rows_in=len(frame), rows_out=len(frame))
    report.problems = find_problems(frame, grid_ms, ohlc_rules=ohlc_rules, names=names)
    if report.problems and repair:
        frame, report.repairs, kept = _repair(frame, grid_ms)
        remaining = find_problems(frame, grid_ms, ohlc_rules=ohlc_rules, names=names.take(kept))
        if remaining:
            raise DataValidationError(f"{label} (after repair)".lstrip(), remaining)
    elif report.problems:
        raise DataValidationError(label, report.problems)
    report.rows_out = len(frame)
    if gaps:
        report.gaps = find_gaps(pd.DatetimeIndex(frame.index), grid_ms)
    return frame, report


def validate_ohlcv(
    df: pd.DataFrame, timeframe: str, *, repair: bool = False, label: str = ""
) -> tuple[pd.DataFrame, ValidationReport]:
    """Return the canonical, validated frame and its report; raise DataValidationError if bad.

    ``repair=True`` drops NaN/off-grid/duplicate rows and sorts (all listed in
    ``report.repairs``); inconsistent OHLC, non-positive prices and negative volume are never
    "repaired" because no rule can know the true value.
    """
    return _validate(
        df,
        OHLCV_COLUMNS,
        timeframe_ms(timeframe),
        repair=repair,
        label=label,
        ohlc_rules=True,
        gaps=True,
    )


def validate_funding(
    df: pd.DataFrame, *, repair: bool = False, label: str = ""
) -> tuple[pd.DataFrame, ValidationReport]:
    """Funding prints: finite rates, unique sorted timestamps on the hour grid (no gap rule)."""
    return _validate(
        df,
        FUNDING_COLUMNS,
        FUNDING_GRID_MS,
        repair=repair,
        label=label,
        ohlc_rules=False,
        gaps=False,
    )
