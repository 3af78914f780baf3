"""``research.data.fetch_ccxt`` paging against the loopback exchange servers (the venues' own
kline formats and limits): several pages, no gaps, no duplicates, and it stops at the end."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from actors.venues.loopback import LoopbackServer, run_loopback
from research.data.fetch_ccxt import FUNDING_PAGE, OHLCV_PAGE, CcxtFetcher, make_exchange
from tests.conftest import MARKET

STEP = 300_000
KLINE_PATHS = {"binanceusdm": "/fapi/v1/klines"}


def _shipped_5m(symbol: str) -> np.ndarray:
    path = MARKET / "binance_usdm_2025" / f"binanceusdm_{symbol}USDT_5m.csv.gz"
    with gzip.open(path, "rt") as fh:
        return np.loadtxt(fh, delimiter=",", skiprows=1, ndmin=2)


@pytest.fixture(params=sorted(KLINE_PATHS))
def server(request: pytest.FixtureRequest) -> Iterator[LoopbackServer]:
    with run_loopback(
        request.param, market_dir=MARKET, symbols=["BTC"], api_key="k", secret="s", password="p"
    ) as srv:
        yield srv


def _fetcher(srv: LoopbackServer) -> CcxtFetcher:
    exchange: Any = make_exchange(srv.exchange)

    def at(u: Any) -> Any:
        if isinstance(u, str):
            return re.sub(r"^https?://[^/]+", srv.base_url, u)
        return {k: at(v) for k, v in u.items()} if isinstance(u, dict) else u

    exchange.urls["api"] = at(exchange.urls["api"])
    exchange.enableRateLimit = False
    return CcxtFetcher(exchange, sleep=lambda s: None, clock_ms=srv.engine.now)


def test_candles_page_through_the_whole_history_once(server: LoopbackServer) -> None:
    shipped = _shipped_5m("BTC")
    now = server.engine.now()
    first = int(shipped[0, 0])
    want = shipped[(shipped[:, 0] + STEP <= now)]  # every bar closed at the server clock
    frame = _fetcher(server).candles("BTC/USDT:USDT", "5m", first, now + 10 * STEP)
    times = np.asarray(frame.index.asi8 // 1_000_000, dtype=np.int64)
    assert len(want) > 5 * OHLCV_PAGE[server.exchange]  # several pages are needed
    assert times.tolist() == want[:, 0].astype(np.int64).tolist()  # no gap, no duplicate, order
    np.testing.assert_allclose(frame["close"].to_numpy(), want[:, 4])
    pages = [q for m, p, q in server.requests if p == KLINE_PATHS[server.exchange]]
    full = -(-len(want) // OHLCV_PAGE[server.exchange])
    assert full <= len(pages) <= full + 1  # stops at the end (one short page at most)
    starts = [int(q["startTime"]) for q in pages]
    assert starts == sorted(set(starts))  # each page asks for later bars than the last


def test_candles_from_the_middle_with_an_hourly_step(server: LoopbackServer) -> None:
    now = server.engine.now()
    start = now - 60 * 3_600_000 - 17  # off the grid: the bucket holding start is excluded
    frame = _fetcher(server).candles("BTC/USDT:USDT", "1h", start, now)
    times = (frame.index.asi8 // 1_000_000).tolist()
    assert times[0] == start + (-start) % 3_600_000
    assert all(b - a == 3_600_000 for a, b in zip(times, times[1:], strict=False))
    assert times[-1] + 3_600_000 <= now


FUNDING_PATHS = {"binanceusdm": "/fapi/v1/fundingRate"}


def test_funding_pages_once_through_what_has_settled(server: LoopbackServer) -> None:
    path = MARKET / "binance_usdm_2025" / "binanceusdm_BTCUSDT_funding.csv.gz"
    with gzip.open(path, "rt") as fh:
        shipped = np.loadtxt(fh, delimiter=",", skiprows=1, ndmin=2)
    now = server.engine.now()
    want = shipped[shipped[:, 0] <= now]
    frame = _fetcher(server).funding("BTC/USDT:USDT", int(shipped[0, 0]), now + 1)
    times = (frame.index.asi8 // 1_000_000).tolist()
    assert times == want[:, 0].astype(np.int64).tolist()  # each print once, none from the future
    np.testing.assert_allclose(frame["funding_rate"].to_numpy(), want[:, 1])
    pages = [q for m, p, q in server.requests if p == FUNDING_PATHS[server.exchange]]
    assert len(want) > 0 and len(pages) >= -(-len(want) // FUNDING_PAGE[server.exchange])
