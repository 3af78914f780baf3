"""Bybit specifics beyond the shared suites, on the Bybit v5 loopback: cursor paging of fills and
open orders past one page, idempotent start, orderLinkId rules, duplicate client ids looked up
(never rejected), conditional orders on the wrong side refused with Bybit's text."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from pydantic import SecretStr

from actors.messages import make_cloid
from actors.venues.base import OrderRejected, OrderRequest, VenueError, VenueUnavailable
from actors.venues.ccxt_spec import CcxtSpec
from actors.venues.ccxt_venue import CcxtVenue
from actors.venues.factory import make_venue
from actors.venues.loopback import LoopbackServer, run_loopback
from tests.conftest import MARKET


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with run_loopback("bybit", market_dir=MARKET, symbols=["BTC", "ETH"], api_key="key",
                      secret="secret") as srv:  # fmt: skip
        yield srv


def _venue(srv: LoopbackServer, **kw: object) -> CcxtVenue:
    fields: dict[str, object] = dict(
        exchange="bybit", network="loopback", api_key=SecretStr("key"),
        secret=SecretStr("secret"), symbols=("BTC",), base_url=srv.base_url,
    )  # fmt: skip
    fields.update(kw)
    v = make_venue(CcxtSpec(**fields))  # type: ignore[arg-type]
    assert isinstance(v, CcxtVenue)
    return v


def _calls(srv: LoopbackServer, path: str) -> list[dict[str, str]]:
    return [q for _, p, q in srv.requests if p == path]


def test_fills_page_by_cursor_past_one_page_each_once(server: LoopbackServer) -> None:
    v = _venue(server)
    t0 = v.now_ms()
    n = 130  # more than one /v5/execution/list page of 100
    for i in range(n):
        side = "buy" if i % 2 == 0 else "sell"
        v.place(OrderRequest(cloid=make_cloid("bybit", "BTC", f"f{i}", "entry"), symbol="BTC",
                             side=side, size=0.001, kind="market"))  # fmt: skip
    before = len(_calls(server, "/v5/execution/list"))
    fills = v.fills_since(t0)
    calls = _calls(server, "/v5/execution/list")[before:]
    assert len(fills) == n and len({f.trade_id for f in fills}) == n
    assert [f.cloid for f in fills] == [make_cloid("bybit", "BTC", f"f{i}", "entry")
                                        for i in range(n)]  # fmt: skip
    assert [f.time_ms for f in fills] == sorted(f.time_ms for f in fills)
    assert any("cursor" in q for q in calls)  # the second page was asked for by cursor
    assert all(int(q["endTime"]) - int(q["startTime"]) <= 7 * 86_400_000 for q in calls)
    assert sum(f.closed_pnl != 0 for f in fills) >= n // 2 - 1  # every close realises PnL


def test_open_orders_page_by_cursor_past_one_page(server: LoopbackServer) -> None:
    v = _venue(server)
    mark = server.engine.mark("BTC")
    want = set()
    for i in range(55):  # /v5/order/realtime pages hold at most 50
        c = make_cloid("bybit", "BTC", f"o{i}", "entry")
        v.place(OrderRequest(cloid=c, symbol="BTC", side="buy", size=0.001, kind="limit",
                             price=mark * (0.8 - i * 0.001)))  # fmt: skip
        want.add(c)
    assert {o.cloid for o in v.open_orders()} == want
    pages = [q for q in _calls(server, "/v5/order/realtime") if "settleCoin" in q]
    assert any("cursor" in q for q in pages)


def test_candles_longer_than_one_page_have_no_gap(server: LoopbackServer) -> None:
    v = _venue(server)
    now = v.now_ms()
    step = 300_000
    start = now - now % step - 1500 * step  # 1500 bars: more than one kline page of 1000
    candles = v.candles("BTC", "5m", start, now)
    times = [c.time_ms for c in candles]
    assert times[0] == start and len(times) >= 1498
    assert all(b - a == step for a, b in zip(times, times[1:], strict=False))


def test_second_start_is_idempotent_not_modified_is_success(server: LoopbackServer) -> None:
    _venue(server, leverage=5)
    _venue(server, leverage=5)  # 110025 mode and 110043 leverage not modified: still starts
    assert server.engine.leverage("BTC") == 5 and server.engine.account.hedge_mode is False


def test_classic_account_is_refused_at_start_with_a_clear_error(server: LoopbackServer) -> None:
    server.dialect.uta = False  # type: ignore[attr-defined]
    with pytest.raises(VenueError, match="not a unified trading account") as err:
        _venue(server)
    assert not isinstance(err.value, VenueUnavailable)  # not a transient: do not retry


def test_duplicate_client_id_is_unavailable_then_found(server: LoopbackServer) -> None:
    v = _venue(server)
    c = make_cloid("bybit", "BTC", "dup", "entry")
    req = OrderRequest(cloid=c, symbol="BTC", side="buy", size=0.001, kind="limit",
                       price=server.engine.mark("BTC") * 0.9)  # fmt: skip
    v.place(req)
    with pytest.raises(VenueUnavailable, match="duplicate"):
        v.place(req)  # 110072: the order exists, so the outcome is a lookup, never a reject
    found = v.order_by_cloid("BTC", c)
    assert found is not None and found.status == "open"
    assert [o.cloid for o in v.open_orders()] == [c]


def test_stop_on_the_wrong_side_is_rejected_with_bybits_text(server: LoopbackServer) -> None:
    v = _venue(server)
    v.place(OrderRequest(cloid=make_cloid("bybit", "BTC", "e", "entry"), symbol="BTC",
                         side="buy", size=0.002, kind="market"))  # fmt: skip
    c = make_cloid("bybit", "BTC", "bad-sl", "sl")
    with pytest.raises(OrderRejected, match="expect Falling"):
        v.place(OrderRequest(cloid=c, symbol="BTC", side="sell", size=0.002, kind="stop_loss",
                             trigger_price=server.engine.mark("BTC") * 1.05))  # fmt: skip
    assert v.order_by_cloid("BTC", c) is None


def _signed(
    srv: LoopbackServer,
    path: str,
    body: dict[str, object] | None = None,
    query: str = "",
    ts_ms: int | None = None,
) -> dict[str, object]:
    """A request signed as Bybit documents it (not through ccxt): POST with a JSON body, else
    GET with ``query``."""
    import hashlib
    import hmac
    import time

    raw = json.dumps(body) if body is not None else query
    ts, window = str(ts_ms if ts_ms is not None else int(time.time() * 1000)), "5000"
    sig = hmac.new(b"secret", f"{ts}key{window}{raw}".encode(), hashlib.sha256).hexdigest()
    headers = {"X-BAPI-API-KEY": "key", "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": window,
               "X-BAPI-SIGN": sig, "Content-Type": "application/json"}  # fmt: skip
    if body is not None:
        reply = requests.post(srv.base_url + path, data=raw, headers=headers, timeout=10).json()
    else:
        reply = requests.get(f"{srv.base_url}{path}?{query}", headers=headers, timeout=10).json()
    assert isinstance(reply, dict)
    return reply


@pytest.mark.parametrize("link", ["x" * 37, "has space", "semi;colon"])
def test_loopback_refuses_order_link_ids_bybit_refuses(server: LoopbackServer, link: str) -> None:
    reply = _signed(server, "/v5/order/create", {
        "category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
        "qty": "0.001", "price": "50000.0", "orderLinkId": link,
    })  # fmt: skip
    assert reply["retCode"] == 10001 and "orderLinkId" in str(reply["retMsg"])
    assert server.engine.orders == {}


def test_loopback_envelope_signature_and_stale_timestamp(server: LoopbackServer) -> None:
    import time

    ok = requests.get(server.base_url + "/v5/market/time", timeout=10).json()
    assert ok["retCode"] == 0 and ok["retMsg"] == "OK" and "timeSecond" in ok["result"]
    query = "category=linear&settleCoin=USDT"
    good = _signed(server, "/v5/position/list", query=query)
    assert good["retCode"] == 0 and good["result"]["list"] == []  # type: ignore[index]
    stale = _signed(
        server, "/v5/position/list", query=query, ts_ms=int(time.time() * 1000) - 60_000
    )
    assert stale["retCode"] == 10002 and "recv_window" in str(stale["retMsg"])
    headers = {"X-BAPI-API-KEY": "key", "X-BAPI-TIMESTAMP": str(int(time.time() * 1000)),
               "X-BAPI-RECV-WINDOW": "5000", "X-BAPI-SIGN": "0" * 64}  # fmt: skip
    forged = requests.get(f"{server.base_url}/v5/position/list?{query}", headers=headers,
                          timeout=10).json()  # fmt: skip
    assert forged["retCode"] == 10004


def test_wrong_key_and_too_little_margin_are_clear(server: LoopbackServer) -> None:
    with pytest.raises(VenueError, match="authentication refused.*API key is invalid"):
        _venue(server, api_key=SecretStr("not-the-key"))
    v = _venue(server)
    c = make_cloid("bybit", "BTC", "huge", "entry")
    with pytest.raises(OrderRejected):  # 110007: 10 BTC on 10,000 USDT at 3x
        v.place(OrderRequest(cloid=c, symbol="BTC", side="buy", size=10.0, kind="market"))
    assert v.positions() == [] and v.order_by_cloid("BTC", c) is None


def test_loopback_cancel_of_an_unknown_order_is_110001(server: LoopbackServer) -> None:
    reply = _signed(server, "/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT",
                                                 "orderLinkId": "never-placed"})  # fmt: skip
    assert reply["retCode"] == 110001 and reply["result"] == {}


def test_dialect_refuses_a_client_id_bybit_would_refuse_before_sending() -> None:
    import ccxt

    from actors.venues.ccxt_bybit import BybitDialect

    class NoNetwork:
        def create_order(self, *args: object) -> None:
            raise AssertionError("sent")

    with pytest.raises(ccxt.InvalidOrder, match="orderLinkId"):
        BybitDialect().create(NoNetwork(), "BTC/USDT:USDT", "market", "buy", 0.001, None,
                              {"clientOrderId": "x" * 37})  # fmt: skip
