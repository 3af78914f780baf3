"""Benchmark data: real BTC/USDT hourly bars (Binance spot 2017-2024, shipped in
``../shared/data/market``) interpolated to 1-minute bars with a seeded Brownian bridge.

Why this series: SMC detection cost depends on how often swings, breaks, gaps and sweeps occur,
which a driftless random walk gets wrong; real hourly structure keeps the event mix of a real
market while giving the bar counts (1M+) no shipped file has. Each hour becomes 60 minutes:
the minute closes follow a Brownian bridge from the hour's open to its close, squeezed into the
hour's [low, high] range; the minute with the highest close gets the hour's high as its high and
the one with the lowest close the hour's low (so every hour re-aggregates to its own OHLC),
other wicks are small seeded noise clipped to the range; the hour's volume is split by seeded
weights. Timestamps are the hour's open + k minutes (real gaps between hours stay gaps).
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT.parent / "shared" / "data" / "market" / "binance_spot_btc_2017_2024"
HOURLY = SOURCE / "binance_BTCUSDT_1h.csv.gz"
MINUTES = 60


def hourly() -> pd.DataFrame:
    """The shipped hourly file as read (timestamp in ms, floats as stored)."""
    with gzip.open(HOURLY, "rt") as fh:
        return pd.read_csv(fh)


def minute_bars(n: int, seed: int = 42) -> dict[str, np.ndarray]:
    """The first ``n`` interpolated minute bars (needs ``n <= 60 x`` the hourly rows)."""
    h = hourly()
    hours = -(-n // MINUTES)
    if hours > len(h):
        raise ValueError(f"{n} minute bars need {hours} hours; the file has {len(h)}")
    h = h.iloc[:hours]
    o, hi, lo, c = (h[k].to_numpy(np.float64)[:, None] for k in ("open", "high", "low", "close"))
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 1.0, (hours, MINUTES))
    walk = np.cumsum(steps, axis=1)
    frac = np.arange(1, MINUTES + 1, dtype=np.float64) / MINUTES
    bridge = walk - frac * walk[:, -1:]  # 0 at the hour's close
    line = o + (c - o) * frac
    scale = np.abs(hi - lo) / (np.abs(bridge).max(axis=1, keepdims=True) * 4.0 + 1e-12)
    close = np.clip(line + bridge * scale, lo, hi)
    close[:, -1] = c[:, 0]
    open_ = np.concatenate([o, close[:, :-1]], axis=1)
    span = hi - lo
    wick = np.abs(rng.normal(0.0, 0.05, (hours, MINUTES, 2))) * span[:, :, None] / 4.0
    high = np.minimum(np.maximum(open_, close) + wick[..., 0], hi)
    low = np.maximum(np.minimum(open_, close) - wick[..., 1], lo)
    rows = np.arange(hours)
    high[rows, np.argmax(close, axis=1)] = hi[:, 0]
    low[rows, np.argmin(close, axis=1)] = lo[:, 0]
    w = rng.gamma(2.0, 1.0, (hours, MINUTES))
    vol = h["volume"].to_numpy(np.float64)[:, None] * w / w.sum(axis=1, keepdims=True)
    t = h["timestamp"].to_numpy(np.int64)[:, None] + 60_000 * np.arange(MINUTES, dtype=np.int64)
    cols = {"timestamp": t, "open": open_, "high": high, "low": low, "close": close, "volume": vol}
    return {k: v.ravel()[:n] for k, v in cols.items()}


def save(path: Path, n: int, seed: int = 42) -> str:
    """Write the first ``n`` minute bars to ``path`` (.npz); returns its sha256."""
    np.savez(path, **minute_bars(n, seed))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_sha256() -> str:
    """sha256 of the shipped hourly file the series is built from."""
    return hashlib.sha256(HOURLY.read_bytes()).hexdigest()
