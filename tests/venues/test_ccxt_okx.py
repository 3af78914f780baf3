"""OKX specifics beyond the shared conformance suite, on the OKX loopback: contracts on the wire,
stops as algo orders, fills paged backwards by bill id, demo-trading header, idempotent start."""

from __future__ import annotations

from collections.abc import Iterator

import ccxt
import pytest
from pydantic import SecretStr

from actors.messages import make_cloid
from actors.venues.base import OrderRejected, OrderRequest, VenueError
from actors.venues.ccxt_orders import client_id
from actors.venues.ccxt_spec import CcxtSpec
from actors.venues.ccxt_venue import CcxtVenue, _point_at_loopback
from actors.venues.factory import make_venue
from actors.venues.loopback import LoopbackServer, run_loopback
from actors.venues.loopback.engine import Fill
from tests.conftest import MARKET


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with run_loopback("okx", market_dir=MARKET, symbols=["BTC", "ETH"], api_key="key",
                      secret="secret", password="pass") as srv:  # fmt: skip
        yield srv


def _spec(srv: LoopbackServer, **kw: object) -> CcxtSpec:
    fields: dict[str, object] = dict(
        exchange="okx", network="loopback", api_key=SecretStr("key"), secret=SecretStr("secret"),
        password=SecretStr("pass"), symbols=("BTC", "ETH"), base_url=srv.base_url,
    )  # fmt: skip
    fields.update(kw)
    return CcxtSpec(**fields)  # type: ignore[arg-type]


def test_sizes_are_contracts_on_the_wire_and_base_units_in_the_venue(
    server: LoopbackServer,
) -> None:
    v = make_venue(_spec(server))
    c = make_cloid("okx", "ETH", "ct", "entry")
    res = v.place(OrderRequest(cloid=c, symbol="ETH", side="buy", size=0.03, kind="market"))
    assert res.status == "filled" and res.filled_size == 0.03
    raw = v.ex.fetch_order("", "ETH/USDT:USDT", {"clientOrderId": client_id(c)})  # type: ignore[attr-defined]
    assert raw["amount"] == 0.3 and raw["info"]["sz"] == "0.3"  # ctVal 0.1 ETH
    assert server.engine.account.positions["ETH"].qty == pytest.approx(0.03)
    (pos,) = v.positions()
    assert pos.size == 0.03  # exact in decimal, not 0.030000000000000002
    v.close()


def test_stops_are_conditional_algo_orders_found_and_cancelled_by_client_id(
    server: LoopbackServer,
) -> None:
    v = make_venue(_spec(server))
    v.place(OrderRequest(cloid=make_cloid("okx", "BTC", "e", "entry"), symbol="BTC", side="buy",
                         size=0.002, kind="market"))  # fmt: skip
    sl = make_cloid("okx", "BTC", "sl", "stop")
    mark = server.engine.mark("BTC")
    res = v.place(OrderRequest(cloid=sl, symbol="BTC", side="sell", size=0.002,
                               kind="stop_loss", trigger_price=mark * 0.95))  # fmt: skip
    assert res.status == "resting"
    posts = [p for m, p, _ in server.requests if m == "POST"]
    assert "/api/v5/trade/order-algo" in posts
    algo = server.engine.orders[server.engine.by_client[client_id(sl)]]
    assert algo.kind == "stop" and algo.reduce_only and algo.qty == pytest.approx(0.002)
    found = v.order_by_cloid("BTC", sl)
    assert found is not None and found.kind == "stop_loss" and found.status == "open"
    assert v.cancel("BTC", sl) is True
    assert [p for m, p, _ in server.requests if m == "POST"][-1] == "/api/v5/trade/cancel-algos"
    gone = v.order_by_cloid("BTC", sl)
    assert gone is not None and gone.status == "canceled"
    v.close()


def test_more_fills_than_a_page_are_read_backwards_by_bill_id(server: LoopbackServer) -> None:
    v = make_venue(_spec(server))
    t0 = v.now_ms() - 1000
    c = make_cloid("okx", "BTC", "many", "entry")
    v.place(OrderRequest(cloid=c, symbol="BTC", side="buy", size=0.001, kind="market"))
    e = server.engine
    (real,) = e.fills
    with e.lock:  # 249 more partial fills of the same order (3 pages of 100)
        for i in range(249):
            e.fills.append(Fill(real.tid + 1 + i, real.oid, real.client_id, "BTC", "buy", 0.0001,
                                real.price, 0.01, 0.0, True, real.time_ms - 1 - i // 7))  # fmt: skip
    fills = v.fills_since(t0)
    assert len(fills) == 250 and len({f.trade_id for f in fills}) == 250
    assert {f.cloid for f in fills} == {c}
    assert [f.time_ms for f in fills] == sorted(f.time_ms for f in fills)
    pages = [q for m, p, q in server.requests
             if p == "/api/v5/trade/fills-history" and q["instId"] == "BTC-USDT-SWAP"]  # fmt: skip
    assert len(pages) == 3 and "after" not in pages[0]
    assert int(pages[2]["after"]) < int(pages[1]["after"])  # each page older than the last
    v.close()


def test_demo_trading_needs_the_simulated_trading_header(server: LoopbackServer) -> None:
    server.dialect.demo = True  # type: ignore[attr-defined]
    with pytest.raises(VenueError, match="authentication refused"):
        make_venue(_spec(server))  # a live-trading client: no x-simulated-trading header
    ex = ccxt.okx({"apiKey": "key", "secret": "secret", "password": "pass",
                   "options": {"defaultType": "swap", "fetchMarkets": {"types": ["swap"]}}})  # fmt: skip
    ex.set_sandbox_mode(True)  # what network=testnet does: OKX demo trading
    _point_at_loopback(ex, server.base_url)
    v = CcxtVenue(_spec(server), exchange=ex)
    assert v.equity() > 0
    v.close()


def test_start_is_idempotent_with_a_position_open(server: LoopbackServer) -> None:
    server.engine.account.hedge_mode = True
    v = make_venue(_spec(server, leverage=5))
    assert server.engine.account.hedge_mode is False
    assert server.engine.account.leverage == {"BTC": 5, "ETH": 5}
    v.place(OrderRequest(cloid=make_cloid("okx", "BTC", "idem", "entry"), symbol="BTC",
                         side="buy", size=0.001, kind="market"))  # fmt: skip
    again = make_venue(_spec(server, leverage=5))  # already net_mode: the mode is not asked again
    modes = [p for m, p, _ in server.requests if p == "/api/v5/account/set-position-mode"]
    assert len(modes) == 1  # the first start only
    assert [p.size for p in again.positions()] == [0.001]
    v.close()
    again.close()


def test_insufficient_margin_is_a_rejection_with_okx_text(server: LoopbackServer) -> None:
    v = make_venue(_spec(server, leverage=1))
    c = make_cloid("okx", "BTC", "huge", "entry")
    with pytest.raises(OrderRejected, match="Margin is insufficient") as err:
        v.place(OrderRequest(cloid=c, symbol="BTC", side="buy", size=5.0, kind="market"))
    assert err.value.cloid == c
    assert v.positions() == [] and v.order_by_cloid("BTC", c) is None
    v.close()
