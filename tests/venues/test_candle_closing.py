"""Which REST candles count as closed on a real network, where the venue clock is the local
wall clock: a forming bar must never be delivered as closed, even with the clock a bit ahead."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from actors.venues import hyperliquid as hl
from actors.venues.factory import VenueSpec

STEP = 300_000
END = 1_700_000_100_000 - 1_700_000_100_000 % STEP  # a 5m bucket boundary


class _FakeInfo:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def candles_snapshot(self, name: str, interval: str, start: int, end: int) -> Any:
        return [r for r in self.rows if r["t"] + STEP > start and r["t"] <= end]


def _row(t: int) -> dict[str, Any]:
    return {"t": t, "T": t + STEP - 1, "s": "BTC", "i": "5m", "o": "1.0", "c": "1.0",
            "h": "1.0", "l": "1.0", "v": "1.0", "n": 1}  # fmt: skip


def _venue() -> hl.HyperliquidVenue:
    v = hl.HyperliquidVenue.__new__(hl.HyperliquidVenue)  # no network: only _candles is used
    v.spec = VenueSpec.hyperliquid(
        network="testnet", account_address="0x" + "11" * 20, secret_key="0x" + "22" * 32,
        nonce_path=None,
    )  # fmt: skip
    v.markets = {"BTC": (0, 5, 40)}
    v._clock_lock = threading.Lock()
    v._clock_sync = None
    return v


@pytest.mark.parametrize(
    ("now", "rows", "closed"),
    [
        (END + 500, [END - STEP], []),  # just ended, nothing later yet: wait for the guard
        (END + 500, [END - STEP, END], [END - STEP]),  # a later bucket proves it closed
        (END + 2_500, [END - STEP], [END - STEP]),  # guard passed
        (END - 1, [END - STEP], []),  # still forming
    ],
)
def test_newest_bucket_closes_only_when_proven(
    monkeypatch: pytest.MonkeyPatch, now: int, rows: list[int], closed: list[int]
) -> None:
    monkeypatch.setattr(hl.time, "time", lambda: now / 1000)
    v = _venue()
    got = v._candles(_FakeInfo([_row(t) for t in rows]), "BTC", "5m", END - 10 * STEP, END + STEP)
    assert [c.time_ms for c in got] == closed
