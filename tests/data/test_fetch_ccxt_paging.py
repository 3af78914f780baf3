"""``research.data.fetch_ccxt`` paging against the loopback exchange servers (the venues' own
kline formats and limits): several pages, no gaps, no duplicates, and it stops at the end."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from actors.venues.loopback import LoopbackServer, run_loopback
from research.data.fetch_ccxt import (
    FUNDING_PAGE,
    OHLCV_PAGE,
    CcxtFetcher,
    make_exchange,
    point_at,
)
from tests.conftest import MARKET

STEP = 300_000
KLINE_PATHS = {"binanceusdm": "/fapi/v1/klines", "bybit": "/v5/market/kline",
               "okx": "/api/v5/market/history-candles"}  # fmt: skip
# where a kline page starts: Binance from startTime, Bybit from start, OKX for bars newer than
# `before`
PAGE_START = {"binanceusdm": lambda q: int(q["startTime"]), "bybit": lambda q: int(q["start"]),
              "okx": lambda q: int(q["before"]) + 1}  # fmt: skip


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
    point_at(exchange, srv.base_url)
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
    starts = [PAGE_START[server.exchange](q) for q in pages]
    assert starts == sorted(set(starts))  # each page asks for later bars than the last


def test_candles_from_the_middle_with_an_hourly_step(server: LoopbackServer) -> None:
    now = server.engine.now()
    start = now - 60 * 3_600_000 - 17  # off the grid: the bucket holding start is excluded
    frame = _fetcher(server).candles("BTC/USDT:USDT", "1h", start, now)
    times = (frame.index.asi8 // 1_000_000).tolist()
    assert times[0] == start + (-start) % 3_600_000
    assert all(b - a == 3_600_000 for a, b in zip(times, times[1:], strict=False))
    assert times[-1] + 3_600_000 <= now


FUNDING_PATHS = {
    "binanceusdm": "/fapi/v1/fundingRate",
    "bybit": "/v5/market/funding/history",
    "okx": "/api/v5/public/funding-rate-history",
}


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


def test_cli_fetch_stores_the_loopback_history(
    server: LoopbackServer, _isolated_data_dir: Path
) -> None:
    import pandas as pd
    from typer.testing import CliRunner

    from cluster.cli import app
    from research.data.store import MarketStore

    until = server.engine.now() // STEP * STEP - STEP  # the forming bar stays out
    since = until - 4 * 86_400_000
    iso = [pd.Timestamp(t, unit="ms", tz="UTC").isoformat() for t in (since, until)]
    args = ["data", "fetch", "--venue", server.exchange, "--symbols", "BTC", "--timeframe", "5m",
            "--since", iso[0], "--until", iso[1], "--base-url", server.base_url]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    store = MarketStore(_isolated_data_dir / "store")
    stored = store.read(server.exchange, "BTC", "5m")
    shipped = _shipped_5m("BTC")
    want = shipped[(shipped[:, 0] >= since) & (shipped[:, 0] < until)]
    assert (stored.index.asi8 // 1_000_000).tolist() == want[:, 0].astype(np.int64).tolist()
    np.testing.assert_allclose(stored["close"].to_numpy(), want[:, 4])
    assert len(store.read_funding(server.exchange, "BTC")) == 4 * 3  # 8-hourly prints


def test_candles_and_funding_from_before_the_listing_start_at_the_first_row(
    server: LoopbackServer,
) -> None:
    """A start long before the first bar: windowed venues (OKX) step over the empty windows
    instead of ending the download there."""
    shipped = _shipped_5m("BTC")
    first = int(shipped[0, 0])
    fetcher = _fetcher(server)
    frame = fetcher.candles("BTC/USDT:USDT", "5m", first - 20 * 86_400_000, first + 86_400_000)
    times = (frame.index.asi8 // 1_000_000).tolist()
    assert times == shipped[shipped[:, 0] < first + 86_400_000][:, 0].astype(np.int64).tolist()
    path = MARKET / "binance_usdm_2025" / "binanceusdm_BTCUSDT_funding.csv.gz"
    with gzip.open(path, "rt") as fh:
        prints = np.loadtxt(fh, delimiter=",", skiprows=1, ndmin=2)
    f0 = int(prints[0, 0])
    funding = fetcher.funding("BTC/USDT:USDT", f0 - 60 * 86_400_000, f0 + 86_400_000)
    assert (funding.index.asi8 // 1_000_000).tolist() == [f0 + i * 28_800_000 for i in range(3)]
