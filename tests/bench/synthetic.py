"""Benchmark data: the seed-42 driftless random walk of docs/smc.md §8, generated once per run.

1-minute bars, σ 0.1 %/bar log returns, open = previous close, wicks widened by |N(0, 0.05 %)|,
lognormal volume. Saved as .npz with its sha256 so every subprocess reads the same bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

START_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def random_walk(
    n: int, seed: int = 42, sigma: float = 1e-3, wick: float = 5e-4
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, sigma, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    hi = np.maximum(open_, close) * (1 + np.abs(rng.normal(0.0, wick, n)))
    lo = np.minimum(open_, close) * (1 - np.abs(rng.normal(0.0, wick, n)))
    vol = rng.lognormal(3.0, 1.0, n)
    t = START_MS + 60_000 * np.arange(n, dtype=np.int64)
    return {"timestamp": t, "open": open_, "high": hi, "low": lo, "close": close, "volume": vol}


def save(path: Path, n: int) -> str:
    """Write the walk to ``path`` (.npz); returns its sha256."""
    np.savez(path, **random_walk(n))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_frame(path: Path, n: int | None = None) -> pd.DataFrame:
    """The saved walk (first ``n`` bars) as an OHLCV frame with a UTC DatetimeIndex."""
    z = np.load(path)
    k = len(z["close"]) if n is None else n
    idx = pd.DatetimeIndex(pd.to_datetime(z["timestamp"][:k], unit="ms", utc=True), name="time")
    return pd.DataFrame(
        {c: z[c][:k] for c in ("open", "high", "low", "close", "volume")}, index=idx
    )
