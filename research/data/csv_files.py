"""Reading the shipped ``<venue>_<SYMBOL>_<tf>.csv.gz`` files (OHLCV and funding).

Why a module: other CLIs take ``--data PATH`` and need the same frame shape the store returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from research.data.symbols import canonical_symbol
from research.data.timeframes import TIMEFRAMES, timeframe_ms
from research.data.validation import (
    FUNDING_COLUMNS,
    OHLCV_COLUMNS,
    validate_funding,
    validate_ohlcv,
)

FUNDING = "funding"
_NAME = re.compile(
    r"^(?P<venue>[a-z0-9]+)_(?P<symbol>[A-Za-z0-9\-]+)_(?P<tf>[0-9]+[mhdw]|funding)\.csv(\.gz)?$"
)


@dataclass(frozen=True)
class CsvName:
    """What a file name says: venue, canonical symbol, and timeframe (or ``funding``)."""

    venue: str
    symbol: str
    timeframe: str
    raw_symbol: str

    @property
    def is_funding(self) -> bool:
        return self.timeframe == FUNDING


def parse_csv_name(path: str | Path) -> CsvName:
    """Parse ``<venue>_<SYMBOL>_<tf>.csv[.gz]``; ValueError naming the file otherwise."""
    name = Path(path).name
    m = _NAME.match(name)
    if m is None:
        raise ValueError(
            f"cannot parse {name!r}: expected <venue>_<SYMBOL>_<timeframe>.csv.gz "
            "(e.g. hyperliquid_BTCUSDC_15m.csv.gz)"
        )
    tf = m.group("tf")
    if tf != FUNDING and tf not in TIMEFRAMES:
        raise ValueError(f"{name!r}: unknown timeframe {tf!r}; expected one of {TIMEFRAMES}")
    venue = m.group("venue")
    return CsvName(venue, canonical_symbol(venue, m.group("symbol")), tf, m.group("symbol"))


def read_raw_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """Read a CSV unvalidated (the store validates it on write, naming the file).

    The rows are labelled by their line in the file (index named ``line``; the header is line
    1), so validation errors say "line 51: open 'world' not a number". Blank lines are dropped.
    """
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        raw = pd.read_csv(path, skip_blank_lines=False)
    except (OSError, ValueError, EOFError) as err:
        raise ValueError(f"cannot read {path}: {err}") from None
    raw.index = pd.RangeIndex(2, 2 + len(raw), name="line")
    raw = raw[raw.notna().any(axis=1)]
    wanted = ("timestamp", *columns)
    missing = [c for c in wanted if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; header is {list(raw)}")
    return raw


def load_csv(
    path: str | Path, timeframe: str | None = None, *, repair: bool = False
) -> pd.DataFrame:
    """Load one OHLCV CSV into the store's frame shape (UTC ``time`` index, float64 columns).

    The timeframe comes from ``timeframe``, else the shipped file name, else the most common
    bar step.
    The frame is validated exactly like a store write (gaps are allowed, never filled).
    """
    path = Path(path)
    if timeframe is None and path.name.split("_")[-1].startswith(FUNDING):
        raise ValueError(f"{path.name} is a funding file; use load_funding_csv")
    raw = read_raw_csv(path, OHLCV_COLUMNS)
    if timeframe is None:
        try:
            timeframe = parse_csv_name(path).timeframe
        except ValueError:
            timeframe = infer_timeframe(raw["timestamp"], path)
    frame, _ = validate_ohlcv(raw, timeframe, repair=repair, label=str(path))
    return frame


def infer_timeframe(timestamps: pd.Series, path: Path | str = "") -> str:
    """The known timeframe equal to the most common step between bars (for files not named
    like the shipped ones); ValueError when that step is not a known timeframe."""
    steps = pd.to_numeric(timestamps, errors="coerce").diff()
    steps = steps[steps > 0]
    if steps.empty:
        raise ValueError(f"{path}: cannot infer the timeframe from fewer than two bars; pass it")
    step = int(steps.mode().iloc[0])
    for tf in TIMEFRAMES:
        if timeframe_ms(tf) == step:
            return tf
    raise ValueError(f"{path}: bar step of {step} ms is not a known timeframe {TIMEFRAMES}")


def load_funding_csv(path: str | Path, *, repair: bool = False) -> pd.DataFrame:
    """Load a ``timestamp,funding_rate`` file (UTC ``time`` index, float64 ``funding_rate``)."""
    path = Path(path)
    frame, _ = validate_funding(read_raw_csv(path, FUNDING_COLUMNS), repair=repair, label=str(path))
    return frame
