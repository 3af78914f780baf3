"""One sweep dataset as the compact arrays every task reads (put into Ray's object store once).

The arrays are exactly what ``run_backtest`` feeds the engine for the same candles, funding and
costs (``runner._inputs``), so a sweep row equals ``fractal backtest`` for that variant.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from research.backtest.bars import Bars
from research.backtest.config import BacktestConfig
from research.backtest.funding import FundingAlignment
from research.backtest.runner import _inputs
from strategies import metrics as m
from strategies.live import ohlc_frame
from strategies.smc.pipeline import bars_from_frame


@dataclass(frozen=True)
class Dataset:
    """Candles of one (symbol, timeframe) plus the engine inputs derived for a cost config."""

    symbol: str
    timeframe: str
    source: str
    digest: str  # content hash of the candles, funding rates used and timeframe
    candles_digest: str  # content hash of the candles alone (keys the detector cache)
    arrays: dict[str, Any]  # see build(); what tasks read
    funding_prints_used: int
    funding_missing_prints: int

    @property
    def label(self) -> str:
        return f"{self.symbol}/{self.timeframe}"

    @property
    def bars(self) -> int:
        return int(self.arrays["close"].shape[0])


def _digest(*parts: np.ndarray | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else np.ascontiguousarray(p).tobytes())
        h.update(b"|")
    return h.hexdigest()


def build(
    candles: pd.DataFrame,
    bars: Bars,
    funding: FundingAlignment | None,
    config: BacktestConfig,
    symbol: str,
    source: str,
    venue: str | None = None,
) -> Dataset:
    """The task inputs for these candles: OHLC, per-bar funding and slippage rows (as
    run_backtest computes them), the (n, 6) detector bar array, and the annualisation."""
    rates, slip_abs = _inputs(bars, config, funding)
    det_bars = bars_from_frame(ohlc_frame(candles))
    arrays: dict[str, Any] = {
        "open": bars.open,
        "high": bars.high,
        "low": bars.low,
        "close": bars.close,
        "ts": bars.ts,
        "rates": rates,
        "slip_abs": np.ascontiguousarray(slip_abs),
        "det_bars": det_bars,
        "ppy": m.periods_per_year(bars.timeframe),
        "timeframe": bars.timeframe,
        "venue": venue,  # with symbol: the venue's margin for this coin (BacktestConfig.for_market)
        "symbol": symbol,
    }
    margin = config.for_market(venue, symbol).costs.model_dump_json(include={"margin_tiers"})
    digest = _digest(det_bars, rates, bars.timeframe, margin)
    return Dataset(
        symbol=symbol,
        timeframe=bars.timeframe,
        source=source,
        digest=digest,
        candles_digest=_digest(det_bars),
        arrays=arrays,
        funding_prints_used=funding.prints_used if funding is not None else 0,
        funding_missing_prints=funding.missing_prints if funding is not None else 0,
    )
