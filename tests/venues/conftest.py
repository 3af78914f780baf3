"""Venue fixtures for the conformance suite: every test in tests/venues/ runs on each harness.

Adding a venue (e.g. a CCXT adapter) = one harness factory appended to ``HARNESSES``. A harness
offers the venue and, where the venue can do it, test controls: fault switches and a way to
move the price. Tests that need a control the harness lacks are skipped with that reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from actors.venues.base import Venue
from actors.venues.ccxt_spec import CcxtSpec
from actors.venues.factory import VenueSpec, make_venue
from actors.venues.loopback import markets as loopback_markets
from actors.venues.loopback import run_loopback
from actors.venues.loopback_http import LoopbackResponse
from actors.venues.paper import PaperExchange
from actors.venues.simulator.market_data import available_coins
from tests.conftest import MARKET


@dataclass
class Harness:
    """A venue under test plus optional controls (None = this venue cannot do it)."""

    name: str
    venue: Venue
    symbol: str  # a liquid symbol to trade in tests
    make: Callable[..., Venue]  # another client of the same account (spec overrides as kwargs)
    inject: Callable[..., None] | None = None  # (kind, **params): a venue fault switch
    move_price: Callable[[str, float], None] | None = None  # mark/book to this price
    reset_price: Callable[[str], None] | None = None
    min_size: Callable[[str], float] = lambda symbol: 0.0  # the venue's smallest order (base)
    symbols: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    def need(self, control: str) -> Any:
        value = getattr(self, control)
        if value is None:
            pytest.skip(f"{self.name} has no {control} control")
        return value


class _Malformed:
    """Answers the next ``count`` posts of the clients it is wrapped around with HTTP 200 and a
    body that is not the API's (the server is never asked: this is a reply mangled in transit).
    Wraps ``session.post``, so it works on requests' session and the loopback one alike."""

    def __init__(self, count: int, body: bytes) -> None:
        self.count, self.body = count, body

    def wrap(self, session: Any) -> None:
        real = session.post

        def post(url: str, *args: Any, **kwargs: Any) -> Any:
            if self.count <= 0:
                return real(url, *args, **kwargs)
            self.count -= 1
            return LoopbackResponse(200, self.body, {"Content-Type": "application/json"})

        session.post = post


def _paper(tmp_path: Path, symbols: list[str] | None, speed: float) -> Iterator[Harness]:
    symbols = symbols or available_coins(MARKET)
    with PaperExchange(
        market_dir=MARKET, state_dir=tmp_path / "paper", symbols=symbols, speed=speed
    ) as px:
        sim = px.simulator
        clients: list[Venue] = []

        def make(**overrides: Any) -> Venue:
            v = make_venue(px.spec.model_copy(update=overrides))
            clients.append(v)
            return v

        venue = make()

        def inject(kind: str, **params: Any) -> None:
            if kind == "malformed_reply":
                adapter = _Malformed(int(params.get("count", 1)), params.get("body", b"<html>"))
                for v in clients:
                    for s in (v.info.session, v._exchange.session):  # type: ignore[attr-defined]
                        adapter.wrap(s)
                return
            sim.faults.inject(kind, **params)

        def move_price(symbol: str, price: float) -> None:
            sim.set_book(symbol, bids=[(price * 0.9999, 1e6)], asks=[(price * 1.0001, 1e6)])

        try:
            yield Harness(
                name="paper",
                venue=venue,
                symbol=symbols[0],
                symbols=symbols,
                make=make,
                inject=inject,
                move_price=move_price,
                reset_price=sim.clear_book,
                extras={"paper": px},
            )
        finally:
            for v in clients:
                v.close()


def _ccxt(exchange: str) -> Callable[[Path, list[str] | None, float], Iterator[Harness]]:
    """A CCXT venue on its loopback server (the exchange's own formats, replayed prices)."""

    def factory(tmp_path: Path, symbols: list[str] | None, speed: float) -> Iterator[Harness]:
        symbols = symbols or loopback_markets.available(MARKET)
        key, secret = "loopback-key", "loopback-secret"
        with run_loopback(exchange, market_dir=MARKET, symbols=symbols, api_key=key,
                          secret=secret, password="loopback-pass", speed=speed) as srv:  # fmt: skip
            spec = CcxtSpec(
                exchange=exchange,  # type: ignore[arg-type]
                network="loopback",
                api_key=SecretStr(key),
                secret=SecretStr(secret),
                password=SecretStr("loopback-pass"),
                symbols=tuple(symbols),
                base_url=srv.base_url,
                clock_speed=speed,
            )
            clients: list[Venue] = []

            def make(**overrides: Any) -> Venue:
                v = make_venue(spec.model_copy(update=overrides))
                clients.append(v)
                return v

            def move_price(symbol: str, price: float) -> None:
                srv.engine.set_price(symbol, price)

            try:
                yield Harness(
                    name=exchange,
                    venue=make(),
                    symbol=symbols[0],
                    symbols=symbols,
                    make=make,
                    inject=srv.inject,
                    move_price=move_price,
                    reset_price=srv.engine.clear_price,
                    min_size=lambda s: float(srv.engine.markets[s].rules.min_qty),
                    extras={"server": srv, "spec": spec},
                )
            finally:
                for v in clients:
                    v.close()

    return factory


# name -> factory(tmp dir, symbols (None = every market the venue has; first = the test symbol),
#                 clock speed (venues with a controllable clock; others ignore it))
HarnessFactory = Callable[[Path, list[str] | None, float], Iterator[Harness]]
HARNESSES: dict[str, HarnessFactory] = {
    "paper": _paper,
    "binanceusdm": _ccxt("binanceusdm"),
    "bybit": _ccxt("bybit"),
    "okx": _ccxt("okx"),
}


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """A fresh account on a slow clock (prices move only when a test moves them or per bar)."""
    yield from HARNESSES[request.param](tmp_path, ["BTC", "ETH"], 1.0)


@pytest.fixture(params=sorted(HARNESSES))
def fast_harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """A replay clock at 600x: a 5m bar closes every half second of wall time."""
    yield from HARNESSES[request.param](tmp_path, ["BTC"], 600.0)


@pytest.fixture(scope="module", params=sorted(HARNESSES))
def all_markets(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Harness]:
    """Every market of the venue (module-scoped: hypothesis draws many orders from it)."""
    yield from HARNESSES[request.param](tmp_path_factory.mktemp("all"), None, 1.0)


@pytest.fixture
def testnet_spec(tmp_path: Path) -> VenueSpec:
    """Hyperliquid testnet credentials from the environment (tests are skipped without)."""
    key, account = os.environ.get("HL_TESTNET_PRIVATE_KEY"), os.environ.get("HL_TESTNET_ACCOUNT")
    if not key or not account:
        pytest.skip("HL_TESTNET_PRIVATE_KEY / HL_TESTNET_ACCOUNT not set")
    return VenueSpec.hyperliquid(
        network="testnet", account_address=account, secret_key=key,
        nonce_path=tmp_path / "testnet_nonce.json",
    )  # fmt: skip
