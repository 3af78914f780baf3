"""The loopback's markets: real replayed prices from the shipped Binance USDⓈ-M files and the
venue's published contract rules (tick, lot step, minimum quantity, leverage cap).

Why Binance's files for every dialect: they are the only shipped USDT-perp prices; Bybit and OKX
list the same contracts with nearly the same rules, and the loopback tests the *protocol*
(formats, paging, errors), not the venue's price history. The notional floor is 5 USDT for every
market here (Binance's own floor for BTCUSDT is 100): the conformance suite trades 0.001 BTC;
the adapter reads whatever floor the loaded markets carry, so a real venue's floor is enforced
(tests/venues/test_ccxt_rules.py checks a 100 USDT floor on the loopback).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

BASE_STEP_MS = 300_000  # the replay's base series: 5m bars (1m files do not overlap them in 2025)
DATASET = "binance_usdm_2025"


@dataclass(frozen=True)
class Rules:
    """One contract's trading rules (strings, as venues publish them)."""

    tick: str
    step: str
    min_qty: str
    max_leverage: int
    okx_ct_val: str  # OKX contract size in base units (orders are in contracts there)


RULES: dict[str, Rules] = {  # Binance USDⓈ-M exchangeInfo filters and OKX ctVal, 2025
    "BTC": Rules("0.10", "0.001", "0.001", 125, "0.01"),
    "ETH": Rules("0.01", "0.001", "0.001", 100, "0.1"),
    "BNB": Rules("0.010", "0.01", "0.01", 75, "0.01"),
    "SOL": Rules("0.0100", "0.01", "0.01", 100, "1"),
    "XRP": Rules("0.0001", "0.1", "0.1", 75, "100"),
}


@dataclass
class Series:
    """5m bars of one symbol: open times and OHLCV columns (float64)."""

    t: np.ndarray
    o: np.ndarray
    h: np.ndarray
    low: np.ndarray
    c: np.ndarray
    v: np.ndarray


@dataclass
class Market:
    symbol: str  # "BTC"
    rules: Rules
    bars: Series
    funding: np.ndarray | None = None  # (time ms, rate) rows of the shipped funding file
    min_notional: Decimal = Decimal("5")

    @property
    def tick(self) -> Decimal:
        return Decimal(self.rules.tick)

    @property
    def step(self) -> Decimal:
        return Decimal(self.rules.step)


def _read(path: Path) -> Series:
    with gzip.open(path, "rt") as fh:
        a = np.loadtxt(fh, delimiter=",", skiprows=1, ndmin=2)
    return Series(a[:, 0].astype(np.int64), a[:, 1], a[:, 2], a[:, 3], a[:, 4], a[:, 5])


def available(market_dir: Path) -> list[str]:
    """Symbols with shipped 5m bars and known rules, in RULES order."""
    folder = Path(market_dir) / DATASET
    return [s for s in RULES if (folder / f"binanceusdm_{s}USDT_5m.csv.gz").exists()]


def load_markets(market_dir: Path, symbols: list[str]) -> dict[str, Market]:
    """The markets for ``symbols`` (ValueError naming an unknown or unshipped symbol)."""
    out = {}
    for s in symbols:
        if s not in RULES:
            raise ValueError(f"loopback has no rules for {s!r}; known: {', '.join(RULES)}")
        path = Path(market_dir) / DATASET / f"binanceusdm_{s}USDT_5m.csv.gz"
        if not path.exists():
            raise ValueError(f"no shipped 5m bars for {s!r} at {path}")
        fpath = path.with_name(f"binanceusdm_{s}USDT_funding.csv.gz")
        funding = None
        if fpath.exists():
            with gzip.open(fpath, "rt") as fh:
                funding = np.loadtxt(fh, delimiter=",", skiprows=1, ndmin=2)
        out[s] = Market(s, RULES[s], _read(path), funding)
    return out
