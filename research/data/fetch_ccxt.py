"""Candles and funding from CCXT exchanges (binanceusdm, bybit, okx), paged and deduplicated.

Why one class for three venues: ccxt already unifies the replies; what differs is the page
size each venue allows, which is kept in one table here. Every call goes through the one
retry policy. Public market data needs no API key.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from research.data.retry import call_with_retry
from research.data.timeframes import timeframe_ms
from research.data.validation import FUNDING_GRID_MS, frame_from_rows

SUPPORTED = ("binanceusdm", "bybit", "okx")
OHLCV_PAGE = {"binanceusdm": 1000, "bybit": 1000, "okx": 100}  # ccxt caps binance at 1000
FUNDING_PAGE = {"binanceusdm": 1000, "bybit": 200, "okx": 100}
# OKX pages by time windows (before/after) and answers the newest rows of a window: funding
# asks for a window of one page of 8-hourly prints, and an empty window (before listing, or a
# gap) moves on to the next one instead of ending the download
WINDOWED = {"okx": 8 * 3_600_000}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def make_exchange(exchange_id: str, *, sandbox: bool = False) -> Any:
    """A ccxt exchange for public data (no credentials); ``sandbox`` selects its testnet."""
    if exchange_id not in SUPPORTED:
        raise ValueError(f"unsupported exchange {exchange_id!r}; expected one of {SUPPORTED}")
    import ccxt

    exchange = getattr(ccxt, exchange_id)({"enableRateLimit": True, "timeout": 15_000})
    if sandbox:
        try:
            exchange.set_sandbox_mode(True)
        except ccxt.NotSupported as err:
            raise ValueError(f"{exchange_id} has no sandbox/testnet in ccxt: {err}") from None
    return exchange


def point_at(exchange: Any, base_url: str) -> None:
    """Send every API call of ``exchange`` to ``base_url`` (a loopback test server), keeping
    each URL's path (``https://fapi.binance.com/fapi/v1`` -> ``{base_url}/fapi/v1``)."""
    host = re.compile(r"^https?://[^/]+")

    def rewrite(urls: Any) -> Any:
        if isinstance(urls, str):
            return host.sub(base_url.rstrip("/"), urls)
        if isinstance(urls, dict):
            return {k: rewrite(v) for k, v in urls.items()}
        return urls

    exchange.urls["api"] = rewrite(exchange.urls["api"])


class CcxtFetcher:
    """Pages ``fetch_ohlcv`` / ``fetch_funding_rate_history`` into the store's frame shapes."""

    def __init__(
        self,
        exchange: Any,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock_ms: Callable[[], int] = _now_ms,
    ) -> None:
        self.exchange = exchange
        self.id = str(exchange.id)
        self._sleep = sleep
        self._clock_ms = clock_ms
        self._markets_loaded = False

    def _call(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return call_with_retry(f"{self.id} {name}", fn, *args, sleep=self._sleep, **kwargs)

    def market_symbol(self, symbol: str) -> str:
        """Unified ccxt symbol for ``BTC/USDT:USDT``, an exchange id like ``BTCUSDT`` or a bare
        coin ``BTC`` (its linear USDT perpetual); perpetual swaps preferred."""
        if not self._markets_loaded:
            self._call("load_markets", self.exchange.load_markets)
            self._markets_loaded = True
        markets = self.exchange.markets
        if symbol in markets:
            return symbol
        wanted = symbol.replace("-", "").replace("/", "").upper()
        candidates = [
            m
            for m in markets.values()
            if wanted
            in (
                str(m.get("id", "")).replace("-", "").upper(),
                f"{m.get('base')}{m.get('quote')}".upper(),
            )
        ]
        candidates.sort(key=lambda m: (not m.get("swap"), not m.get("linear")))
        if not candidates and f"{wanted}/USDT:USDT" in markets:  # a bare coin: its USDT perp
            return f"{wanted}/USDT:USDT"
        if not candidates:
            raise ValueError(f"unknown {self.id} symbol {symbol!r}")
        return str(candidates[0]["symbol"])

    def candles(self, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> pd.DataFrame:
        """Closed candles with ``start_ms <= open time < end_ms``, paged ``since``/``limit``
        until the range is covered or the venue has nothing newer."""
        step = timeframe_ms(timeframe)
        unified = self.market_symbol(symbol)
        limit = OHLCV_PAGE.get(self.id, 500)
        end_ms = min(end_ms, self._clock_ms())
        rows: dict[int, list[float]] = {}
        since = start_ms
        while since < end_ms:
            page = self._call(
                f"fetch_ohlcv({unified},{timeframe})",
                self.exchange.fetch_ohlcv,
                unified,
                timeframe,
                since=since,
                limit=limit,
            )
            newest = None
            for row in page or []:
                t = int(row[0])
                if start_ms <= t < end_ms:
                    rows[t] = [float(v) if v is not None else np.nan for v in row[1:6]]
                newest = t if newest is None else max(newest, t)
            if newest is None and self.id in WINDOWED:
                since += limit * step  # an empty window of ``limit`` bars: the next one
                continue
            if newest is None or newest + step <= since:
                break  # nothing (newer) from here on
            since = newest + step
        now = self._clock_ms()
        keep = sorted(t for t in rows if t + step <= now)
        return frame_from_rows(
            keep, [rows[t] for t in keep], ("open", "high", "low", "close", "volume")
        )

    def funding(self, symbol: str, start_ms: int, end_ms: int) -> pd.DataFrame:
        """Funding prints in ``[start_ms, end_ms)``, times floored to the hour."""
        unified = self.market_symbol(symbol)
        limit = FUNDING_PAGE.get(self.id, 100)
        rates: dict[int, float] = {}
        since = start_ms
        window = WINDOWED.get(self.id)
        while since < end_ms:
            page = self._call(
                f"fetch_funding_rate_history({unified})",
                self.exchange.fetch_funding_rate_history,
                unified,
                since=since,
                limit=limit,
                params={"after": since + limit * window} if window else {},
            )
            times = [int(r["timestamp"]) for r in page or [] if r.get("timestamp") is not None]
            for r in page or []:
                t = r.get("timestamp")
                if t is not None and start_ms <= int(t) < end_ms:
                    rates[int(t) - int(t) % FUNDING_GRID_MS] = float(r["fundingRate"])
            if not times and window:
                since += limit * window
                continue
            if not times or max(times) + 1 <= since:
                break
            since = max(times) + 1
        keep = sorted(rates)
        return frame_from_rows(keep, [[rates[t]] for t in keep], ("funding_rate",))
