"""CCXT venue behaviour beyond the shared conformance suite, on each exchange's loopback: errors
mapped to the Venue contract, nothing sent for orders that cannot be valid, client ids."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr, ValidationError

from actors.messages import make_cloid
from actors.venues.base import OrderRejected, OrderRequest, VenueError, VenueUnavailable
from actors.venues.ccxt_orders import client_id
from actors.venues.ccxt_spec import CcxtSpec
from actors.venues.ccxt_venue import CcxtVenue
from actors.venues.factory import make_venue
from actors.venues.loopback import LoopbackServer, run_loopback
from tests.conftest import MARKET

EXCHANGES = ["binanceusdm", "bybit", "okx"]


@pytest.fixture(params=EXCHANGES)
def server(request: pytest.FixtureRequest) -> Iterator[LoopbackServer]:
    with run_loopback(request.param, market_dir=MARKET, symbols=["BTC", "ETH"], api_key="key",
                      secret="secret", password="pass") as srv:  # fmt: skip
        yield srv


def _spec(srv: LoopbackServer, **kw: object) -> CcxtSpec:
    fields: dict[str, object] = dict(
        exchange=srv.exchange, network="loopback", api_key=SecretStr("key"),
        secret=SecretStr("secret"), password=SecretStr("pass"), symbols=("BTC",),
        base_url=srv.base_url,
    )  # fmt: skip
    fields.update(kw)
    return CcxtSpec(**fields)  # type: ignore[arg-type]


def _orders_sent(srv: LoopbackServer) -> int:
    return sum(1 for m, p, _ in srv.requests if m == "POST" and "rder" in p)


def test_start_sets_one_way_mode_and_leverage(server: LoopbackServer) -> None:
    server.engine.account.hedge_mode = True
    v = make_venue(_spec(server, leverage=7, symbols=("BTC", "ETH")))
    assert server.engine.account.hedge_mode is False
    assert server.engine.account.leverage == {"BTC": 7, "ETH": 7}
    v.close()


def test_wrong_secret_is_a_clear_error_without_the_secret(server: LoopbackServer) -> None:
    with pytest.raises(VenueError, match="authentication refused") as err:
        make_venue(_spec(server, secret=SecretStr("not-the-secret")))
    assert not isinstance(err.value, VenueUnavailable)
    assert "not-the-secret" not in str(err.value) and "signature=" not in str(err.value)


def test_wrong_okx_passphrase_is_an_authentication_error(server: LoopbackServer) -> None:
    if server.exchange != "okx":
        pytest.skip("only OKX keys have a passphrase")
    with pytest.raises(VenueError, match="authentication refused") as err:
        make_venue(_spec(server, password=SecretStr("not-the-pass")))
    assert "not-the-pass" not in str(err.value)


def test_unknown_symbol_is_a_venue_error(server: LoopbackServer) -> None:
    with pytest.raises(VenueError, match="unknown symbol 'DOGE'"):
        make_venue(_spec(server, symbols=("DOGE",)))


def test_below_minimum_size_is_rejected_before_sending(server: LoopbackServer) -> None:
    v = make_venue(_spec(server))
    before = _orders_sent(server)
    c = make_cloid("rules", "BTC", "tiny", "entry")
    tiny = float(server.engine.markets["BTC"].rules.min_qty) * 0.4  # OKX: 0.004 contracts
    with pytest.raises(OrderRejected, match="below the minimum"):
        v.place(OrderRequest(cloid=c, symbol="BTC", side="buy", size=tiny, kind="market"))
    assert _orders_sent(server) == before
    assert v.order_by_cloid("BTC", c) is None


def test_venue_notional_floor_is_a_rejection_with_its_text(server: LoopbackServer) -> None:
    from decimal import Decimal

    if server.exchange == "okx":
        pytest.skip("OKX has no notional floor (minSz is its floor)")
    server.engine.markets["BTC"].min_notional = Decimal(100)  # Binance's real BTCUSDT floor
    v = make_venue(_spec(server))
    c = make_cloid("rules", "BTC", "floor", "entry")
    with pytest.raises(OrderRejected, match="notional must be no smaller than 100"):
        v.place(OrderRequest(cloid=c, symbol="BTC", side="buy", size=0.001, kind="market"))
    assert v.positions() == [] and v.order_by_cloid("BTC", c) is None


def test_post_only_that_would_take_is_rejected(server: LoopbackServer) -> None:
    v = make_venue(_spec(server))
    mark = server.engine.mark("BTC")
    c = make_cloid("rules", "BTC", "alo", "entry")
    with pytest.raises(OrderRejected, match="expired|canceled"):  # Binance GTX / Bybit / OKX
        v.place(OrderRequest(cloid=c, symbol="BTC", side="buy", size=0.001, kind="limit",
                             price=mark * 1.01, post_only=True))  # fmt: skip
    assert v.positions() == [] and v.open_orders() == []


@pytest.mark.parametrize("fault", ["maintenance", "http_5xx"])
def test_maintenance_and_5xx_on_reads_are_unavailable(server: LoopbackServer, fault: str) -> None:
    v = make_venue(_spec(server))
    server.inject(fault, count=1, path="/info")
    with pytest.raises(VenueUnavailable):
        v.equity()
    assert v.equity() > 0


def test_timeout_on_cancel_is_resolved_by_the_lookup(server: LoopbackServer) -> None:
    v = make_venue(_spec(server, timeout_s=1.0))
    c = make_cloid("rules", "BTC", "cancel-timeout", "entry")
    v.place(OrderRequest(cloid=c, symbol="BTC", side="buy", size=0.001, kind="limit",
                         price=server.engine.mark("BTC") * 0.9))  # fmt: skip
    server.inject("timeout_after_accept", count=1, hang_seconds=5)
    assert v.cancel("BTC", c) is True  # the DELETE timed out; the order's status answers
    assert server.faults.timeouts == 0  # the fault did fire on the cancel
    found = v.order_by_cloid("BTC", c)
    assert found is not None and found.status == "canceled"


def test_client_ids_fit_every_exchange() -> None:
    c = make_cloid("rules", "BTC", "x", "entry")
    cid = client_id(c)
    assert len(cid) == 32 and cid.isalnum() and "0x" + cid == c  # OKX: <= 32 alphanumerics


def test_unimplemented_exchanges_refuse_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from actors.venues import ccxt_dialects

    monkeypatch.delitem(ccxt_dialects.DIALECTS, "okx", raising=False)  # whatever is implemented
    spec = CcxtSpec(exchange="okx", network="testnet", api_key=SecretStr("k"),
                    secret=SecretStr("s"), password=SecretStr("p"), symbols=("BTC",))  # fmt: skip
    with pytest.raises(VenueError, match="not implemented"):
        CcxtVenue(spec)


def test_spec_rejects_a_non_loopback_url_and_okx_without_passphrase() -> None:
    with pytest.raises(ValidationError, match="127.0.0.1"):
        CcxtSpec(exchange="binanceusdm", network="loopback", api_key=SecretStr("k"),
                 secret=SecretStr("s"), symbols=("BTC",), base_url="https://fapi.binance.com")  # fmt: skip
    with pytest.raises(ValidationError, match="passphrase"):
        CcxtSpec(exchange="okx", network="testnet", api_key=SecretStr("k"),
                 secret=SecretStr("s"), symbols=("BTC",))  # fmt: skip


def test_fills_are_found_while_our_clock_trails_the_venues(server: LoopbackServer) -> None:
    v = make_venue(_spec(server))
    assert isinstance(v, CcxtVenue)
    t0 = v.now_ms()
    c = make_cloid("rules", "BTC", "lag", "entry")
    v.place(OrderRequest(cloid=c, symbol="BTC", side="buy", size=0.001, kind="market"))
    venue_ms, mono = v._clock_sync or (v.now_ms(), 0.0)
    v._clock_sync = (venue_ms - 2_000, mono)  # a reply's latency / clock drift behind the venue
    assert [f.cloid for f in v.fills_since(t0 - 5_000)] == [c]
