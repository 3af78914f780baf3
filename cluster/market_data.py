"""Find the candles a command asked for: an explicit file, the parquet store, or shipped data.

Order: ``--data PATH`` (checked by `research.data.user_file.load_user_bars`) → the store
(``FRACTAL_DATA_DIR/store``) → the matching shipped file under ``shared/data/market``
(imported into the store first, with its funding file, so the next run reads parquet; the
frame says so). Every miss names what was looked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cluster.settings import Settings
from research.data.csv_files import FUNDING, parse_csv_name
from research.data.importer import import_file
from research.data.store import MarketStore
from research.data.symbols import canonical_symbol, canonical_venue
from research.data.user_file import load_user_bars
from research.data.validation import GapSummary

DEFAULT_VENUE = "hyperliquid"
DEFAULT_TIMEFRAME = "15m"


@dataclass(frozen=True)
class MarketFrame:
    """Candles plus what they are, where they came from (shown to the user) and funding."""

    candles: pd.DataFrame
    source: str
    venue: str | None
    symbol: str | None
    timeframe: str
    funding: pd.DataFrame | None = None
    gaps: GapSummary | None = None  # reported for user files (the store lists its own)
    imported: list[Path] = field(default_factory=list)  # shipped files imported just now

    @property
    def label(self) -> str:
        """``venue/SYMBOL/tf``, or the file name when a user file does not say its market."""
        if self.symbol is None:
            return f"{self.source.removeprefix('file ')} {self.timeframe}"
        return f"{self.venue or 'file'}/{self.symbol}/{self.timeframe}"


def shipped_files(settings: Settings, venue: str, symbol: str, timeframe: str) -> list[Path]:
    """Shipped CSVs for one dataset (several folders may hold different periods)."""
    v, sym = canonical_venue(venue), canonical_symbol(venue, symbol)
    found = []
    for path in sorted(settings.market_data_dir.glob(f"*/{v}_*_{timeframe}.csv.gz")):
        try:
            name = parse_csv_name(path)
        except ValueError:
            continue
        if name.venue == v and name.symbol == sym and name.timeframe == timeframe:
            found.append(path)
    return found


def load_market_frame(
    settings: Settings,
    venue: str | None,
    symbol: str | None,
    timeframe: str | None,
    data_path: Path | None = None,
    with_funding: bool = False,
) -> MarketFrame:
    """Resolve and load candles (and optionally funding).

    ``venue``/``symbol``/``timeframe`` are what the user said (None = not said). With
    ``data_path`` the file's name and bar spacing decide, and a contradiction is a ValueError;
    otherwise the defaults (hyperliquid, settings' DEFAULT_SYMBOL, 15m) fill the gaps.
    FileNotFoundError when no data exists.
    """
    if data_path is not None:
        ub = load_user_bars(
            data_path, timeframe=timeframe, symbol=symbol, venue=venue, with_funding=with_funding
        )
        return MarketFrame(
            ub.candles, ub.source, ub.venue, ub.symbol, ub.timeframe, ub.funding, ub.gaps
        )
    venue = venue or DEFAULT_VENUE
    symbol = symbol or settings.default_symbol
    timeframe = timeframe or DEFAULT_TIMEFRAME
    store = MarketStore(settings.store_dir)
    imported: list[Path] = []
    if not store.exists(venue, symbol, timeframe):
        files = shipped_files(settings, venue, symbol, timeframe)
        if not files:
            raise FileNotFoundError(
                f"no data for {venue}/{symbol}/{timeframe}: not in the store "
                f"({settings.store_dir}) and no shipped file under {settings.market_data_dir}; "
                "use `fractal data import PATH` or `fractal data fetch`"
            )
        funding = shipped_files(settings, venue, symbol, FUNDING) if with_funding else []
        for path in [*files, *funding]:
            import_file(store, path)
            imported.append(path)
    funding_frame = None
    if with_funding and store.exists(venue, symbol, FUNDING):
        funding_frame = store.read_funding(venue, symbol)
    candles = store.read(venue, symbol, timeframe)
    v, sym = canonical_venue(venue), canonical_symbol(venue, symbol)
    return MarketFrame(
        candles,
        f"store {v}/{sym}/{timeframe}",
        v,
        sym,
        timeframe,
        funding_frame,
        imported=imported,
    )
