"""Replay data rules: candle paging, causality, aggregation vs native files, funding paging."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from actors.venues.simulator.market import CANDLE_PAGE, Market
from actors.venues.simulator.market_data import load_coin
from tests.conftest import MARKET

DATA = MARKET / "hyperliquid_perp_2025"


@pytest.fixture(scope="module")
def btc() -> Market:
    return Market({"BTC": load_coin(MARKET, "BTC")}, candle_history_limit=None)


def _native(tf: str) -> np.ndarray:
    with gzip.open(DATA / f"hyperliquid_BTCUSDC_{tf}.csv.gz", "rt") as fh:
        fh.readline()
        return np.loadtxt(fh, delimiter=",")


def test_first_candle_is_bucket_containing_start_and_page_is_5000(btc: Market) -> None:
    now = btc.last_close_time("BTC")
    start = 1_745_000_123_456
    rows = btc.candles("BTC", "5m", start, now, now)
    assert rows[0]["t"] <= start < rows[0]["T"] + 1
    assert len(rows) == CANDLE_PAGE
    assert all(r["T"] == r["t"] + 300_000 - 1 for r in rows)
    assert all(b["t"] > a["t"] for a, b in zip(rows, rows[1:], strict=False))


def test_no_candle_from_the_future(btc: Market) -> None:
    now = 1_753_300_000_000
    rows = btc.candles("BTC", "1h", now - 10 * 3_600_000, now + 10 * 3_600_000, now)
    assert rows[-1]["t"] <= now
    # the open hour only aggregates minutes that closed by `now`
    native_1m = _native("1m")
    closed = native_1m[(native_1m[:, 0] >= rows[-1]["t"]) & (native_1m[:, 0] + 60_000 <= now)]
    assert rows[-1]["c"] == closed[-1, 4]
    assert btc.price("BTC", now) == closed[-1, 4]


def test_aggregated_5m_equals_native_5m_where_1m_exists(btc: Market) -> None:
    native_5m = _native("5m")
    now = btc.last_close_time("BTC")
    t0 = 1_753_142_400_000  # inside the 1m coverage
    rows = btc.candles("BTC", "5m", t0, t0 + 3_600_000 - 1, now)
    assert len(rows) == 12
    for r in rows:
        ref = native_5m[native_5m[:, 0] == r["t"]][0]
        assert (r["o"], r["h"], r["l"], r["c"]) == (ref[1], ref[2], ref[3], ref[4])
        assert r["v"] == pytest.approx(ref[5], rel=1e-9)


def test_history_limit_keeps_only_latest_5000() -> None:
    m = Market({"BTC": load_coin(MARKET, "BTC")})
    now = m.last_close_time("BTC")
    rows = m.candles("BTC", "1h", 0, now, now)
    assert len(rows) == CANDLE_PAGE
    assert rows[-1]["t"] >= now - 3_600_000 * 2
    assert m.candles("BTC", "1h", 0, 1_730_000_000_000, now) == []


def test_funding_history_pages_by_500(btc: Market) -> None:
    now = btc.last_close_time("BTC")
    page = btc.funding_history("BTC", 1_740_000_000_000, None, now)
    assert len(page) == 500
    assert page[0][0] >= 1_740_000_000_000
    nxt = btc.funding_history("BTC", page[-1][0] + 1, None, now)
    assert nxt[0][0] > page[-1][0]


def test_unknown_interval_and_coin_are_named() -> None:
    with pytest.raises(ValueError, match="no shipped market data for coin 'NOPE'"):
        load_coin(MARKET, "NOPE")
    m = Market({"BTC": load_coin(MARKET, "BTC")})
    with pytest.raises(ValueError, match="unknown candle interval"):
        m.candles("BTC", "7m", 0, 1, 2)
