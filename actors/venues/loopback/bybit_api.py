"""Bybit v5 (``/v5``, category ``linear``) as ccxt's ``bybit`` calls it, on the loopback core.

Every reply is Bybit's envelope ``{"retCode", "retMsg", "result", "retExtInfo", "time"}`` with
HTTP 200, errors included (retCodes as ccxt's table reads them: 10001 parameters, 10002 clock,
10003/10004 key and signature, 10006 rate limit, 110001 no such order, 110007 margin, 110017
reduce-only, 110025/110043 not modified, 110072 duplicate ``orderLinkId``, 110092/110093 trigger
on the wrong side). Private requests are HMAC-SHA256 signed over timestamp + key + recv window +
(query string | JSON body), sent in the ``X-BAPI-*`` headers. Lists are newest first and paged by
an opaque ``cursor`` as Bybit's are. Prices are the shipped Binance candles (see markets.py):
the loopback checks Bybit's formats and paging, not Bybit's price history.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from actors.venues.loopback import bybit_render as br
from actors.venues.loopback.bybit_orders import BybitReject, place
from actors.venues.loopback.bybit_params import BybitError, Params, integer, page_of, window
from actors.venues.loopback.engine import Engine, Order, Reject

INTERVALS = {"1": 60_000, "3": 180_000, "5": 300_000, "15": 900_000, "30": 1_800_000,
             "60": 3_600_000, "120": 7_200_000, "240": 14_400_000, "360": 21_600_000,
             "720": 43_200_000, "D": 86_400_000}  # fmt: skip
CODES = {  # neutral reject reason -> Bybit retCode
    "bad_symbol": 10001, "duplicate": 110072, "bad_qty": 10001, "bad_price": 10001,
    "bad_param": 10001, "min_notional": 110094, "reduce_only": 110017, "margin": 110007,
    "unknown_order": 110001, "bad_leverage": 10001, "no_price": 10001, "reject": 110007,
    "not_found": 110001,
}  # fmt: skip


class BybitApi:
    """Routes for one account (``api_key``/``secret``) on ``engine``."""

    name = "bybit"

    def __init__(self, engine: Engine, api_key: str, secret: str) -> None:
        self.engine, self.api_key, self.secret = engine, api_key, secret
        self.uta = True  # a test may make the account a classic one

    def routes(self, app: web.Application) -> None:
        public: dict[str, Callable[[Params], Any]] = {
            "/v5/market/time": self.time, "/v5/market/instruments-info": self.instruments,
            "/v5/market/tickers": self.tickers, "/v5/market/kline": self.kline,
            "/v5/market/funding/history": self.funding,
        }  # fmt: skip
        private_get: dict[str, Callable[[Params], Any]] = {
            "/v5/asset/coin/query-info": self.coins, "/v5/user/query-api": self.api_info,
            "/v5/account/info": self.account_info, "/v5/order/realtime": self.realtime,
            "/v5/order/history": self.history, "/v5/execution/list": self.executions,
            "/v5/position/list": self.positions, "/v5/account/wallet-balance": self.wallet,
        }  # fmt: skip
        private_post: dict[str, Callable[[Params], Any]] = {
            "/v5/order/create": self.create, "/v5/order/cancel": self.cancel,
            "/v5/position/set-leverage": self.set_leverage,
            "/v5/position/switch-mode": self.switch_mode,
            "/v5/account/upgrade-to-uta": self.upgrade,
        }  # fmt: skip
        for path, fn in public.items():
            app.router.add_get(path, self._wrap(fn, signed=False))
        for path, fn in private_get.items():
            app.router.add_get(path, self._wrap(fn, signed=True))
        for path, fn in private_post.items():
            app.router.add_post(path, self._wrap(fn, signed=True))

    # ----- plumbing ---------------------------------------------------------------------------
    def is_write(self, request: web.Request) -> bool:
        return request.method != "GET"

    def _reply(self, code: int, msg: str, result: Any) -> web.Response:
        return web.json_response({"retCode": code, "retMsg": msg, "result": result,
                                  "retExtInfo": {}, "time": self.engine.now()})  # fmt: skip

    def rate_limited(self) -> web.Response:
        reply = self._reply(10006, "Too many visits. Exceeded the API Rate Limit.", {})
        reply.headers["X-Bapi-Limit-Status"] = "0"
        return reply

    def maintenance(self) -> web.Response:
        return web.Response(status=503, text="<html>503 Service Temporarily Unavailable</html>",
                            content_type="text/html")  # fmt: skip

    def reject_code(self) -> str:
        return "reject"

    def _wrap(self, fn: Callable[[Params], Any], signed: bool) -> Any:
        async def handler(request: web.Request) -> web.Response:
            try:
                p = await self._params(request, signed)
                return self._reply(0, "OK", fn(p))
            except BybitError as exc:
                return self._reply(exc.code, exc.msg, {})
            except BybitReject as r:
                return self._reply(r.ret_code, r.message, {})
            except Reject as r:
                return self._reply(CODES.get(r.code, 10001), r.message, {})

        return handler

    async def _params(self, request: web.Request, signed: bool) -> Params:
        raw = await request.text() if request.method == "POST" else ""
        query = unquote(request.rel_url.raw_query_string)
        if signed:
            self._check_signature(request, raw if request.method == "POST" else query)
        if request.method != "POST":
            return dict(request.query)
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            raise BybitError(10001, "params error: request body is not JSON") from None
        if not isinstance(body, dict):
            raise BybitError(10001, "params error: request body is not an object")
        return body

    def _check_signature(self, request: web.Request, payload: str) -> None:
        h = request.headers
        if h.get("X-BAPI-API-KEY") != self.api_key:
            raise BybitError(10003, "API key is invalid.")
        ts, window = h.get("X-BAPI-TIMESTAMP", ""), h.get("X-BAPI-RECV-WINDOW", "5000")
        want = hmac.new(self.secret.encode(), f"{ts}{self.api_key}{window}{payload}".encode(),
                        hashlib.sha256).hexdigest()  # fmt: skip
        if not hmac.compare_digest(h.get("X-BAPI-SIGN", ""), want):
            raise BybitError(10004, "error sign! Please check your signature generation.")
        server = int(time.time() * 1000)  # signatures are checked against the wall clock
        if (
            not ts.isdigit()
            or not window.isdigit()
            or not (server - int(window) <= int(ts) < server + 1000)
        ):
            raise BybitError(10002, f"invalid request, please check your server timestamp or "
                             f"recv_window param. req_timestamp[{ts}],server_timestamp[{server}],"
                             f"recv_window[{window}]")  # fmt: skip

    def _symbol(self, p: Params, required: bool = True) -> str | None:
        if p.get("category", "linear") != "linear":
            raise BybitError(10001, "params error: only category linear is served")
        market_id = p.get("symbol")
        if not market_id:
            if required:
                raise BybitError(10001, "params error: symbol is required")
            return None
        if not str(market_id).endswith("USDT") or str(market_id)[:-4] not in self.engine.markets:
            raise BybitError(10001, "Not supported symbols")
        return str(market_id)[:-4]

    def _scope(self, p: Params) -> str | None:
        """A symbol, or every market of ``settleCoin`` USDT (one of the two is required)."""
        symbol = self._symbol(p, required=False)
        if symbol is None and p.get("settleCoin") != "USDT" and not p.get("baseCoin"):
            raise BybitError(10001, "params error: symbol or settleCoin is required")
        return symbol

    # ----- public -----------------------------------------------------------------------------
    def time(self, p: Params) -> Params:
        now = self.engine.now()
        return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}

    def instruments(self, p: Params) -> Params:
        """Linear perpetuals; other categories (spot, inverse, option) are listed empty."""
        category = str(p.get("category", ""))
        if category not in ("linear", "spot", "inverse", "option"):
            raise BybitError(10001, "params error: category invalid")
        if category != "linear":
            return {"category": category, "list": [], "nextPageCursor": ""}
        self._symbol(p, required=False)
        rows = [] if p.get("status") == "PreLaunch" else [
            br.instrument(m) for s, m in self.engine.markets.items()
            if p.get("symbol") in (None, f"{s}USDT")
        ]  # fmt: skip
        return {"category": "linear", "list": rows, "nextPageCursor": ""}

    def tickers(self, p: Params) -> Params:
        only = self._symbol(p, required=False)
        e, rows = self.engine, []
        with e.lock:
            e.advance()
            for s, m in e.markets.items():
                if only not in (None, s):
                    continue
                last = br.num(e.mark(s), m.tick)
                rows.append({
                    "symbol": f"{s}USDT", "lastPrice": last, "markPrice": last,
                    "indexPrice": last, "prevPrice24h": last, "price24hPcnt": "0",
                    "highPrice24h": last, "lowPrice24h": last, "volume24h": "0",
                    "turnover24h": "0", "openInterest": "0", "openInterestValue": "0",
                    "fundingRate": "0.0001", "nextFundingTime": "0", "bid1Price": last,
                    "bid1Size": "1", "ask1Price": last, "ask1Size": "1", "deliveryTime": "0",
                    "basisRate": "", "deliveryFeeRate": "", "predictedDeliveryPrice": "",
                })  # fmt: skip
        return {"category": "linear", "list": rows}

    def kline(self, p: Params) -> Params:
        symbol = self._symbol(p)
        assert symbol is not None
        step = INTERVALS.get(str(p.get("interval")))
        if step is None:
            raise BybitError(10001, "params error: interval invalid")
        limit = integer(p, "limit", 200)
        if not 1 <= limit <= 1000:
            raise BybitError(10001, "params error: limit must be in [1, 1000]")
        start = integer(p, "start", -1)
        end = integer(p, "end", -1)
        if start >= 0 and end >= 0:
            # Bybit's docs do not say which end of a range longer than ``limit`` is served; the
            # loopback serves the newest ``limit`` bars (the reading a client can get wrong)
            span = max((end - start) // step + 1, 1)
            rows = self.engine.candles(symbol, step, start, end, span)[-limit:]
        else:
            rows = self.engine.candles(symbol, step, start if start >= 0 else None,
                                       end if end >= 0 else None, limit)  # fmt: skip
        return {"symbol": f"{symbol}USDT", "category": "linear", "list": [
            [str(t), br.num(o), br.num(h), br.num(lo), br.num(c), br.num(v), br.num(v * c)]
            for t, o, h, lo, c, v in reversed(rows)
        ]}  # fmt: skip

    def funding(self, p: Params) -> Params:
        """Settled prints up to the server clock, newest first; startTime alone is refused."""
        symbol = self._symbol(p)
        assert symbol is not None
        if "startTime" in p and "endTime" not in p:
            raise BybitError(10001, "params error: endTime is required with startTime")
        limit = integer(p, "limit", 200)
        if not 1 <= limit <= 200:
            raise BybitError(10001, "params error: limit must be in [1, 200]")
        f = self.engine.markets[symbol].funding
        now = self.engine.now()
        rows: list[Any] = []
        if f is not None:
            hi = min(integer(p, "endTime", now), now)
            sel = f[(f[:, 0] >= integer(p, "startTime", 0)) & (f[:, 0] <= hi)]
            rows = [(int(t), r) for t, r in sel[::-1][:limit]]
        return {"category": "linear", "list": [
            {"symbol": f"{symbol}USDT", "fundingRate": f"{r:.8f}", "fundingRateTimestamp": str(t)}
            for t, r in rows
        ]}  # fmt: skip

    # ----- account set-up (what ccxt probes at load and the venue sets at start) ---------------
    def coins(self, p: Params) -> Params:
        coins = ["USDT", *self.engine.markets]
        return {"rows": [{"name": c, "coin": c, "remainAmount": "1000000", "chains": []}
                         for c in coins]}  # fmt: skip

    def api_info(self, p: Params) -> Params:
        return {"id": "1", "note": "loopback", "apiKey": self.api_key, "readOnly": 0,
                "secret": "", "permissions": {"ContractTrade": ["Order", "Position"],
                                              "Wallet": ["AccountTransfer"]},
                "ips": ["*"], "type": 1, "deadlineDay": 90, "unified": 0, "uta": int(self.uta),
                "userID": 1, "inviterID": 0, "vipLevel": "No VIP", "mktMakerLevel": "0",
                "affiliateID": 0, "isMaster": True}  # fmt: skip

    def account_info(self, p: Params) -> Params:
        return {"marginMode": "REGULAR_MARGIN", "updatedTime": str(self.engine.now()),
                "unifiedMarginStatus": 6, "dcpStatus": "OFF", "timeWindow": 10,
                "smpGroup": 0, "isMasterTrader": False, "spotHedgingStatus": "OFF"}  # fmt: skip

    def upgrade(self, p: Params) -> Params:
        raise BybitError(3400043, "The account is already a unified trading account")

    def set_leverage(self, p: Params) -> Params:
        symbol = self._symbol(p)
        assert symbol is not None
        buy, sell = str(p.get("buyLeverage", "")), str(p.get("sellLeverage", ""))
        if buy != sell:
            raise BybitError(10001, "buy leverage must equal sell leverage in one-way mode")
        try:
            lev = Decimal(buy)
        except InvalidOperation:
            raise BybitError(10001, "params error: buyLeverage invalid") from None
        if lev != lev.to_integral_value():
            raise BybitError(10001, "the loopback serves whole-number leverage only")
        if int(lev) == self.engine.leverage(symbol):
            raise BybitError(110043, "leverage not modified")
        self.engine.set_leverage(symbol, int(lev))
        return {}

    def switch_mode(self, p: Params) -> Params:
        self._symbol(p, required=False)
        mode = integer(p, "mode")
        if mode not in (0, 3):
            raise BybitError(10001, "params error: mode must be 0 (one-way) or 3 (hedge)")
        acct = self.engine.account
        if (mode == 3) == acct.hedge_mode:
            raise BybitError(110025, "Position mode is not modified")
        if acct.positions or self.engine.open_orders():
            raise BybitError(110024, "You have existing positions or orders, so position mode "
                             "cannot be switched")  # fmt: skip
        acct.hedge_mode = mode == 3
        return {}

    def wallet(self, p: Params) -> Params:
        want = "UNIFIED" if self.uta else "CONTRACT"
        if p.get("accountType") != want:
            raise BybitError(10001, f"accountType only support {want}.")
        with self.engine.lock:
            self.engine.advance()
            return {"list": [br.wallet(self.engine)]}

    def positions(self, p: Params) -> Params:
        e = self.engine
        symbol = self._scope(p)
        with e.lock:
            e.advance()
            names = [symbol] if symbol is not None else sorted(e.account.positions)
            rows = [br.position(e, s) for s in names]
        return {"category": "linear", "list": rows, "nextPageCursor": ""}

    # ----- orders -----------------------------------------------------------------------------
    def create(self, p: Params) -> Params:
        o = place(self.engine, self._symbol(p) or "", p)
        return {"orderId": br.uid(o.oid), "orderLinkId": o.client_id}

    def cancel(self, p: Params) -> Params:
        symbol = self._symbol(p)
        assert symbol is not None
        o = self._lookup(symbol, p)
        if o is None or o.status not in ("new", "partially_filled"):
            raise BybitError(110001, "Order does not exist.")
        o = self.engine.cancel(symbol, o.client_id)
        return {"orderId": br.uid(o.oid), "orderLinkId": o.client_id}

    def _lookup(self, symbol: str | None, p: Params) -> Order | None:
        e = self.engine
        if p.get("orderLinkId"):
            oid = e.by_client.get(str(p["orderLinkId"]))
        elif p.get("orderId"):
            oid = br.oid_of(str(p["orderId"]))
        else:
            raise BybitError(10001, "params error: orderId or orderLinkId is required")
        o = e.orders.get(oid) if oid is not None else None
        return o if o is not None and symbol in (None, o.symbol) else None

    def _orders(self, p: Params, rows: list[Order]) -> Params:
        flt = p.get("orderFilter")
        if flt == "StopOrder":
            rows = [o for o in rows if o.trigger is not None]
        elif flt == "Order":
            rows = [o for o in rows if o.trigger is None]
        page, cursor = page_of(rows, lambda o: (o.time_ms, o.oid), p, 20, 50)
        return {"category": "linear", "list": [br.order(self.engine, o) for o in page],
                "nextPageCursor": cursor}  # fmt: skip

    def realtime(self, p: Params) -> Params:
        """Open orders; asked by id, the order in any status (recent orders, as Bybit)."""
        e = self.engine
        symbol = self._scope(p) if not (p.get("orderId") or p.get("orderLinkId")) else (
            self._symbol(p, required=False))  # fmt: skip
        with e.lock:
            e.advance()
            if p.get("orderId") or p.get("orderLinkId"):
                found = self._lookup(symbol, p)
                rows = [found] if found is not None else []
            else:
                rows = e.open_orders(symbol)
            return self._orders(p, [o for o in rows if o.oid in self._visible()])

    def history(self, p: Params) -> Params:
        """Orders no longer open (filled, cancelled, deactivated), in a 7-day window unless
        asked by id."""
        e = self.engine
        symbol = self._symbol(p, required=False)
        with e.lock:
            e.advance()
            if p.get("orderId") or p.get("orderLinkId"):
                found = self._lookup(symbol, p)
                rows = [found] if found is not None else []
            else:
                lo, hi = window(p, e.now())
                rows = [o for o in e.orders.values() if symbol in (None, o.symbol)
                        and lo <= o.time_ms <= hi]  # fmt: skip
            rows = [o for o in rows if o.oid in self._visible()
                    and br.order(e, o)["orderStatus"] not in ("New", "PartiallyFilled",
                                                              "Untriggered")]  # fmt: skip
            return self._orders(p, rows)

    def _visible(self) -> set[int]:
        """Order ids a client sees: a fired conditional's market child is the same order."""
        children = {o.child_oid for o in self.engine.orders.values() if o.child_oid is not None}
        return set(self.engine.orders) - children

    def executions(self, p: Params) -> Params:
        e = self.engine
        symbol = self._symbol(p, required=False)
        with e.lock:
            e.advance()
            lo, hi = window(p, e.now())
            parents = {o.child_oid: o for o in e.orders.values() if o.child_oid is not None}
            rows = [f for f in e.fills if symbol in (None, f.symbol) and lo <= f.time_ms <= hi
                    and p.get("orderLinkId") in (None, f.client_id)]  # fmt: skip
            page, cursor = page_of(rows, lambda f: (f.time_ms, f.tid), p, 50, 100)
            return {"category": "linear", "nextPageCursor": cursor,
                    "list": [br.execution(e, f, parents.get(f.oid)) for f in page]}  # fmt: skip
