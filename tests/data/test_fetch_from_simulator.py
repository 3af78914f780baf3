"""The Hyperliquid fetcher through the unmodified SDK against the loopback simulator.

The simulator replays the shipped candles, so what the fetcher downloads must equal the
shipped file bar for bar — paging across the venue's 5000-candle pages included — and an
incremental download must ask only for what the store lacks.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from actors.venues.simulator import SimulatorConfig, run_simulator
from research.data.csv_files import load_csv
from research.data.download import download_candles
from research.data.fetch_hyperliquid import HyperliquidFetcher
from research.data.store import MarketStore
from tests.conftest import MARKET

SHIPPED_5M = MARKET / "hyperliquid_perp_2025" / "hyperliquid_BTCUSDC_5m.csv.gz"
START = pd.Timestamp("2025-07-01", tz="UTC")


@pytest.fixture(scope="module")
def sim() -> Iterator[object]:
    cfg = SimulatorConfig(
        symbols=["BTC"],
        clock="manual",
        start_ms=int(START.value // 1_000_000),
        candle_history_limit=None,
        market_dir=MARKET,
    )
    with run_simulator(cfg) as s:
        s.clock.advance(seconds=20 * 86_400)  # 20 days of 5m bars = 5,760 > one page
        yield s


def test_fetched_candles_equal_the_shipped_file(sim) -> None:
    fetcher = HyperliquidFetcher(sim.base_url, clock_ms=sim.clock.now_ms)
    start_ms = int(START.value // 1_000_000)
    end_ms = start_ms + 20 * 86_400_000
    got = fetcher.candles("BTC", "5m", start_ms, end_ms)
    shipped = load_csv(SHIPPED_5M)
    want = shipped[(shipped.index >= START) & (shipped.index < START + pd.Timedelta(days=20))]
    assert len(got) == len(want) == 5_760
    pd.testing.assert_frame_equal(got, want, check_freq=False)


def test_incremental_download_only_asks_for_missing_bars(sim, tmp_path) -> None:
    store = MarketStore(tmp_path / "store")
    fetcher = HyperliquidFetcher(sim.base_url, clock_ms=sim.clock.now_ms)
    first = download_candles(
        store, fetcher, "hyperliquid", "BTC", "5m", START, START + pd.Timedelta(days=10)
    )
    assert first.rows_received == 2_880
    again = download_candles(
        store, fetcher, "hyperliquid", "BTC", "5m", START, START + pd.Timedelta(days=12)
    )
    assert [b - a for a, b in again.requested] == [2 * 86_400_000]
    assert again.rows_received == 576
    assert len(store.read("hyperliquid", "BTC", "5m")) == 3_456
