"""Find the candles a command asked for: an explicit file, the parquet store, or shipped data.

Order: ``--data PATH`` → the store (``FRACTAL_DATA_DIR/store``) → the matching shipped file
under ``shared/data/market`` (imported into the store first, with its funding file, so the
next run reads parquet). Every miss names what was looked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cluster.settings import Settings
from research.data.csv_files import FUNDING, load_csv, parse_csv_name
from research.data.importer import import_file
from research.data.store import MarketStore
from research.data.symbols import canonical_symbol, canonical_venue


@dataclass(frozen=True)
class MarketFrame:
    """Candles plus where they came from (shown to the user) and funding if known."""

    candles: pd.DataFrame
    source: str
    funding: pd.DataFrame | None = None


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
    venue: str,
    symbol: str,
    timeframe: str,
    data_path: Path | None = None,
    with_funding: bool = False,
) -> MarketFrame:
    """Resolve and load candles (and optionally funding); FileNotFoundError if none exist."""
    if data_path is not None:
        if not data_path.is_file():
            raise FileNotFoundError(f"--data file not found: {data_path}")
        return MarketFrame(load_csv(data_path, timeframe), f"file {data_path}")
    store = MarketStore(settings.store_dir)
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
    funding_frame = None
    if with_funding and store.exists(venue, symbol, FUNDING):
        funding_frame = store.read_funding(venue, symbol)
    candles = store.read(venue, symbol, timeframe)
    return MarketFrame(candles, f"store {venue}/{symbol}/{timeframe}", funding_frame)
