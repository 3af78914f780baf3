"""Hyperliquid fetcher against a loopback `/info` (recorded shapes, real shipped candles)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from research.data.download import download_candles, download_funding
from research.data.fetch_hyperliquid import (
    TESTNET_URL,
    HyperliquidFetcher,
    check_base_url,
)
from research.data.retry import FetchError
from research.data.store import MarketStore
from tests.conftest import MARKET
from tests.data.conftest import (
    FakeHyperliquid,
    cassette_replies,
    hl_candle,
    real_candles,
    real_funding,
)
from tests.data.loopback import LoopbackServer, Reply

HL_15M = "hyperliquid_perp_2025/hyperliquid_BTCUSDC_15m.csv.gz"
STEP = 900_000


@pytest.fixture
def btc_15m(fake_hl: FakeHyperliquid) -> pd.DataFrame:
    fake_hl.candles[("BTC", "15m")] = real_candles(HL_15M, "BTC", "15m", STEP)
    return pd.read_csv(MARKET / HL_15M)


def fetcher(server: LoopbackServer, sleeps: list[float] | None = None, now: int | None = None):
    kw = {}
    if now is not None:
        kw["clock_ms"] = lambda: now
    return HyperliquidFetcher(server.url, sleep=(sleeps if sleeps is not None else []).append, **kw)


def candle_requests(server: LoopbackServer) -> list[dict]:
    return [r.body["req"] for r in server.log if r.body and r.body.get("type") == "candleSnapshot"]


def test_meta_from_recorded_reply(hl_server: LoopbackServer) -> None:
    recorded = cassette_replies("test_get_info.yaml")["meta"]["universe"]
    metas = fetcher(hl_server).meta()
    assert [m.name for m in metas] == [a["name"] for a in recorded]
    btc = next(m for m in metas if m.name == "BTC")
    rec = next(a for a in recorded if a["name"] == "BTC")
    assert (btc.sz_decimals, btc.max_leverage) == (rec["szDecimals"], rec["maxLeverage"])


def test_recorded_candle_snapshot_parsed(
    hl_server: LoopbackServer, fake_hl: FakeHyperliquid
) -> None:
    recorded = cassette_replies("test_get_candles_snapshot.yaml")["candleSnapshot"]
    fake_hl.candles[("kPEPE", "1h")] = recorded
    first, last = recorded[0]["t"], recorded[-1]["t"]
    df = fetcher(hl_server, now=last + 3_600_000).candles("kPEPE", "1h", first, last + 3_600_000)
    assert len(df) == len(recorded)
    assert list(df.index.asi8 // 1_000_000) == [c["t"] for c in recorded]
    assert df["close"].tolist() == [float(c["c"]) for c in recorded]
    assert df["volume"].tolist() == [float(c["v"]) for c in recorded]


def test_paging_gets_every_candle_once_in_order(
    hl_server: LoopbackServer, btc_15m: pd.DataFrame
) -> None:
    first, last = int(btc_15m.timestamp.iloc[0]), int(btc_15m.timestamp.iloc[-1])
    df = fetcher(hl_server, now=last + STEP).candles("BTC", "15m", first, last + STEP)
    assert len(btc_15m) > 3 * 5000  # really more than one page
    assert np.array_equal(df.index.asi8 // 1_000_000, btc_15m.timestamp.to_numpy())
    assert np.array_equal(
        df.to_numpy(), btc_15m[["open", "high", "low", "close", "volume"]].to_numpy()
    )
    reqs = candle_requests(hl_server)
    assert len(reqs) == -(-len(btc_15m) // 5000)
    assert all((r["endTime"] - r["startTime"] + 1) // STEP <= 5000 for r in reqs)


def test_open_candle_is_dropped(hl_server: LoopbackServer, btc_15m: pd.DataFrame) -> None:
    last = int(btc_15m.timestamp.iloc[-1])
    df = fetcher(hl_server, now=last + STEP // 2).candles(
        "BTC", "15m", last - 10 * STEP, last + STEP
    )
    assert df.index[-1] == pd.Timestamp(last - STEP, unit="ms", tz="UTC")
    assert len(df) == 10


def test_venue_horizon_returns_only_latest_candles(
    hl_server: LoopbackServer, fake_hl: FakeHyperliquid, btc_15m: pd.DataFrame
) -> None:
    fake_hl.horizon = 5000
    first, last = int(btc_15m.timestamp.iloc[0]), int(btc_15m.timestamp.iloc[-1])
    df = fetcher(hl_server, now=last + STEP).candles("BTC", "15m", first, last + STEP)
    assert np.array_equal(df.index.asi8 // 1_000_000, btc_15m.timestamp.to_numpy()[-5000:])


def test_short_pages_do_not_lose_candles(
    hl_server: LoopbackServer, fake_hl: FakeHyperliquid, btc_15m: pd.DataFrame
) -> None:
    fake_hl.page = 700  # a venue answering less than asked must not leave holes
    sub = btc_15m.iloc[:3000]
    first, last = int(sub.timestamp.iloc[0]), int(sub.timestamp.iloc[-1])
    df = fetcher(hl_server, now=10**13).candles("BTC", "15m", first, last + STEP)
    assert np.array_equal(df.index.asi8 // 1_000_000, sub.timestamp.to_numpy())


def test_funding_paged_by_500(hl_server: LoopbackServer, fake_hl: FakeHyperliquid) -> None:
    rows = real_funding("hyperliquid_perp_2025/hyperliquid_BTCUSDC_funding.csv.gz", "BTC", 1234)
    fake_hl.funding["BTC"] = rows
    df = fetcher(hl_server).funding("BTC", rows[0]["time"] - 3, rows[-1]["time"] + 1)
    assert len(df) == 1234
    assert list(df.index.asi8 // 1_000_000) == [r["time"] - 3 for r in rows]  # floored to hour
    assert df["funding_rate"].tolist() == [float(r["fundingRate"]) for r in rows]
    pages = [r for r in hl_server.log if r.body and r.body.get("type") == "fundingHistory"]
    assert len(pages) == 3  # 500 + 500 + 234; the cursor then reaches the end


def test_unknown_coin_is_clear_error(hl_server: LoopbackServer) -> None:
    with pytest.raises(ValueError, match="unknown Hyperliquid coin 'NOPE'"):
        fetcher(hl_server).candles("NOPE", "15m", 0, 10**12)


def test_retries_5xx_and_429_then_succeeds(
    hl_server: LoopbackServer, fake_hl: FakeHyperliquid, btc_15m: pd.DataFrame
) -> None:
    fake_hl.failures = [
        Reply(502, "bad gateway", "text/plain"),
        Reply(429, "slow down", "text/plain"),
    ]
    sleeps: list[float] = []
    last = int(btc_15m.timestamp.iloc[-1])
    df = fetcher(hl_server, sleeps, now=last + STEP).candles(
        "BTC", "15m", last - 9 * STEP, last + STEP
    )
    assert len(df) == 10 and sleeps == [2.0, 4.0]


def test_gives_up_after_three_5xx(hl_server: LoopbackServer, fake_hl: FakeHyperliquid) -> None:
    fake_hl.failures = [Reply(500, "down", "text/plain")] * 5
    sleeps: list[float] = []
    with pytest.raises(FetchError, match=r"hyperliquid candles_snapshot\(BTC,15m\) failed after 3"):
        fetcher(hl_server, sleeps).candles("BTC", "15m", 0, 10 * STEP)
    assert sleeps == [2.0, 4.0] and len(fake_hl.failures) == 2


def test_no_retry_on_400(hl_server: LoopbackServer, fake_hl: FakeHyperliquid) -> None:
    fake_hl.failures = [Reply(400, "bad request", "text/plain")] * 3
    sleeps: list[float] = []
    with pytest.raises(FetchError, match="permanent"):
        fetcher(hl_server, sleeps).candles("BTC", "15m", 0, 10 * STEP)
    assert sleeps == [] and len(fake_hl.failures) == 2


def test_connection_refused_is_retried_then_fetch_error() -> None:
    dead = LoopbackServer({}).start()
    url = dead.url
    dead.stop()
    sleeps: list[float] = []
    with pytest.raises(FetchError, match=r"hyperliquid Info\(\) failed after 3 attempts"):
        HyperliquidFetcher(url, sleep=sleeps.append, timeout=2).meta()
    assert sleeps == [2.0, 4.0]


def test_incremental_download_requests_only_missing_range(
    hl_server: LoopbackServer, btc_15m: pd.DataFrame, store_root
) -> None:
    store = MarketStore(store_root)
    store.write("hyperliquid", "BTC", "15m", btc_15m.iloc[:1000])
    store.write("hyperliquid", "BTC", "15m", btc_15m.iloc[1500:2000])
    ts = btc_15m.timestamp.to_numpy()
    f = fetcher(hl_server, now=int(ts[-1]) + STEP)
    start, end = (
        pd.Timestamp(int(ts[0]), unit="ms", tz="UTC"),
        pd.Timestamp(int(ts[2500]), unit="ms", tz="UTC"),
    )
    result = download_candles(store, f, "hyperliquid", "BTCUSDC", "15m", start, end)
    # holes: bars 1000..1499 and 2000..2499 → one coalesced window, nothing before bar 1000
    reqs = candle_requests(hl_server)
    assert reqs and min(r["startTime"] for r in reqs) == int(ts[1000])
    assert max(r["endTime"] for r in reqs) == int(ts[2500]) - 1
    assert result.report is not None and result.report.rows_added == 1000
    stored = store.read("hyperliquid", "BTC", "15m")
    assert np.array_equal(
        stored.index.asi8 // 1_000_000, ts[:2000].tolist() + ts[2000:2500].tolist()
    )
    # second run: nothing missing → no request at all
    hl_server.log.clear()
    again = download_candles(store, f, "hyperliquid", "BTC", "15m", start, end)
    assert candle_requests(hl_server) == [] and again.report is None


def test_download_rejects_invalid_venue_data(
    hl_server: LoopbackServer, fake_hl: FakeHyperliquid, store_root
) -> None:
    bad = hl_candle(
        "BTC",
        "15m",
        STEP,
        {"timestamp": 0, "open": 1.0, "high": 0.5, "low": 0.9, "close": 1.0, "volume": 1.0},
    )
    fake_hl.candles[("BTC", "15m")] = [bad]
    store = MarketStore(store_root)
    with pytest.raises(ValueError, match="high < low"):
        download_candles(
            store, fetcher(hl_server, now=10 * STEP), "hyperliquid", "BTC", "15m", 0, STEP
        )
    assert not store.exists("hyperliquid", "BTC", "15m")


def test_funding_download_is_incremental(
    hl_server: LoopbackServer, fake_hl: FakeHyperliquid, store_root
) -> None:
    rows = real_funding("hyperliquid_perp_2025/hyperliquid_ETHUSDC_funding.csv.gz", "ETH", 300)
    fake_hl.funding["ETH"] = rows
    store = MarketStore(store_root)
    f = fetcher(hl_server)
    start, end = rows[0]["time"] - 3, rows[-1]["time"] + 1
    first = download_funding(
        store, f, "hyperliquid", "ETH", pd.Timestamp(start, unit="ms"), pd.Timestamp(end, unit="ms")
    )
    assert first.report is not None and first.report.rows_total == 300
    hl_server.log.clear()
    download_funding(
        store, f, "hyperliquid", "ETH", pd.Timestamp(start, unit="ms"), pd.Timestamp(end, unit="ms")
    )
    starts = [r.body["startTime"] for r in hl_server.log if r.body.get("type") == "fundingHistory"]
    assert starts and min(starts) > rows[-1]["time"] - 3  # only after the last stored print


def test_base_url_checks() -> None:
    assert check_base_url(TESTNET_URL + "/") == TESTNET_URL
    assert check_base_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    with pytest.raises(ValueError, match="refusing Hyperliquid base URL"):
        check_base_url("https://evil.example.com")


@pytest.mark.testnet
def test_testnet_candles_and_meta() -> None:
    """Real testnet smoke test (public /info only; skipped without testnet credentials)."""
    assert os.environ.get("HL_TESTNET_PRIVATE_KEY")
    f = HyperliquidFetcher(TESTNET_URL)
    assert any(m.name == "BTC" for m in f.meta())
    now = pd.Timestamp.now(tz="UTC").value // 1_000_000
    df = f.candles("BTC", "1h", now - 48 * 3_600_000, now)
    assert 40 <= len(df) <= 48 and df.index.is_monotonic_increasing
