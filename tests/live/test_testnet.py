"""The order path against Hyperliquid testnet (skipped without HL_TESTNET_PRIVATE_KEY and
HL_TESTNET_ACCOUNT): entry -> fill -> stop resting on the venue -> close -> P&L journaled."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from tests.live.helpers import entry_intent, venue_fill_size, wait_for

pytestmark = [pytest.mark.testnet, pytest.mark.usefixtures("ray_session")]


def test_testnet_round_trip(tmp_path: Path) -> None:
    import ray

    from actors.alerter import Alerter
    from actors.executor import Executor
    from actors.keeper import StateKeeper
    from actors.venues.base import OrderRequest
    from actors.venues.factory import VenueSpec, make_venue

    key, account = os.environ.get("HL_TESTNET_PRIVATE_KEY"), os.environ.get("HL_TESTNET_ACCOUNT")
    if not key or not account:
        pytest.skip("HL_TESTNET_PRIVATE_KEY / HL_TESTNET_ACCOUNT not set")
    spec = VenueSpec.hyperliquid(network="testnet", account_address=account, secret_key=key,
                                 nonce_path=tmp_path / "nonce.json")  # fmt: skip
    venue = make_venue(spec)
    if any(p.symbol == "ETH" for p in venue.positions()):
        pytest.skip("the testnet account already holds ETH; not touching it")
    alerter = ray.remote(Alerter).options(num_cpus=0).remote()
    keeper = ray.remote(StateKeeper).options(num_cpus=0, max_concurrency=4).remote(tmp_path, 3600.0)
    executor = (
        ray.remote(Executor).options(num_cpus=0, max_concurrency=4).remote(spec, keeper, alerter)
    )
    try:
        mid = float(venue._mid("ETH"))
        size = round(12.0 / mid, 4)  # just above the $10 minimum
        intent = entry_intent("ETH", "buy", size, mid, f"testnet{os.getpid()}")
        state = ray.get(executor.submit.remote(intent))
        assert state.positions.get("ETH") == pytest.approx(size)
        wait_for(lambda: any(o.symbol == "ETH" and o.kind == "stop_loss" for o in venue.open_orders()),
                 30, "the stop resting on testnet")  # fmt: skip
        venue.place(OrderRequest(cloid="0x" + os.urandom(16).hex(), symbol="ETH", side="sell",
                                 size=size, kind="market", reduce_only=True))  # fmt: skip
        wait_for(lambda: ray.get(executor.poll_now.remote()).positions.get("ETH", 0.0) == 0.0, 60,
                 "the close to be journaled")  # fmt: skip
        assert venue_fill_size(venue, intent.cloid) == pytest.approx(size)
        assert ray.get(keeper.metrics.remote())["trades"] >= 1
    finally:
        with contextlib.suppress(Exception):
            for o in venue.open_orders():
                if o.symbol == "ETH" and o.cloid:
                    venue.cancel("ETH", o.cloid)
        for h in (executor, keeper, alerter):
            ray.kill(h, no_restart=True)
        venue.close()
