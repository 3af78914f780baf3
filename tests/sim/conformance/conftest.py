"""Venue-neutral fixture for the conformance suite.

`venue` is the simulator by default; the `testnet` variant points the same tests at the real
Hyperliquid testnet (skipped without HL_TESTNET_PRIVATE_KEY). Tests that need to move the market
or inject faults call `venue.controls()`, which skips on real venues.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import eth_account
import pytest
from eth_account.signers.local import LocalAccount
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils import constants

from actors.venues.simulator import Simulator, SimulatorConfig
from tests.conftest import MARKET

START_MS = 1_753_142_400_000  # 2025-07-22 00:00 UTC: inside every shipped 1m file


@dataclass
class VenueUnderTest:
    name: str
    base_url: str
    sim: Simulator | None
    wallet: LocalAccount
    _meta: Any = None
    _spot: Any = None
    _infos: list[Info] = field(default_factory=list)

    @property
    def address(self) -> str:
        return self.wallet.address

    def controls(self) -> Simulator:
        if self.sim is None:
            pytest.skip(f"needs simulator controls; {self.name} is a real venue")
        return self.sim

    def info(self, ws: bool = False) -> Info:
        """SDK Info with cached metadata (no startup calls), websocket optional."""
        info = Info(self.base_url, skip_ws=not ws, meta=self.meta(), spot_meta=self.spot_meta())
        if ws:
            self._infos.append(info)
        return info

    def meta(self) -> Any:
        if self._meta is None:
            bare = Info(self.base_url, skip_ws=True)
            self._meta, self._spot = bare.meta(), bare.spot_meta()
        return self._meta

    def spot_meta(self) -> Any:
        self.meta()
        return self._spot

    def exchange(
        self, wallet: LocalAccount | None = None, timeout: float | None = None
    ) -> Exchange:
        return Exchange(
            wallet or self.wallet,
            self.base_url,
            meta=self.meta(),
            spot_meta=self.spot_meta(),
            timeout=timeout,
        )

    def new_wallet(self, usdc: float = 10_000.0) -> LocalAccount:
        """A fresh funded account (simulator) or the funded test account (real venue)."""
        if self.sim is None:
            return self.wallet
        w = eth_account.Account.create()
        self.sim.add_account(w.address, usdc)
        return w

    def close(self) -> None:
        for info in self._infos:
            if info.ws_manager is not None:
                info.disconnect_websocket()
                info.ws_manager.join(timeout=5)


def wait_nonce_tick() -> None:
    """The SDK uses the wall-clock millisecond as nonce: never send twice in one ms."""
    t = time.time_ns() // 1_000_000
    while time.time_ns() // 1_000_000 == t:
        pass


@pytest.fixture(scope="module", params=["sim", pytest.param("testnet", marks=pytest.mark.testnet)])
def venue(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VenueUnderTest]:
    if request.param == "testnet":
        key = os.environ["HL_TESTNET_PRIVATE_KEY"]
        v = VenueUnderTest(
            "testnet", constants.TESTNET_API_URL, None, eth_account.Account.from_key(key)
        )
        yield v
        v.close()
        return
    wallet = eth_account.Account.create()
    cfg = SimulatorConfig(
        symbols=["BTC", "ETH"],
        accounts={wallet.address: 10_000.0},
        clock="manual",
        start_ms=START_MS,
        state_dir=tmp_path_factory.mktemp("sim-state"),
        market_dir=MARKET,
        port=0,
    )
    sim = Simulator(cfg).start()
    v = VenueUnderTest("sim", sim.base_url, sim, wallet)
    try:
        yield v
    finally:
        v.close()
        sim.stop()


def ok_statuses(reply: Any) -> list[Any]:
    """statuses[] of an ok order/cancel reply (fails the test on a whole-request error)."""
    assert reply["status"] == "ok", reply
    return reply["response"]["data"]["statuses"]
