"""Loading shipped candles and funding prints for the replay (the only file I/O of the market).

Why separate: market.py stays pure (arrays in, numbers out) and testable with synthetic bars.
Files: <market_dir>/hyperliquid_perp_2025/hyperliquid_<COIN>USDC_<tf>.csv.gz and ..._funding.csv.gz.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from actors.venues.simulator.market import Bars, CoinData

SOURCE_TIMEFRAMES = ("1m", "5m", "15m", "1h")
DATASET = "hyperliquid_perp_2025"


def _read_csv(path: Path) -> np.ndarray:
    with gzip.open(path, "rt") as fh:
        header = fh.readline().strip().split(",")
        arr = np.loadtxt(fh, delimiter=",", ndmin=2)
    if arr.size == 0:
        raise ValueError(f"{path} has no rows")
    if header[0] != "timestamp":
        raise ValueError(f"{path}: first column must be 'timestamp', got {header[0]!r}")
    return arr


def available_coins(market_dir: Path) -> list[str]:
    folder = market_dir / DATASET
    names = sorted(p.name for p in folder.glob("hyperliquid_*USDC_1h.csv.gz"))
    return [n.removeprefix("hyperliquid_").removesuffix("USDC_1h.csv.gz") for n in names]


def load_coin(market_dir: Path, coin: str) -> CoinData:
    """Read every shipped timeframe and the funding file of one coin."""
    folder = market_dir / DATASET
    bars: dict[str, Bars] = {}
    for tf in SOURCE_TIMEFRAMES:
        path = folder / f"hyperliquid_{coin}USDC_{tf}.csv.gz"
        if path.exists():
            a = _read_csv(path)
            bars[tf] = Bars(
                t=a[:, 0].astype(np.int64),
                o=a[:, 1],
                h=a[:, 2],
                low=a[:, 3],
                c=a[:, 4],
                v=a[:, 5],
            )
    if not bars:
        have = ", ".join(available_coins(market_dir)) or "none"
        raise ValueError(
            f"no shipped market data for coin {coin!r} in {folder} (available: {have})"
        )
    fpath = folder / f"hyperliquid_{coin}USDC_funding.csv.gz"
    if fpath.exists():
        f = _read_csv(fpath)
        funding_t, funding_r = f[:, 0].astype(np.int64), f[:, 1]
    else:
        funding_t, funding_r = np.zeros(0, np.int64), np.zeros(0)
    return CoinData(coin=coin, bars=bars, funding_t=funding_t, funding_rate=funding_r)
