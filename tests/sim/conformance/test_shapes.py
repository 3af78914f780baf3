"""Reply shapes (keys and value types) compared with the recorded venue replies."""

from __future__ import annotations

from typing import Any

import pytest
from hyperliquid.utils.types import Cloid

from tests.sim.conformance.conftest import VenueUnderTest, ok_statuses, wait_nonce_tick
from tests.sim.conformance.shapes import cassette, ccxt, nautilus, shape_mismatches

IOC = {"limit": {"tif": "Ioc"}}
ALO = {"limit": {"tif": "Alo"}}


@pytest.fixture(scope="module")
def replies(venue: VenueUnderTest) -> dict[str, Any]:
    """One short trading session whose replies are compared with the recordings."""
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 5.0)])
    sim.set_book("ETH", bids=[(3000, 50.0)], asks=[(3001, 50.0)])
    w = venue.new_wallet()
    ex, info = venue.exchange(w), venue.info()
    out: dict[str, Any] = {"flat": info.user_state(w.address)}
    out["ioc"] = ex.order("ETH", False, 0.5, 2990, IOC, cloid=Cloid.from_int(1))
    wait_nonce_tick()
    entry = {
        "coin": "BTC",
        "is_buy": True,
        "sz": 0.01,
        "limit_px": 100_010,
        "order_type": IOC,
        "reduce_only": False,
    }
    sl = {
        "coin": "BTC",
        "is_buy": False,
        "sz": 0.01,
        "limit_px": 90_000,
        "reduce_only": True,
        "order_type": {"trigger": {"triggerPx": 95_000, "isMarket": True, "tpsl": "sl"}},
    }
    out["tpsl"] = ex.bulk_orders([entry, sl], grouping="normalTpsl")
    wait_nonce_tick()
    alo = ok_statuses(ex.order("BTC", True, 0.01, 99_000, ALO))[0]["resting"]["oid"]
    out["state"] = info.user_state(w.address)
    out["open"] = info.open_orders(w.address)
    out["front"] = info.frontend_open_orders(w.address)
    out["status_open"] = info.query_order_by_oid(w.address, alo)
    out["status_filled"] = info.query_order_by_cloid(w.address, Cloid.from_int(1))
    out["fills"] = info.user_fills(w.address)
    out["historical"] = info.historical_orders(w.address)
    out["l2"] = info.l2_snapshot("BTC")
    out["mids"] = info.all_mids()
    out["meta"] = info.meta()
    now = sim.venue.now
    out["candles"] = info.candles_snapshot("BTC", "1h", now - 5 * 3_600_000, now)
    out["funding"] = info.funding_history("BTC", now - 5 * 3_600_000)
    return out


CASES = [
    ("flat", lambda: ccxt("clearinghouseState__flat")),
    ("state", lambda: ccxt("clearinghouseState__cross_short")),
    ("ioc", lambda: ccxt("order_place__market_ioc_filled")["response"]),
    ("tpsl", lambda: ccxt("order_place__normalTpsl_group")["response"]),
    ("open", lambda: ccxt("openOrders__plain")),
    ("front", lambda: ccxt("frontendOpenOrders__trigger")),
    ("status_open", lambda: ccxt("orderStatus__open_alo")),
    ("status_filled", lambda: ccxt("orderStatus__filled_perp")),
    ("fills", lambda: ccxt("userFills__samples")),
    ("historical", lambda: ccxt("historicalOrders__ioc_filled")),
    ("l2", lambda: cassette("test_get_l2_snapshot.yaml", "l2Book")),
    ("mids", lambda: {"BTC": "1.0", "ETH": "1.0"}),
    ("meta", lambda: nautilus("http_meta_perp_sample.json")),
    ("candles", lambda: cassette("test_get_candles_snapshot.yaml", "candleSnapshot")),
    ("funding", lambda: cassette("test_get_funding_history[None].yaml", "fundingHistory")),
]


@pytest.mark.parametrize(("name", "recorded"), CASES, ids=[c[0] for c in CASES])
def test_reply_shape_matches_recording(replies: dict[str, Any], name: str, recorded: Any) -> None:
    actual = replies[name]
    assert actual, f"{name}: empty reply cannot be compared"
    assert shape_mismatches(actual, recorded()) == []


def test_shape_checker_catches_differences() -> None:
    """The comparison itself must fail on a missing key, a wrong type or a non-decimal price."""
    rec = ccxt("openOrders__plain")
    good = [
        {
            "coin": "SOL",
            "limitPx": "60.0",
            "oid": 1,
            "origSz": "0.1",
            "side": "B",
            "sz": "0.1",
            "timestamp": 2,
        }
    ]
    assert shape_mismatches(good, rec) == []
    assert shape_mismatches([{k: v for k, v in good[0].items() if k != "origSz"}], rec)
    assert shape_mismatches([{**good[0], "sz": 0.1}], rec)
    assert shape_mismatches([{**good[0], "limitPx": "abc"}], rec)
