"""Replayed market: prices, candles and funding of each coin as of the simulator's "now".

Pure logic over numpy arrays. Causal by construction: at time `now` only bars that have closed
(t + tf <= now) are visible; the open bucket of a candle query is built from those bars alone,
so the simulator never leaks future prices to its clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MINUTE = 60_000
INTERVAL_MS = {
    "1m": MINUTE,
    "3m": 3 * MINUTE,
    "5m": 5 * MINUTE,
    "15m": 15 * MINUTE,
    "30m": 30 * MINUTE,
    "1h": 60 * MINUTE,
    "2h": 120 * MINUTE,
    "4h": 240 * MINUTE,
    "8h": 480 * MINUTE,
    "12h": 720 * MINUTE,
    "1d": 1440 * MINUTE,
    "3d": 3 * 1440 * MINUTE,
    "1w": 7 * 1440 * MINUTE,
}
CANDLE_PAGE = 5000
MONDAY_OFFSET = 4 * 1440 * MINUTE  # the epoch was a Thursday; weeks start on Monday (unverified)


@dataclass
class Bars:
    """OHLCV columns; `t` is the bar open time in ms."""

    t: np.ndarray
    o: np.ndarray
    h: np.ndarray
    low: np.ndarray
    c: np.ndarray
    v: np.ndarray

    def __len__(self) -> int:
        return len(self.t)


@dataclass
class CoinData:
    coin: str
    bars: dict[str, Bars]
    funding_t: np.ndarray
    funding_rate: np.ndarray
    base: Bars = field(init=False)
    base_tf: np.ndarray = field(init=False)
    # close time of every base bar, computed once: every request advances the clock through
    # closed_bars() for each coin, and building this per call allocated the whole history
    base_end: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.base, self.base_tf = merge_finest(self.bars)
        self.base_end = self.base.t + self.base_tf


def merge_finest(bars: dict[str, Bars]) -> tuple[Bars, np.ndarray]:
    """One contiguous series using the finest timeframe available at each time."""
    ordered = sorted(bars.items(), key=lambda kv: INTERVAL_MS[kv[0]])
    parts: list[tuple[Bars, int]] = []
    cutoff = np.iinfo(np.int64).max
    for tf, b in ordered:
        ms = INTERVAL_MS[tf]
        keep = (b.t + ms) <= cutoff
        if keep.any():
            idx = np.nonzero(keep)[0]
            parts.append((_take(b, idx), ms))
            cutoff = min(cutoff, int(b.t[idx[0]]))
    parts.reverse()
    cols = [
        np.concatenate([getattr(p, k) for p, _ in parts]) for k in ("t", "o", "h", "low", "c", "v")
    ]
    tf_ms = np.concatenate([np.full(len(p), ms, np.int64) for p, ms in parts])
    return Bars(*cols), tf_ms


def _take(b: Bars, idx: np.ndarray) -> Bars:
    return Bars(b.t[idx], b.o[idx], b.h[idx], b.low[idx], b.c[idx], b.v[idx])


def bucket_start(t: np.ndarray, interval: str) -> np.ndarray:
    """Start of the candle bucket holding each time (calendar months for 1M)."""
    if interval == "1M":
        months = t.astype("datetime64[ms]").astype("datetime64[M]")
        return months.astype("datetime64[ms]").astype(np.int64)
    ms = INTERVAL_MS[interval]
    if interval == "1w":
        return ((t - MONDAY_OFFSET) // ms) * ms + MONDAY_OFFSET
    return (t // ms) * ms


def bucket_end(start: np.ndarray, interval: str) -> np.ndarray:
    """Exclusive end of each bucket."""
    if interval == "1M":
        months = start.astype("datetime64[ms]").astype("datetime64[M]") + np.timedelta64(1, "M")
        return months.astype("datetime64[ms]").astype(np.int64)
    return start + INTERVAL_MS[interval]


class Market:
    """All coins' replayed data plus the queries the venue answers from it."""

    def __init__(self, coins: dict[str, CoinData], candle_history_limit: int | None = CANDLE_PAGE):
        self.coins = coins
        self.candle_history_limit = candle_history_limit

    def first_time(self, coin: str) -> int:
        return int(self.coins[coin].base.t[0])

    def last_close_time(self, coin: str) -> int:
        d = self.coins[coin]
        return int(d.base.t[-1] + d.base_tf[-1])

    def price(self, coin: str, now: int) -> float:
        """Close of the last bar closed by `now` (the first open before any bar has closed)."""
        d = self.coins[coin]
        i = int(np.searchsorted(d.base_end, now, side="right")) - 1
        return float(d.base.o[0]) if i < 0 else float(d.base.c[i])

    def closed_bars(
        self, coin: str, after: int, upto: int
    ) -> list[tuple[int, float, float, float]]:
        """Bars whose close time lies in (after, upto]: (close_time, low, high, close)."""
        d = self.coins[coin]
        ends = d.base_end
        lo = int(np.searchsorted(ends, after, side="right"))
        hi = int(np.searchsorted(ends, upto, side="right"))
        return [
            (int(ends[i]), float(d.base.low[i]), float(d.base.h[i]), float(d.base.c[i]))
            for i in range(lo, hi)
        ]

    def next_bar_close(self, coin: str, now: int) -> int | None:
        d = self.coins[coin]
        ends = d.base_end
        i = int(np.searchsorted(ends, now, side="right"))
        return int(ends[i]) if i < len(ends) else None

    def candles(self, coin: str, interval: str, start: int, end: int, now: int) -> list[dict]:
        """candleSnapshot: oldest first, first = bucket containing startTime, at most 5000.

        Closed buckets come from the coarsest shipped timeframe that divides the interval (the
        venue's own bars when the interval is shipped); the open bucket from bars closed by now.
        """
        if interval != "1M" and interval not in INTERVAL_MS:
            raise ValueError(f"unknown candle interval {interval!r}")
        d = self.coins[coin]
        first_bucket = int(bucket_start(np.array([start], np.int64), interval)[0])
        end = min(end, now)
        open_start = int(bucket_start(np.array([now], np.int64), interval)[0])
        closed = np.zeros(0, np.int64)
        starts = np.zeros(0, np.int64)
        src = _source(d, interval)
        if src is not None:
            bars, ms = src
            closed = np.nonzero((bars.t + ms) <= now)[0]
            starts = bucket_start(bars.t[closed], interval)
        has_open = bool(len(starts)) and int(starts[-1]) >= open_start
        b, tf = d.base, d.base_tf
        live = np.zeros(0, np.int64)
        if not has_open:
            live = np.nonzero((b.t >= open_start) & ((b.t + tf) <= now))[0]
        lowest = first_bucket
        if self.candle_history_limit is not None:
            buckets = np.unique(starts)
            n_live = 1 if len(live) else 0
            keep = self.candle_history_limit - n_live
            if keep <= 0:
                lowest = max(lowest, open_start)
            elif len(buckets) > keep:
                lowest = max(lowest, int(buckets[-keep]))
        sel = (starts >= lowest) & (starts <= end)
        rows: list[dict] = []
        if src is not None and sel.any():
            idx = closed[sel]
            page_starts = starts[sel]
            uniq = np.unique(page_starts)
            if len(uniq) > CANDLE_PAGE:
                idx = idx[page_starts < uniq[CANDLE_PAGE]]
            rows = _aggregate(coin, interval, src[0], idx)
        if len(live) and lowest <= open_start <= end and len(rows) < CANDLE_PAGE:
            rows += _aggregate(coin, interval, b, live)
        return rows

    def funding_rate(self, coin: str, hour_ms: int) -> float:
        """Hourly rate settled at `hour_ms` (0 when the file has no print for it)."""
        d = self.coins[coin]
        i = int(np.searchsorted(d.funding_t, hour_ms))
        if i < len(d.funding_t) and int(d.funding_t[i]) == hour_ms:
            return float(d.funding_rate[i])
        return 0.0

    def funding_history(
        self, coin: str, start: int, end: int | None, now: int, limit: int = 500
    ) -> list[tuple[int, float]]:
        d = self.coins[coin]
        stop = now if end is None else min(end, now)
        lo = int(np.searchsorted(d.funding_t, start, side="left"))
        hi = int(np.searchsorted(d.funding_t, stop, side="right"))
        hi = min(hi, lo + limit)
        return [(int(d.funding_t[i]), float(d.funding_rate[i])) for i in range(lo, hi)]


def _source(d: CoinData, interval: str) -> tuple[Bars, int] | None:
    """Coarsest shipped timeframe whose bars tile the interval."""
    fits = [tf for tf in d.bars if interval == "1M" or INTERVAL_MS[interval] % INTERVAL_MS[tf] == 0]
    if not fits:
        return None
    tf = max(fits, key=lambda k: INTERVAL_MS[k])
    return d.bars[tf], INTERVAL_MS[tf]


def _aggregate(coin: str, interval: str, b: Bars, idx: np.ndarray) -> list[dict]:
    """OHLCV of each bucket touched by bars `idx` (sorted), vectorised with reduceat."""
    if len(idx) == 0:
        return []
    starts = bucket_start(b.t[idx], interval)
    uniq, first = np.unique(starts, return_index=True)
    last = np.append(first[1:], len(idx)) - 1
    ends = bucket_end(uniq, interval) - 1
    cols = zip(
        uniq.tolist(),
        ends.tolist(),
        b.o[idx[first]].tolist(),
        b.c[idx[last]].tolist(),
        np.maximum.reduceat(b.h[idx], first).tolist(),
        np.minimum.reduceat(b.low[idx], first).tolist(),
        np.add.reduceat(b.v[idx], first).tolist(),
        strict=True,
    )
    return [
        {"t": t, "T": e, "s": coin, "i": interval, "o": o, "c": c, "h": h, "l": low, "v": v, "n": 0}
        for t, e, o, c, h, low, v in cols
    ]
