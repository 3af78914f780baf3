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
import requests

from actors.venues.base import Venue
from actors.venues.factory import VenueSpec, make_venue
from actors.venues.paper import PaperExchange
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
    extras: dict[str, Any] = field(default_factory=dict)

    def need(self, control: str) -> Any:
        value = getattr(self, control)
        if value is None:
            pytest.skip(f"{self.name} has no {control} control")
        return value


class _Malformed(requests.adapters.HTTPAdapter):
    """Answers the next ``count`` requests with HTTP 200 and a body that is not the API's."""

    def __init__(self, count: int, body: bytes) -> None:
        super().__init__()
        self.count, self.body = count, body

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if self.count <= 0:
            return super().send(request, **kwargs)
        self.count -= 1
        resp = requests.Response()
        resp.status_code, resp._content = 200, self.body
        resp.headers["Content-Type"] = "application/json"
        resp.url, resp.request = request.url, request
        return resp


def _paper(tmp_path: Path, symbols: list[str], speed: float = 1.0) -> Iterator[Harness]:
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
                        s.mount("http://", adapter)
                return
            sim.faults.inject(kind, **params)

        def move_price(symbol: str, price: float) -> None:
            sim.set_book(symbol, bids=[(price * 0.9999, 1e6)], asks=[(price * 1.0001, 1e6)])

        try:
            yield Harness(
                name="paper",
                venue=venue,
                symbol=symbols[0],
                make=make,
                inject=inject,
                move_price=move_price,
                reset_price=sim.clear_book,
                extras={"paper": px},
            )
        finally:
            for v in clients:
                v.close()


HARNESSES: dict[str, Callable[[Path], Iterator[Harness]]] = {
    "paper": lambda tmp: _paper(tmp, ["BTC", "ETH"]),
    # later: "ccxt-bybit-testnet": lambda tmp: _ccxt(tmp, "bybit"),
}


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    yield from HARNESSES[request.param](tmp_path)


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
