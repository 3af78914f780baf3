"""Candles from a file the user names (``--data FILE``), checked like ``fractal data import``.

Why one loader: every command that takes ``--data`` (``fractal smc``, ``fractal backtest``, a
future ``fractal sweep``) must agree on what the file *is*. A wrong timeframe silently changes
annualised metrics (CAGR, Sharpe) and a wrong symbol mislabels a report, so:

* the symbol, venue and timeframe come from a shipped-style name
  (``<venue>_<SYMBOL>_<tf>.csv[.gz]``) when the file has one; a caller's explicit value that
  contradicts the name is refused;
* the bar spacing in the file (its most common step) must equal the timeframe, whoever said it;
* rows are validated exactly like an import (a bad row is named by its line), a shipped file
  must match its manifest's sha256, and gaps are reported, never filled;
* the funding file shipped beside it (``<venue>_<SYMBOL>_funding.csv.gz``) is loaded on request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from research.data.csv_files import (
    CsvName,
    infer_timeframe,
    load_funding_csv,
    parse_csv_name,
    read_raw_csv,
)
from research.data.importer import check_against_manifest
from research.data.symbols import canonical_symbol
from research.data.timeframes import timeframe_ms
from research.data.validation import OHLCV_COLUMNS, GapSummary, validate_ohlcv


class UserFileError(ValueError):
    """The file cannot be used as given; the message names the file and the problem."""


@dataclass(frozen=True)
class UserBars:
    """Validated candles from a user file and what is known about them."""

    path: Path
    candles: pd.DataFrame  # UTC ``time`` index, float64 OHLCV (the store's shape)
    timeframe: str
    symbol: str | None  # canonical symbol; None when neither the name nor the caller says it
    venue: str | None
    gaps: GapSummary
    funding: pd.DataFrame | None = None
    funding_path: Path | None = None

    @property
    def source(self) -> str:
        return f"file {self.path}"

    @property
    def label(self) -> str:
        """``venue/SYMBOL/tf`` when known, else the file name with the timeframe."""
        if self.symbol is None:
            return f"{self.path.name} {self.timeframe}"
        return f"{self.venue or 'file'}/{self.symbol}/{self.timeframe}"


def _name_of(path: Path) -> CsvName | None:
    try:
        name = parse_csv_name(path)
    except ValueError:
        return None
    if name.is_funding:
        raise UserFileError(f"{path} is a funding file; give the candle file")
    return name


def funding_beside(path: Path, name: CsvName | None) -> Path | None:
    """The shipped ``<venue>_<SYMBOL>_funding.csv.gz`` next to a named candle file, if any."""
    if name is None:
        return None
    for suffix in (".csv.gz", ".csv"):
        cand = path.with_name(f"{name.venue}_{name.raw_symbol}_funding{suffix}")
        if cand.is_file():
            return cand
    return None


def load_user_bars(
    path: str | Path,
    *,
    timeframe: str | None = None,
    symbol: str | None = None,
    venue: str | None = None,
    with_funding: bool = False,
) -> UserBars:
    """Load and check a user's candle file (see the module docstring for the rules).

    ``timeframe``/``symbol``/``venue`` are what the caller was told explicitly (None = not
    given). FileNotFoundError when the file is missing; UserFileError (a ValueError) for a
    contradiction; DataValidationError (a ValueError naming the line) for bad rows.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--data file not found: {path}")
    name = _name_of(path)
    said: str | None
    if name is not None:
        if venue is not None and venue.strip().lower() != name.venue:
            raise UserFileError(f"--venue {venue} contradicts the file name {path.name}")
        if symbol is not None and canonical_symbol(name.venue, symbol) != name.symbol:
            raise UserFileError(
                f"symbol {symbol} contradicts the file name {path.name} ({name.symbol})"
            )
        if timeframe is not None and timeframe != name.timeframe:
            raise UserFileError(
                f"--timeframe {timeframe} contradicts the file name {path.name} "
                f"({name.timeframe})"
            )
        venue, symbol, said, who = name.venue, name.symbol, name.timeframe, "its name says"
    else:
        said, who = timeframe, "--timeframe says"
        if symbol is not None and venue is not None:
            symbol = canonical_symbol(venue, symbol)
    if said is not None:
        timeframe_ms(said)  # a clear error for an unknown timeframe before reading anything
    check_against_manifest(path)  # a shipped file must be the published one, as on import
    raw = read_raw_csv(path, OHLCV_COLUMNS)
    spacing = _spacing(raw, path)
    if said is None:
        if spacing is None:
            raise UserFileError(f"{path}: fewer than two bars; cannot tell the timeframe")
        said = spacing
    elif spacing is not None and spacing != said:
        raise UserFileError(
            f"{path}: bars are {spacing} apart (the most common step) but {who} {said}; "
            "refusing to annualise or chart them as the wrong timeframe"
        )
    candles, report = validate_ohlcv(raw, said, label=str(path))
    funding = fpath = None
    if with_funding:
        fpath = funding_beside(path, name)
        if fpath is not None:
            funding = load_funding_csv(fpath)
    return UserBars(path, candles, said, symbol, venue, report.gaps, funding, fpath)


def _spacing(raw: pd.DataFrame, path: Path) -> str | None:
    """The timeframe of the most common step between bars; None with fewer than two bars."""
    steps = pd.to_numeric(raw["timestamp"], errors="coerce").diff()
    if not (steps > 0).any():
        return None
    try:
        return infer_timeframe(raw["timestamp"], path)
    except ValueError as err:
        raise UserFileError(str(err)) from None
