"""The Executor on a CCXT venue (Binance USDⓈ-M and Bybit loopbacks): persist, place, look up after a lost
reply, then protect the position with reduce-only stop and target resting on the venue."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from pydantic import SecretStr

from actors.venues.ccxt_spec import CcxtSpec
from actors.venues.factory import make_venue
from actors.venues.loopback import run_loopback
from tests.conftest import MARKET
from tests.live.helpers import entry_intent, venue_fill_size, wait_for

pytestmark = pytest.mark.usefixtures("ray_session")


# ~40 s each (the lost reply's lookup and the protection wait); the venue path is shared, so
# the Bybit variant runs with `make test-all` (its dialect is in the conformance suite)
@pytest.mark.parametrize("exchange", ["binanceusdm", pytest.param("bybit", marks=pytest.mark.slow)])
def test_executor_places_once_and_protects_on_ccxt(tmp_path: Path, exchange: str) -> None:
    import ray

    from actors.alerter import Alerter
    from actors.executor import Executor
    from actors.keeper import StateKeeper

    with run_loopback(exchange, market_dir=MARKET, symbols=["BTC"], api_key="k",
                      secret="s") as srv:  # fmt: skip
        spec = CcxtSpec(exchange=exchange, network="loopback", api_key=SecretStr("k"),
                        secret=SecretStr("s"), symbols=("BTC",), base_url=srv.base_url,
                        timeout_s=1.0)  # fmt: skip
        venue = make_venue(spec)
        alerter = ray.remote(Alerter).options(num_cpus=0).remote()
        keeper = (
            ray.remote(StateKeeper)
            .options(num_cpus=0, max_concurrency=4)
            .remote(tmp_path / "data", 3600.0)
        )
        executor = (
            ray.remote(Executor)
            .options(num_cpus=0, max_concurrency=4)
            .remote(spec, keeper, alerter)
        )
        try:
            ray.get(executor.portfolio.remote())
            mid = srv.engine.mark("BTC")
            intent = entry_intent("BTC", "buy", 0.01, mid, "ccxt")
            srv.inject("timeout_after_accept", count=1, hang_seconds=3)
            state = ray.get(executor.submit.remote(intent))
            # accepted and filled; the reply was lost; the lookup by client id found it
            assert ray.get(keeper.order_status.remote(intent.cloid)) == "filled"
            assert state.positions.get("BTC") == pytest.approx(0.01)
            assert venue_fill_size(venue, intent.cloid) == pytest.approx(0.01)
            assert ray.get(alerter.count.remote("order_rejected")) == 0

            def protected() -> bool:
                kinds = {o.kind: o for o in venue.open_orders()}
                return {"stop_loss", "take_profit"} <= set(kinds) and all(
                    o.reduce_only and o.side == "sell" for o in kinds.values()
                )

            wait_for(protected, 30, f"stop and target resting on {exchange}")
            stop = next(o for o in venue.open_orders() if o.kind == "stop_loss")
            assert stop.trigger_price == pytest.approx(intent.stop, rel=1e-3)
        finally:
            for h, name in ((executor, "stop"), (keeper, "close")):
                with contextlib.suppress(Exception):
                    ray.get(getattr(h, name).remote(), timeout=30)
            for h in (executor, keeper, alerter):
                ray.kill(h, no_restart=True)
            venue.close()
