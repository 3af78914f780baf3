"""Small helpers shared by the SMC tests: real-data loading and hand-made bar arrays."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from strategies.smc import SMCStream, detect
from strategies.smc._common import CLOSE, HIGH, LOW, OPEN, TIME, VOLUME, as_bars
from tests.conftest import MARKET

BTC_5M = MARKET / "hyperliquid_perp_2025" / "hyperliquid_BTCUSDC_5m.csv.gz"
ETH_15M = MARKET / "hyperliquid_perp_2025" / "hyperliquid_ETHUSDC_15m.csv.gz"


@cache
def load_frame(path: Path = BTC_5M) -> pd.DataFrame:
    """A shipped CSV as an OHLCV frame with a UTC DatetimeIndex (read-only use)."""
    df = pd.read_csv(path)
    df.index = pd.DatetimeIndex(pd.to_datetime(df["timestamp"], unit="ms", utc=True), name="time")
    return df[["open", "high", "low", "close", "volume"]].astype("float64")


def frame_bars(df: pd.DataFrame) -> np.ndarray:
    """The (n, 6) bar array of a frame."""
    ts = df.index.as_unit("ms").asi8
    return as_bars(
        *(df[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")),
        ts.astype(np.float64),
    )


def frame_of(bars: np.ndarray) -> pd.DataFrame:
    """A ``(n, 6)`` bar array as the OHLCV frame ``detect`` and ``SMCStream`` take."""
    idx = pd.DatetimeIndex(pd.to_datetime(bars[:, TIME].astype(np.int64), unit="ms", utc=True))
    cols = {"open": OPEN, "high": HIGH, "low": LOW, "close": CLOSE, "volume": VOLUME}
    return pd.DataFrame({k: bars[:, j].copy() for k, j in cols.items()}, index=idx.rename("time"))


def stream_frame(df: pd.DataFrame, **params: object) -> pd.DataFrame:
    """``df`` fed bar by bar through ``SMCStream`` (the live path: one fused step per bar)."""
    s = SMCStream(**params)
    arr = df[["open", "high", "low", "close", "volume"]].to_numpy()
    times = df.index.as_unit("ms").asi8.astype(np.float64)
    for k in range(len(df)):
        assert s.update_arrays(times[k], *arr[k]) == k
    assert s.n == len(df)
    return s.frame()


def assert_stream_equals_batch(data: pd.DataFrame | np.ndarray, **params: object) -> None:
    """What runs live (``SMCStream``) gives every row and column of ``detect`` exactly."""
    df = frame_of(data) if isinstance(data, np.ndarray) else data
    got = stream_frame(df, **params)
    want = detect(df, **params)
    want.index = got.index  # detect keeps the input index (name, unit); values are equal
    assert (got.index == df.index).all()
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def make_bars(
    highs: list[float], lows: list[float], closes: list[float] | None = None
) -> np.ndarray:
    """Hand-made bars: opens = previous close (or mid), 15-minute clock from 2025-01-01."""
    n = len(highs)
    h = np.asarray(highs, dtype=np.float64)
    lo = np.asarray(lows, dtype=np.float64)
    c = np.asarray(closes, dtype=np.float64) if closes is not None else (h + lo) / 2
    o = np.concatenate([[c[0]], c[:-1]])
    o = np.clip(o, lo, h)
    t = 1_735_689_600_000 + 900_000 * np.arange(n, dtype=np.float64)
    return as_bars(o, h, lo, c, np.ones(n), t)
