"""ccxt fetcher against a loopback Binance USD-M server (ccxt's own URL building, real bars)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest

from research.data.download import download_candles
from research.data.fetch_ccxt import CcxtFetcher, make_exchange
from research.data.retry import FetchError
from research.data.store import MarketStore
from tests.conftest import MARKET
from tests.data.loopback import LoopbackServer, Reply, Request

REL_5M = "binance_usdm_2025/binanceusdm_BTCUSDT_5m.csv.gz"
REL_FUNDING = "binance_usdm_2025/binanceusdm_BTCUSDT_funding.csv.gz"
STEP = 300_000

# Trimmed to what ccxt's binance market parser reads (the real reply has many more fields).
EXCHANGE_INFO = {
    "timezone": "UTC",
    "serverTime": 1741000000000,
    "rateLimits": [],
    "exchangeFilters": [],
    "assets": [],
    "symbols": [
        {
            "symbol": "BTCUSDT",
            "pair": "BTCUSDT",
            "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000,
            "onboardDate": 1569398400000,
            "status": "TRADING",
            "baseAsset": "BTC",
            "quoteAsset": "USDT",
            "marginAsset": "USDT",
            "pricePrecision": 2,
            "quantityPrecision": 3,
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": "556.80",
                    "maxPrice": "4529764",
                    "tickSize": "0.10",
                },
                {
                    "filterType": "LOT_SIZE",
                    "stepSize": "0.001",
                    "maxQty": "1000",
                    "minQty": "0.001",
                },
            ],
            "orderTypes": ["LIMIT", "MARKET"],
            "timeInForce": ["GTC"],
        }
    ],
}


@dataclass
class FakeBinance:
    """GET klines / fundingRate with Binance's startTime/endTime/limit semantics."""

    bars: pd.DataFrame
    funding: pd.DataFrame
    funding_cap: int = 1000
    overlap: int = 0  # serve this many bars before startTime too (dedupe test)
    failures: list[Reply] = field(default_factory=list)

    def klines(self, req: Request) -> Reply:
        if self.failures:
            return self.failures.pop(0)
        if req.query.get("symbol") != "BTCUSDT":
            return Reply(400, {"code": -1121, "msg": "Invalid symbol."})
        start = int(req.query.get("startTime", 0)) - self.overlap * STEP
        end = int(req.query.get("endTime", 2**62))
        limit = int(req.query.get("limit", 500))
        hit = self.bars[(self.bars.timestamp >= start) & (self.bars.timestamp <= end)].head(limit)
        rows = [
            [
                int(r.timestamp),
                repr(r.open),
                repr(r.high),
                repr(r.low),
                repr(r.close),
                repr(r.volume),
                int(r.timestamp) + STEP - 1,
                "0",
                1,
                "0",
                "0",
                "0",
            ]
            for r in hit.itertuples()
        ]
        return Reply(body=rows)

    def funding_rate(self, req: Request) -> Reply:
        start = int(req.query.get("startTime", 0))
        limit = min(int(req.query.get("limit", 100)), self.funding_cap)
        hit = self.funding[self.funding.timestamp >= start].head(limit)
        rows = [
            {
                "symbol": "BTCUSDT",
                "fundingTime": int(r.timestamp) + 5,
                "fundingRate": repr(r.funding_rate),
                "markPrice": "1",
            }
            for r in hit.itertuples()
        ]
        return Reply(body=rows)


@pytest.fixture
def fake_binance() -> FakeBinance:
    return FakeBinance(pd.read_csv(MARKET / REL_5M), pd.read_csv(MARKET / REL_FUNDING))


@pytest.fixture
def binance_server(fake_binance: FakeBinance) -> Iterator[LoopbackServer]:
    server = LoopbackServer(
        {
            ("GET", "/fapiPublic/exchangeInfo"): lambda _: Reply(body=EXCHANGE_INFO),
            ("GET", "/fapiPublic/klines"): fake_binance.klines,
            ("GET", "/fapiPublic/fundingRate"): fake_binance.funding_rate,
        }
    ).start()
    yield server
    server.stop()


def make_fetcher(
    server: LoopbackServer, sleeps: list[float] | None = None, now: int = 10**13
) -> CcxtFetcher:
    exchange = make_exchange("binanceusdm")
    # ccxt builds URLs as urls['api'][<api name>] + '/' + path (e.g. fapiPublic + /klines)
    exchange.urls["api"] = {k: f"{server.url}/{k}" for k in exchange.urls["api"]}
    exchange.enableRateLimit = False
    return CcxtFetcher(
        exchange, sleep=(sleeps if sleeps is not None else []).append, clock_ms=lambda: now
    )


def klines_log(server: LoopbackServer) -> list[dict[str, Any]]:
    return [r.query for r in server.log if r.path.endswith("/klines")]


def test_paging_gets_all_bars_once_in_order(
    binance_server: LoopbackServer, fake_binance: FakeBinance
) -> None:
    bars = fake_binance.bars
    first, last = int(bars.timestamp.iloc[0]), int(bars.timestamp.iloc[-1])
    df = make_fetcher(binance_server).candles("BTCUSDT", "5m", first, last + STEP)
    assert np.array_equal(df.index.asi8 // 1_000_000, bars.timestamp.to_numpy())
    assert np.array_equal(
        df.to_numpy(), bars[["open", "high", "low", "close", "volume"]].to_numpy()
    )
    log = klines_log(binance_server)
    assert len(log) == -(-len(bars) // 1000)
    assert all(q["symbol"] == "BTCUSDT" and q["interval"] == "5m" for q in log)


def test_overlapping_pages_are_deduplicated(
    binance_server: LoopbackServer, fake_binance: FakeBinance
) -> None:
    fake_binance.overlap = 3
    sub = fake_binance.bars.iloc[100:2600]
    first, last = int(sub.timestamp.iloc[0]), int(sub.timestamp.iloc[-1])
    df = make_fetcher(binance_server).candles("BTC/USDT:USDT", "5m", first, last + STEP)
    assert df.index.is_unique and df.index.is_monotonic_increasing
    assert np.array_equal(df.index.asi8 // 1_000_000, sub.timestamp.to_numpy())


def test_open_candle_dropped(binance_server: LoopbackServer, fake_binance: FakeBinance) -> None:
    last = int(fake_binance.bars.timestamp.iloc[-1])
    df = make_fetcher(binance_server, now=last + 1).candles(
        "BTCUSDT", "5m", last - 5 * STEP, last + STEP
    )
    assert len(df) == 5 and df.index[-1] == pd.Timestamp(last - STEP, unit="ms", tz="UTC")


def test_funding_paged(binance_server: LoopbackServer, fake_binance: FakeBinance) -> None:
    fake_binance.funding_cap = 100
    f = fake_binance.funding
    df = make_fetcher(binance_server).funding(
        "BTCUSDT", int(f.timestamp.iloc[0]), int(f.timestamp.iloc[-1]) + 3_600_000
    )
    assert np.array_equal(df.index.asi8 // 1_000_000, f.timestamp.to_numpy())  # floored to hour
    assert np.array_equal(df["funding_rate"].to_numpy(), f.funding_rate.to_numpy())
    assert sum(r.path.endswith("/fundingRate") for r in binance_server.log) >= 3


@pytest.mark.parametrize(
    "reply",
    [
        Reply(503, "Service Unavailable", "text/plain"),
        Reply(429, {"code": -1003, "msg": "Too many requests"}),
        Reply(504, "Gateway Timeout", "text/plain"),
    ],
    ids=["503", "429", "504"],
)
def test_transient_http_errors_retried(
    binance_server: LoopbackServer, fake_binance: FakeBinance, reply: Reply
) -> None:
    fake_binance.failures = [reply]
    sleeps: list[float] = []
    first = int(fake_binance.bars.timestamp.iloc[0])
    df = make_fetcher(binance_server, sleeps).candles("BTCUSDT", "5m", first, first + 10 * STEP)
    assert len(df) == 10 and sleeps == [2.0]


def test_gives_up_after_three_attempts(
    binance_server: LoopbackServer, fake_binance: FakeBinance
) -> None:
    fake_binance.failures = [Reply(503, "down", "text/plain")] * 4
    sleeps: list[float] = []
    with pytest.raises(
        FetchError, match=r"binanceusdm fetch_ohlcv\(BTC/USDT:USDT,5m\) failed after 3 attempts"
    ):
        make_fetcher(binance_server, sleeps).candles("BTCUSDT", "5m", 0, 10 * STEP)
    assert sleeps == [2.0, 4.0] and len(fake_binance.failures) == 1


def test_bad_symbol_not_retried(binance_server: LoopbackServer, fake_binance: FakeBinance) -> None:
    fake_binance.failures = [Reply(400, {"code": -1121, "msg": "Invalid symbol."})] * 3
    sleeps: list[float] = []
    with pytest.raises(FetchError, match="permanent error") as info:
        make_fetcher(binance_server, sleeps).candles("BTCUSDT", "5m", 0, 10 * STEP)
    assert type(info.value.cause).__name__ == "BadSymbol"
    assert sleeps == [] and len(fake_binance.failures) == 2


def test_unknown_symbol_is_clear_error(binance_server: LoopbackServer) -> None:
    with pytest.raises(ValueError, match="unknown binanceusdm symbol 'DOGEUSDT'"):
        make_fetcher(binance_server).candles("DOGEUSDT", "5m", 0, STEP)


def test_incremental_download_asks_only_for_missing_bars(
    binance_server: LoopbackServer, fake_binance: FakeBinance, store_root
) -> None:
    bars = fake_binance.bars.iloc[:3000]
    store = MarketStore(store_root)
    store.write("binanceusdm", "BTCUSDT", "5m", bars.iloc[:2000])
    ts = bars.timestamp.to_numpy()
    start = pd.Timestamp(int(ts[0]), unit="ms", tz="UTC")
    end = pd.Timestamp(int(ts[-1]) + STEP, unit="ms", tz="UTC")
    result = download_candles(
        store, make_fetcher(binance_server), "binanceusdm", "BTC/USDT:USDT", "5m", start, end
    )
    log = klines_log(binance_server)
    assert [int(q["startTime"]) for q in log] == [int(ts[2000])]
    assert result.report is not None and result.report.rows_added == 1000
    assert len(store.read("binanceusdm", "BTCUSDT", "5m")) == 3000


def test_sandbox_flag_switches_to_testnet_urls() -> None:
    live, test = make_exchange("bybit"), make_exchange("bybit", sandbox=True)
    assert "testnet" in str(test.urls["api"]) and "testnet" not in str(live.urls["api"])
    assert make_exchange("okx", sandbox=True).isSandboxModeEnabled
    with pytest.raises(ValueError, match="unsupported exchange 'kraken'"):
        make_exchange("kraken")
