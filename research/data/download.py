"""Incremental download into the store: only ranges not stored yet, validated like imports.

Why coalescing: a 1m history can have hundreds of small gaps (real outages the venue will
never fill); asking once per gap would cost hundreds of requests on every run, so nearby
missing ranges share one request window, and only rows that fall inside a missing range are
written (stored rows are never re-written or contradicted by a later download).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from research.data.store import MarketStore, WriteReport
from research.data.timeframes import timeframe_ms

Range = tuple[int, int]  # half-open [start_ms, end_ms)


class MarketDataSource(Protocol):
    """What a fetcher offers (HyperliquidFetcher, CcxtFetcher)."""

    def candles(self, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> pd.DataFrame: ...

    def funding(self, symbol: str, start_ms: int, end_ms: int) -> pd.DataFrame: ...


@dataclass
class DownloadResult:
    """Ranges requested, rows received, and the store's write report (None: nothing new)."""

    venue: str
    symbol: str
    timeframe: str
    requested: list[Range] = field(default_factory=list)
    rows_received: int = 0
    report: WriteReport | None = None


def to_ms(value: object) -> int:
    """Epoch ms from an int (already ms), date string, Timestamp or datetime (naive = UTC)."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.strip().lower() == "now":
        value = pd.Timestamp.now(tz="UTC")  # pd.Timestamp("now") would be local wall time
    try:
        ts = pd.Timestamp(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        raise ValueError(
            f"not a date: {value!r} (use e.g. 2025-01-01 or 2025-01-01T12:00)"
        ) from None
    if ts is pd.NaT:
        raise ValueError(f"not a date: {value!r}")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.as_unit("ns").value // 1_000_000)


def coalesce(ranges: list[Range], max_span_ms: int) -> list[Range]:
    """Merge consecutive ranges while one request window (``max_span_ms``) still covers them."""
    out: list[Range] = []
    for a, b in ranges:
        if out and b - out[-1][0] <= max_span_ms:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _inside(df: pd.DataFrame, ranges: list[tuple[pd.Timestamp, pd.Timestamp]]) -> pd.DataFrame:
    keep = np.zeros(len(df), dtype=bool)
    for a, b in ranges:
        keep |= (df.index >= a) & (df.index < b)
    return df[keep]


def download_candles(
    store: MarketStore,
    source: MarketDataSource,
    venue: str,
    symbol: str,
    timeframe: str,
    start: object,
    end: object,
    *,
    window_bars: int = 5000,
    on_request: Callable[[Range], None] | None = None,
) -> DownloadResult:
    """Fetch the candles of ``[start, end)`` that the store lacks and append them."""
    result = DownloadResult(venue, symbol, timeframe)
    missing = store.missing_ranges(venue, symbol, timeframe, start, end)
    spans = [(to_ms(a), to_ms(b)) for a, b in missing]
    frames = []
    for a, b in coalesce(spans, window_bars * timeframe_ms(timeframe)):
        result.requested.append((a, b))
        df = source.candles(symbol, timeframe, a, b)
        frames.append(_inside(df, missing))
        if on_request is not None:
            on_request((a, b))
    new = pd.concat(frames) if frames else pd.DataFrame()
    result.rows_received = len(new)
    if len(new):
        result.report = store.append(venue, symbol, timeframe, new)
    return result


def download_funding(
    store: MarketStore,
    source: MarketDataSource,
    venue: str,
    symbol: str,
    start: object,
    end: object,
) -> DownloadResult:
    """Fetch funding before the first / after the last stored print within ``[start, end)``.

    Funding intervals vary (1 h, 8 h), so there is no grid to find holes in; the stored span
    is taken as complete.
    """
    result = DownloadResult(venue, symbol, "funding")
    lo, hi = to_ms(start), to_ms(end)
    spans: list[Range] = [(lo, hi)]
    if store.exists(venue, symbol, "funding"):
        stored = store.read_funding(venue, symbol)
        if len(stored):
            first, last = to_ms(stored.index[0]), to_ms(stored.index[-1])
            spans = [(lo, min(hi, first)), (max(lo, last + 1), hi)]
    frames = []
    for a, b in spans:
        if a < b:
            result.requested.append((a, b))
            frames.append(source.funding(symbol, a, b))
    new = pd.concat(frames) if frames else pd.DataFrame()
    result.rows_received = len(new)
    if len(new):
        result.report = store.write_funding(venue, symbol, new)
    return result
