"""Fixtures for fetcher tests: a Hyperliquid `/info` stand-in on 127.0.0.1 built from the
recorded shapes (docs/hyperliquid.md §3) and real shipped candles/funding."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from tests.conftest import HL_RECORDED, MARKET
from tests.data.loopback import LoopbackServer, Reply, Request

CASSETTES = HL_RECORDED / "sdk_cassettes"


def cassette_replies(name: str) -> dict[str, Any]:
    """Recorded SDK cassette: request `type` → parsed JSON reply."""
    data = yaml.safe_load((CASSETTES / name).read_text())
    out = {}
    for it in data["interactions"]:
        out[json.loads(it["request"]["body"])["type"]] = json.loads(
            it["response"]["body"]["string"]
        )
    return out


def hl_candle(coin: str, interval: str, step: int, row: dict[str, Any]) -> dict[str, Any]:
    """One candle in the venue's shape: decimal strings for prices, numbers for times."""
    t = int(row["timestamp"])
    return {
        "t": t,
        "T": t + step - 1,
        "s": coin,
        "i": interval,
        "o": str(row["open"]),
        "c": str(row["close"]),
        "h": str(row["high"]),
        "l": str(row["low"]),
        "v": str(row["volume"]),
        "n": 7,
    }


@dataclass
class FakeHyperliquid:
    """State behind the loopback `/info`: candles per (coin, interval), funding per coin."""

    meta: dict[str, Any]
    candles: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    funding: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    horizon: int | None = None  # serve only the latest N candles (the venue keeps 5000)
    page: int = 5000
    funding_page: int = 500
    failures: list[Reply] = field(default_factory=list)  # replies to send before real ones

    def handle(self, req: Request) -> Reply:
        body = req.body or {}
        kind = body.get("type")
        if kind in ("candleSnapshot", "fundingHistory") and self.failures:
            return self.failures.pop(0)
        if kind == "meta":
            return Reply(body=self.meta)
        if kind == "spotMeta":
            return Reply(body={"universe": [], "tokens": []})
        if kind == "candleSnapshot":
            r = body["req"]
            bars = self.candles.get((r["coin"], r["interval"]), [])
            if self.horizon is not None:
                bars = bars[-self.horizon :]
            # first = bucket containing startTime, last = bucket containing endTime
            hit = [c for c in bars if c["T"] >= r["startTime"] and c["t"] <= r["endTime"]]
            return Reply(body=hit[: self.page])
        if kind == "fundingHistory":
            rows = self.funding.get(body["coin"], [])
            end = body.get("endTime", 2**62)
            hit = [x for x in rows if body["startTime"] <= x["time"] <= end]
            return Reply(body=hit[: self.funding_page])
        return Reply(422, "Failed to deserialize the JSON body into the target type", "text/plain")


def real_candles(rel: str, coin: str, interval: str, step: int) -> list[dict[str, Any]]:
    df = pd.read_csv(MARKET / rel)
    return [hl_candle(coin, interval, step, row) for row in df.to_dict("records")]


def real_funding(rel: str, coin: str, n: int) -> list[dict[str, Any]]:
    """The last ``n`` real prints, with the few-ms settlement jitter the venue reports."""
    df = pd.read_csv(MARKET / rel).tail(n)
    return [
        {
            "coin": coin,
            "fundingRate": repr(r.funding_rate),
            "premium": "0.0",
            "time": int(r.timestamp) + 3,
        }
        for r in df.itertuples()
    ]


@pytest.fixture
def fake_hl() -> FakeHyperliquid:
    meta = cassette_replies("test_get_info.yaml")["meta"]
    return FakeHyperliquid(meta=meta)


@pytest.fixture
def hl_server(fake_hl: FakeHyperliquid) -> Iterator[LoopbackServer]:
    server = LoopbackServer({("POST", "/info"): fake_hl.handle}).start()
    yield server
    server.stop()


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "store"
