"""The conformance basics against each CCXT exchange's testnet, skipped without that exchange's
testnet keys. One far-from-market limit order is placed and cancelled; nothing fills.

binanceusdm and bybit (BYBIT_TESTNET_API_KEY/_SECRET: a unified trading account on
testnet.bybit.com) run against their testnets; okx runs on OKX's demo trading (ccxt's sandbox
flag sends ``x-simulated-trading: 1``; make the API key under Demo Trading, with its
passphrase)."""

from __future__ import annotations

import os
import time

import pytest
from pydantic import SecretStr

from actors.messages import make_cloid
from actors.venues.base import OrderRequest, Venue
from actors.venues.ccxt_spec import CcxtSpec
from actors.venues.factory import make_venue

KEYS = {
    "binanceusdm": ("BINANCE_TESTNET_API_KEY", "BINANCE_TESTNET_API_SECRET"),
    "bybit": ("BYBIT_TESTNET_API_KEY", "BYBIT_TESTNET_API_SECRET"),
    "okx": ("OKX_TESTNET_API_KEY", "OKX_TESTNET_API_SECRET", "OKX_TESTNET_API_PASSWORD"),
}


def _spec(exchange: str) -> CcxtSpec:
    vals = [os.environ[k] for k in KEYS[exchange]]
    return CcxtSpec(
        exchange=exchange,  # type: ignore[arg-type]
        network="testnet",
        api_key=SecretStr(vals[0]),
        secret=SecretStr(vals[1]),
        password=SecretStr(vals[2]) if len(vals) > 2 else None,
        symbols=("ETH",),
        leverage=2,
    )


@pytest.mark.parametrize(
    "exchange", [pytest.param(e, marks=pytest.mark.testnet(env=KEYS[e])) for e in KEYS]
)
def test_ccxt_testnet_conformance_basics(exchange: str) -> None:
    venue = make_venue(_spec(exchange))
    try:
        assert isinstance(venue, Venue) and venue.name == exchange
        assert venue.equity() > 0
        now = venue.now_ms()
        candles = venue.candles("ETH", "15m", now - 6 * 3_600_000, now)
        times = [c.time_ms for c in candles]
        assert times == sorted(set(times)) and all(t + 900_000 <= now for t in times)
        tag = str(time.time_ns())
        assert venue.order_by_cloid("ETH", make_cloid("testnet", "ETH", tag, "never")) is None
        c = make_cloid("testnet", "ETH", tag, "entry")
        price = candles[-1].close * 0.8  # below the market: rests; 0.02 ETH clears a 20 USDT floor
        res = venue.place(
            OrderRequest(cloid=c, symbol="ETH", side="buy", size=0.02, kind="limit", price=price)
        )
        try:
            assert res.status == "resting"
            found = venue.order_by_cloid("ETH", c)
            assert found is not None and found.status == "open"
            assert c in {o.cloid for o in venue.open_orders()}
        finally:
            assert venue.cancel("ETH", c) is True
        gone = venue.order_by_cloid("ETH", c)
        assert gone is not None and gone.status == "canceled"
    finally:
        venue.close()
