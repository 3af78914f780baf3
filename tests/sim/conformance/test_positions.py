"""Positions, funding accrual and liquidation as clearinghouseState reports them (replayed market)."""

from __future__ import annotations

import pytest

from tests.sim.conformance.conftest import VenueUnderTest, ok_statuses, wait_nonce_tick

IOC = {"limit": {"tif": "Ioc"}}
HOUR = 3_600_000


def test_account_value_identities(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 5.0)])
    sim.set_book("ETH", bids=[(3000, 50.0)], asks=[(3001, 50.0)])
    w = venue.new_wallet(5_000.0)
    ex, info = venue.exchange(w), venue.info()
    ok_statuses(ex.order("BTC", True, 0.02, 100_010, IOC))
    wait_nonce_tick()
    ok_statuses(ex.order("ETH", False, 0.5, 3000, IOC))
    st = info.user_state(w.address)
    ms = st["marginSummary"]
    pos = {p["position"]["coin"]: p["position"] for p in st["assetPositions"]}
    assert pos["BTC"]["szi"] == "0.02" and pos["ETH"]["szi"] == "-0.5"
    upnl = sum(float(p["unrealizedPnl"]) for p in pos.values())
    fees = 0.02 * 100_010 * 0.00045 + 0.5 * 3000 * 0.00045
    assert float(ms["accountValue"]) == pytest.approx(5_000.0 - fees + upnl, abs=1e-5)
    signed_ntl = 0.02 * 100_005 - 0.5 * 3000.5
    assert float(ms["totalRawUsd"]) == pytest.approx(
        float(ms["accountValue"]) - signed_ntl, abs=1e-5
    )
    assert float(ms["totalNtlPos"]) == pytest.approx(0.02 * 100_005 + 0.5 * 3000.5, abs=1e-5)
    assert float(ms["totalMarginUsed"]) == pytest.approx(
        sum(float(p["marginUsed"]) for p in pos.values()), abs=1e-5
    )
    assert float(pos["BTC"]["unrealizedPnl"]) == pytest.approx((100_005 - 100_010) * 0.02, abs=1e-6)


def test_funding_accrues_hourly_from_shipped_rates(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.clear_book("ETH")
    w = venue.new_wallet()
    ex, info = venue.exchange(w), venue.info()
    (st,) = ok_statuses(ex.market_open("ETH", True, 0.5))
    assert "filled" in st
    now = sim.venue.now
    next_hour = (now // HOUR + 1) * HOUR
    sim.clock.advance(ms=next_hour + 2 * HOUR - now + 1)
    rows = info.user_funding_history(w.address, now)
    assert len(rows) == 3
    rates = {
        r["time"]: float(r["fundingRate"])
        for r in info.funding_history("ETH", next_hour, next_hour + 2 * HOUR)
    }
    for r in rows:
        d = r["delta"]
        assert d["type"] == "funding" and d["coin"] == "ETH" and d["szi"] == "0.5"
        assert float(d["fundingRate"]) == pytest.approx(rates[r["time"]])
        assert (float(d["usdc"]) < 0) == (rates[r["time"]] > 0)  # longs pay a positive rate
    (pos,) = info.user_state(w.address)["assetPositions"]
    paid = -sum(float(r["delta"]["usdc"]) for r in rows)
    assert float(pos["position"]["cumFunding"]["allTime"]) == pytest.approx(paid, abs=1e-5)
    wait_nonce_tick()
    ex.market_close("ETH")


def test_liquidation_closes_the_position(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 5.0)])
    w = venue.new_wallet(600.0)
    ex, info = venue.exchange(w), venue.info()
    assert ex.update_leverage(40, "BTC")["status"] == "ok"
    wait_nonce_tick()
    ok_statuses(ex.order("BTC", True, 0.2, 100_010, IOC))
    (pos,) = info.user_state(w.address)["assetPositions"]
    liq_px = float(pos["position"]["liquidationPx"])
    assert 97_000 < liq_px < 100_000
    sim.set_book("BTC", bids=[(liq_px - 200, 5.0)], asks=[(liq_px - 100, 5.0)])
    assert info.user_state(w.address)["assetPositions"] == []
    fill = info.user_fills(w.address)[0]
    assert fill["liquidation"]["liquidatedUser"] == w.address.lower()
    assert fill["liquidation"]["method"] == "market"
    assert fill["dir"] == "Close Long"


def test_isolated_position_reports_like_the_venue(venue: VenueUnderTest) -> None:
    from tests.sim.conformance.shapes import ccxt, shape_mismatches

    sim = venue.controls()
    sim.set_book("ETH", bids=[(3000, 50.0)], asks=[(3001, 50.0)])
    w = venue.new_wallet(1_000.0)
    ex, info = venue.exchange(w), venue.info()
    assert ex.update_leverage(10, "ETH", is_cross=False)["status"] == "ok"
    wait_nonce_tick()
    ok_statuses(ex.order("ETH", False, 1.0, 3000, IOC))
    st = info.user_state(w.address)
    assert shape_mismatches(st, ccxt("clearinghouseState__isolated_short")) == []
    (pos,) = st["assetPositions"]
    lev = pos["position"]["leverage"]
    assert lev["type"] == "isolated" and lev["value"] == 10
    upnl = float(pos["position"]["unrealizedPnl"])
    assert float(pos["position"]["marginUsed"]) == pytest.approx(300.0 + upnl, abs=1e-5)
    assert float(st["crossMarginSummary"]["totalNtlPos"]) == 0.0
    cross_before = float(st["crossMarginSummary"]["accountValue"])
    wait_nonce_tick()
    assert ex.update_leverage(10, "ETH", is_cross=True)["status"] == "err"  # not with a position
    liq = float(pos["position"]["liquidationPx"])
    sim.set_book("ETH", bids=[(liq + 10, 50.0)], asks=[(liq + 11, 50.0)])
    after = info.user_state(w.address)
    assert after["assetPositions"] == []
    cross_after = float(after["crossMarginSummary"]["accountValue"])
    assert cross_before < cross_after < cross_before + 300.0  # only part of the margin came back
    assert info.user_fills(w.address)[0]["liquidation"]["liquidatedUser"] == w.address.lower()


def test_update_isolated_margin_moves_usdc(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.set_book("ETH", bids=[(3000, 50.0)], asks=[(3001, 50.0)])
    w = venue.new_wallet(1_000.0)
    ex, info = venue.exchange(w), venue.info()
    assert ex.update_isolated_margin(10, "ETH")["status"] == "err"  # no isolated position yet
    wait_nonce_tick()
    ex.update_leverage(10, "ETH", is_cross=False)
    wait_nonce_tick()
    ok_statuses(ex.order("ETH", True, 0.5, 3001, IOC))
    before = info.user_state(w.address)
    wait_nonce_tick()
    assert ex.update_isolated_margin(50, "ETH") == {"status": "ok", "response": {"type": "default"}}
    after = info.user_state(w.address)
    used = [float(s["assetPositions"][0]["position"]["marginUsed"]) for s in (before, after)]
    assert used[1] - used[0] == pytest.approx(50.0)
    cross = [float(s["crossMarginSummary"]["accountValue"]) for s in (before, after)]
    assert cross[0] - cross[1] == pytest.approx(50.0)
    wait_nonce_tick()
    assert ex.update_isolated_margin(-500, "ETH")["status"] == "err"  # below initial margin
