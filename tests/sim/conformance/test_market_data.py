"""meta, candleSnapshot and fundingHistory through the SDK Info, as the data fetchers use them."""

from __future__ import annotations

import gzip

import numpy as np

from tests.conftest import MARKET
from tests.sim.conformance.conftest import VenueUnderTest

HOUR = 3_600_000


def test_meta_lists_the_simulated_coins(venue: VenueUnderTest) -> None:
    meta = venue.info().meta()
    names = [u["name"] for u in meta["universe"]]
    assert {"BTC", "ETH"} <= set(names)
    btc = meta["universe"][names.index("BTC")]
    assert btc["szDecimals"] == 5 and isinstance(btc["maxLeverage"], int)
    assert "isDelisted" not in btc and "onlyIsolated" not in btc  # omitted when false


def test_candle_snapshot_matches_shipped_bars_and_pages(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    info = venue.info()
    now = sim.venue.now
    start = now - 100 * HOUR + 123
    rows = info.candles_snapshot("BTC", "1h", start, now)
    assert rows[0]["t"] <= start <= rows[0]["T"]
    assert all(b["t"] - a["t"] == HOUR for a, b in zip(rows, rows[1:], strict=False))
    assert rows[-1]["t"] <= now
    with gzip.open(MARKET / "hyperliquid_perp_2025" / "hyperliquid_BTCUSDC_1h.csv.gz", "rt") as fh:
        fh.readline()
        native = np.loadtxt(fh, delimiter=",")
    for r in rows[:-1]:
        ref = native[native[:, 0] == r["t"]][0]
        assert [float(r[k]) for k in "ohlc"] == list(ref[1:5])
    page = info.candles_snapshot("BTC", "1m", 0, now)
    assert len(page) <= 5000 and page[-1]["t"] <= now


def test_funding_history_pages(venue: VenueUnderTest) -> None:
    info = venue.info()
    rows = info.funding_history("BTC", 1_700_000_000_000)
    assert len(rows) == 500
    assert all(b["time"] > a["time"] for a, b in zip(rows, rows[1:], strict=False))
    assert rows[0]["time"] >= 1_700_000_000_000
    assert set(rows[0]) == {"coin", "fundingRate", "premium", "time"}
    nxt = info.funding_history("BTC", rows[-1]["time"] + 1)
    assert nxt[0]["time"] > rows[-1]["time"]


def test_step_bar_moves_price_to_next_shipped_close(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.clear_book("BTC")
    info = venue.info()
    t = sim.step_bar()
    assert sim.venue.now == t and t % 60_000 == 0
    with gzip.open(MARKET / "hyperliquid_perp_2025" / "hyperliquid_BTCUSDC_1m.csv.gz", "rt") as fh:
        fh.readline()
        native = np.loadtxt(fh, delimiter=",")
    close = native[native[:, 0] + 60_000 == t][0, 4]
    assert float(info.all_mids()["BTC"]) == close
    book = info.l2_snapshot("BTC")
    best_bid, best_ask = float(book["levels"][0][0]["px"]), float(book["levels"][1][0]["px"])
    assert best_bid < close < best_ask
