"""Binance USDⓈ-M futures (``/fapi``) as ccxt's ``binanceusdm`` calls it, on the loopback core.

Shapes follow Binance's documented replies (the same ones ccxt's static fixtures record):
orders (``/fapi/v1/order``), conditional orders on the algo API (``/fapi/v1/algoOrder``, with
``clientAlgoId`` and ``algoStatus``), ``userTrades`` without client ids (the adapter maps order
ids), ``{"code": -NNNN, "msg": ...}`` errors with HTTP 400. Requests are HMAC-SHA256 signed over
the query (GET/DELETE) or form body (POST); a wrong key or signature is refused like the venue.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from actors.venues.loopback.engine import Engine, Order, Reject

INTERVALS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
             "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000,
             "8h": 28_800_000, "12h": 43_200_000, "1d": 86_400_000}  # fmt: skip
CODES = {  # neutral reject reason -> Binance code
    "bad_symbol": -1121, "duplicate": -4116, "bad_qty": -4003, "bad_price": -4014,
    "bad_param": -1102, "min_notional": -4164, "reduce_only": -2022, "margin": -2019,
    "unknown_order": -2011, "bad_leverage": -4028, "no_price": -1121, "reject": -2019,
    "not_found": -2013,
}  # fmt: skip
ALGO_STATUS = {"new": "NEW", "partially_filled": "NEW", "triggered": "FINISHED",
               "canceled": "CANCELED", "expired": "EXPIRED", "rejected": "REJECTED",
               "filled": "FINISHED"}  # fmt: skip
TRADE_WINDOW_MS = 7 * 86_400_000


def _error(code: int, msg: str, status: int = 400) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


def _num(x: float | None, tick: Decimal | None = None) -> str:
    if x is None:
        return "0"
    if tick is not None:
        return str((Decimal(repr(x)) / tick).to_integral_value() * tick)
    return format(x, "f")


class BinanceApi:
    """Routes for one account (``api_key``/``secret``) on ``engine``."""

    name = "binanceusdm"

    def __init__(self, engine: Engine, api_key: str, secret: str) -> None:
        self.engine, self.api_key, self.secret = engine, api_key, secret

    def routes(self, app: web.Application) -> None:
        get, post, delete = app.router.add_get, app.router.add_post, app.router.add_delete
        get("/fapi/v1/time", self.time)
        get("/fapi/v1/exchangeInfo", self.exchange_info)
        get("/fapi/v1/klines", self.klines)
        get("/fapi/v1/fundingRate", self.funding_rate)
        for path, handler in (
            ("/fapi/v1/order", self.order), ("/fapi/v1/algoOrder", self.algo_order),
            ("/fapi/v1/openOrders", self.open_orders),
            ("/fapi/v1/openAlgoOrders", self.open_algo_orders),
            ("/fapi/v1/userTrades", self.user_trades), ("/fapi/v2/balance", self.balance),
            ("/fapi/v3/balance", self.balance), ("/fapi/v2/account", self.account),
            ("/fapi/v3/account", self.account), ("/fapi/v2/positionRisk", self.position_risk),
            ("/fapi/v3/positionRisk", self.position_risk), ("/fapi/v1/income", self.income),
        ):  # fmt: skip
            get(path, handler)
        post("/fapi/v1/order", self.order)
        post("/fapi/v1/algoOrder", self.algo_order)
        delete("/fapi/v1/order", self.order)
        delete("/fapi/v1/algoOrder", self.algo_order)
        get("/fapi/v1/leverageBracket", self.brackets)
        post("/fapi/v1/leverage", self.leverage)
        post("/fapi/v1/positionSide/dual", self.position_mode)
        get("/fapi/v1/positionSide/dual", self.position_mode)

    # ----- plumbing ---------------------------------------------------------------------------
    def is_write(self, request: web.Request) -> bool:
        """Requests that change the account (the ``/exchange`` of fault injection)."""
        return request.method != "GET"

    def rate_limited(self) -> web.Response:
        return _error(-1003, "Too many requests; current limit of IP is 2400 requests per "
                             "minute.", 429)  # fmt: skip

    def maintenance(self) -> web.Response:
        return web.Response(status=503, text="Service Unavailable", content_type="text/html")

    def reject_code(self) -> str:
        return "reject"

    async def _signed(self, request: web.Request) -> dict[str, str] | web.Response:
        raw = request.query_string if request.method in ("GET", "DELETE") else await request.text()
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            return _error(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        payload, sep, sig = raw.rpartition("&signature=")
        want = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not sep or not hmac.compare_digest(sig, want):
            return _error(-1022, "Signature for this request is not valid.")
        return dict(parse_qsl(payload, keep_blank_values=True))

    def _symbol(self, market_id: str | None) -> str:
        if (
            not market_id
            or not market_id.endswith("USDT")
            or market_id[:-4] not in self.engine.markets
        ):
            raise Reject("bad_symbol", "Invalid symbol.")
        return market_id[:-4]

    def _reject(self, r: Reject) -> web.Response:
        return _error(CODES.get(r.code, -1000), r.message)

    # ----- public -----------------------------------------------------------------------------
    async def time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": self.engine.now()})

    async def exchange_info(self, request: web.Request) -> web.Response:
        symbols = []
        for s, m in self.engine.markets.items():
            r = m.rules
            symbols.append({
                "symbol": f"{s}USDT", "pair": f"{s}USDT", "contractType": "PERPETUAL",
                "deliveryDate": 4133404800000, "onboardDate": 1569398400000, "status": "TRADING",
                "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
                "baseAsset": s, "quoteAsset": "USDT", "marginAsset": "USDT",
                "pricePrecision": max(0, -m.tick.normalize().as_tuple().exponent),  # type: ignore[operator]
                "quantityPrecision": max(0, -m.step.normalize().as_tuple().exponent),  # type: ignore[operator]
                "baseAssetPrecision": 8, "quotePrecision": 8, "underlyingType": "COIN",
                "underlyingSubType": [], "triggerProtect": "0.0500", "liquidationFee": "0.012500",
                "marketTakeBound": "0.05", "maxMoveOrderLimit": 10000,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": r.tick, "maxPrice": "4529764",
                     "tickSize": r.tick},
                    {"filterType": "LOT_SIZE", "minQty": r.min_qty, "maxQty": "1000000",
                     "stepSize": r.step},
                    {"filterType": "MARKET_LOT_SIZE", "minQty": r.min_qty, "maxQty": "1000000",
                     "stepSize": r.step},
                    {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                    {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                    {"filterType": "MIN_NOTIONAL", "notional": str(m.min_notional)},
                    {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500",
                     "multiplierDown": "0.9500", "multiplierDecimal": "4"},
                ],
                "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                               "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
                "permissionSets": ["GRID", "COPY"],
            })  # fmt: skip
        return web.json_response({
            "timezone": "UTC", "serverTime": self.engine.now(), "futuresType": "U_MARGINED",
            "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                            "intervalNum": 1, "limit": 2400}],
            "exchangeFilters": [],
            "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
            "symbols": symbols,
        })  # fmt: skip

    async def klines(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            symbol = self._symbol(q.get("symbol"))
        except Reject as r:
            return self._reject(r)
        step = INTERVALS.get(q.get("interval", ""))
        if step is None:
            return _error(-1120, "Invalid interval.")
        limit = min(int(q.get("limit", 500)), 1500)
        start = int(q["startTime"]) if "startTime" in q else None
        end = int(q["endTime"]) if "endTime" in q else None
        rows = self.engine.candles(symbol, step, start, end, limit)
        return web.json_response([
            [t, _num(o), _num(h), _num(lo), _num(c), _num(v), t + step - 1, _num(v * c), 100,
             _num(v / 2), _num(v * c / 2), "0"]
            for t, o, h, lo, c, v in rows
        ])  # fmt: skip

    async def funding_rate(self, request: web.Request) -> web.Response:
        """Settled funding prints up to the server clock (never a future one)."""
        q = request.query
        try:
            symbol = self._symbol(q.get("symbol"))
        except Reject as r:
            return self._reject(r)
        f = self.engine.markets[symbol].funding
        if f is None:
            return web.json_response([])
        now = self.engine.now()
        limit = min(int(q.get("limit", 100)), 1000)
        lo = int(q.get("startTime", 0))
        hi = min(int(q.get("endTime", now)), now)
        rows = f[(f[:, 0] >= lo) & (f[:, 0] <= hi)]
        rows = rows[:limit] if "startTime" in q else rows[-limit:]
        return web.json_response([
            {"symbol": f"{symbol}USDT", "fundingTime": int(t), "fundingRate": f"{r:.8f}",
             "markPrice": "0"}
            for t, r in rows
        ])  # fmt: skip

    # ----- orders -----------------------------------------------------------------------------
    def _order_json(self, o: Order) -> dict[str, Any]:
        tick = self.engine.markets[o.symbol].tick
        status = {"new": "NEW", "partially_filled": "PARTIALLY_FILLED", "filled": "FILLED",
                  "canceled": "CANCELED", "expired": "EXPIRED", "rejected": "REJECTED",
                  "triggered": "FILLED"}[o.status]  # fmt: skip
        kind = {"limit": "LIMIT", "market": "MARKET", "stop": "STOP_MARKET",
                "take_profit": "TAKE_PROFIT_MARKET"}[o.kind]  # fmt: skip
        return {
            "orderId": o.oid, "symbol": f"{o.symbol}USDT", "status": status,
            "clientOrderId": o.client_id, "price": _num(o.price, tick) if o.price else "0",
            "avgPrice": _num(o.avg_price), "origQty": _num(o.qty), "executedQty": _num(o.filled),
            "cumQty": _num(o.filled), "cumQuote": _num(o.filled * o.avg_price),
            "timeInForce": "GTX" if o.post_only else ("GTC" if o.kind == "limit" else "GTC"),
            "type": kind, "reduceOnly": o.reduce_only, "closePosition": False,
            "side": o.side.upper(), "positionSide": "BOTH", "stopPrice": "0",
            "workingType": "CONTRACT_PRICE", "priceProtect": False, "origType": kind,
            "priceMatch": "NONE", "selfTradePreventionMode": "EXPIRE_MAKER", "goodTillDate": 0,
            "time": o.time_ms, "updateTime": o.update_ms,
        }  # fmt: skip

    def _algo_json(self, o: Order) -> dict[str, Any]:
        tick = self.engine.markets[o.symbol].tick
        return {
            "algoId": o.oid, "clientAlgoId": o.client_id, "algoType": "CONDITIONAL",
            "orderType": "STOP_MARKET" if o.kind == "stop" else "TAKE_PROFIT_MARKET",
            "symbol": f"{o.symbol}USDT", "side": o.side.upper(), "positionSide": "BOTH",
            "timeInForce": "GTC", "quantity": _num(o.qty), "algoStatus": ALGO_STATUS[o.status],
            "actualOrderId": str(o.child_oid) if o.child_oid is not None else "",
            "triggerPrice": _num(o.trigger, tick), "price": "0", "icebergQuantity": None,
            "selfTradePreventionMode": "EXPIRE_MAKER", "workingType": "CONTRACT_PRICE",
            "priceMatch": "NONE", "closePosition": False, "priceProtect": False,
            "reduceOnly": o.reduce_only, "activatePrice": "", "callbackRate": "",
            "createTime": o.time_ms, "updateTime": o.update_ms, "triggerTime": 0,
            "goodTillDate": 0,
        }  # fmt: skip

    async def order(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        try:
            symbol = self._symbol(p.get("symbol"))
            if request.method == "POST":
                return web.json_response(self._order_json(self._place(symbol, p, algo=False)))
            o = self._lookup(symbol, p, "origClientOrderId", "orderId", algo=False)
            if request.method == "DELETE":
                o = self.engine.cancel(symbol, o.client_id)
            return web.json_response(self._order_json(o))
        except Reject as r:
            return self._reject(r)

    async def algo_order(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        try:
            if request.method == "POST":
                placed = self._place(self._symbol(p.get("symbol")), p, algo=True)
                return web.json_response(self._algo_json(placed))
            only = self._symbol(p["symbol"]) if "symbol" in p else None
            o = self._lookup(only, p, "clientAlgoId", "algoId", algo=True)
            if request.method == "DELETE":
                o = self.engine.cancel(o.symbol, o.client_id)
                return web.json_response({"algoId": o.oid, "clientAlgoId": o.client_id,
                                          "code": "200", "msg": "success"})  # fmt: skip
            return web.json_response(self._algo_json(o))
        except Reject as r:
            return self._reject(r)

    def _lookup(
        self, symbol: str | None, p: dict[str, str], client_key: str, id_key: str, algo: bool
    ) -> Order:
        with self.engine.lock:
            self.engine.advance()
            o: Order | None = None
            if p.get(client_key):
                oid = self.engine.by_client.get(p[client_key])
                o = self.engine.orders.get(oid) if oid is not None else None
            elif p.get(id_key, "").isdigit():
                o = self.engine.orders.get(int(p[id_key]))
            else:
                raise Reject("bad_param", f"Param {client_key} or {id_key} must be sent.")
            is_algo = o is not None and o.trigger is not None
            if o is None or is_algo != algo or (symbol is not None and o.symbol != symbol):
                raise Reject("not_found", "Order does not exist.")
            return o

    def _place(self, symbol: str, p: dict[str, str], algo: bool) -> Order:
        kind_of = {"LIMIT": "limit", "MARKET": "market", "STOP_MARKET": "stop",
                   "TAKE_PROFIT_MARKET": "take_profit"}  # fmt: skip
        wire_type = p.get("type") if not algo else p.get("type", p.get("orderType"))
        kind = kind_of.get(str(wire_type))
        if kind is None or (kind in ("stop", "take_profit")) != algo:
            raise Reject("bad_param", f"Invalid orderType {wire_type!r} for this endpoint.")
        side = p.get("side", "").lower()
        if side not in ("buy", "sell"):
            raise Reject("bad_param", "Invalid side.")
        if p.get("positionSide", "BOTH") != "BOTH" or self.engine.account.hedge_mode:
            raise Reject("bad_param", "Order's position side does not match user's setting.")
        try:
            qty = Decimal(p.get("quantity", ""))
            price = Decimal(p["price"]) if p.get("price") not in (None, "", "0") else None
            trig_key = "triggerPrice" if algo else "stopPrice"
            trigger = Decimal(p[trig_key]) if p.get(trig_key) else None
        except InvalidOperation:
            raise Reject("bad_param", "Illegal characters found in a parameter.") from None
        client = p.get("clientAlgoId" if algo else "newClientOrderId") or f"x-{id(p)}"
        if len(client) > 36:
            raise Reject("bad_param", "Client order id length should be less than 36 chars")
        return self.engine.place(
            client_id=client, symbol=symbol, side=side,  # type: ignore[arg-type]
            kind=kind, qty=qty, price=price, trigger=trigger,  # type: ignore[arg-type]
            reduce_only=p.get("reduceOnly", "false").lower() == "true",
            post_only=p.get("timeInForce") == "GTX",
        )  # fmt: skip

    async def open_orders(self, request: web.Request) -> web.Response:
        return await self._open(request, algo=False)

    async def open_algo_orders(self, request: web.Request) -> web.Response:
        return await self._open(request, algo=True)

    async def _open(self, request: web.Request, algo: bool) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        try:
            symbol = self._symbol(p["symbol"]) if "symbol" in p else None
        except Reject as r:
            return self._reject(r)
        rows = [o for o in self.engine.open_orders(symbol) if (o.trigger is not None) == algo]
        render = self._algo_json if algo else self._order_json
        return web.json_response([render(o) for o in rows])

    async def user_trades(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        try:
            symbol = self._symbol(p.get("symbol"))
        except Reject as r:
            return self._reject(r)
        limit = min(int(p.get("limit", 500)), 1000)
        start = int(p["startTime"]) if "startTime" in p else None
        end = int(p["endTime"]) if "endTime" in p else None
        if start is not None and end is not None and end - start > TRADE_WINDOW_MS:
            return _error(-4166, "The time between startTime and endTime cannot be longer "
                                 "than 7 days.")  # fmt: skip
        if start is not None and end is None:
            end = start + TRADE_WINDOW_MS
        with self.engine.lock:
            self.engine.advance()
            rows = [f for f in self.engine.fills if f.symbol == symbol
                    and (start is None or f.time_ms >= start) and (end is None or f.time_ms <= end)
                    and ("fromId" not in p or f.tid >= int(p["fromId"]))]  # fmt: skip
        rows = rows[:limit] if start is not None or "fromId" in p else rows[-limit:]
        return web.json_response([{
            "buyer": f.side == "buy", "commission": _num(f.fee), "commissionAsset": "USDT",
            "id": f.tid, "maker": f.maker, "orderId": f.oid, "price": _num(f.price),
            "qty": _num(f.qty), "quoteQty": _num(f.qty * f.price), "realizedPnl": _num(f.realized),
            "side": f.side.upper(), "positionSide": "BOTH", "symbol": f"{f.symbol}USDT",
            "time": f.time_ms,
        } for f in rows])  # fmt: skip

    # ----- account ----------------------------------------------------------------------------
    def _asset(self) -> dict[str, Any]:
        e = self.engine
        upnl = sum(e.upnl(s) for s in e.account.positions)
        wallet = e.account.wallet
        return {
            "accountAlias": "SgsR", "asset": "USDT", "walletBalance": _num(wallet),
            "unrealizedProfit": _num(upnl), "marginBalance": _num(wallet + upnl),
            "maintMargin": "0", "initialMargin": "0", "positionInitialMargin": "0",
            "openOrderInitialMargin": "0", "crossWalletBalance": _num(wallet),
            "crossUnPnl": _num(upnl), "availableBalance": _num(wallet + upnl),
            "maxWithdrawAmount": _num(wallet), "balance": _num(wallet),
            "marginAvailable": True, "updateTime": e.now(),
        }  # fmt: skip

    async def balance(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        with self.engine.lock:
            self.engine.advance()
            return web.json_response([self._asset()])

    async def income(self, request: web.Request) -> web.Response:
        """Income history: this loopback engine settles no funding (its accounts pay fees and
        realise P&L only), so there is no FUNDING_FEE row to report — an empty list, as the
        real endpoint answers for an account that paid none."""
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        return web.json_response([])

    async def account(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        with self.engine.lock:
            self.engine.advance()
            a = self._asset()
            return web.json_response({
                "totalInitialMargin": "0", "totalMaintMargin": "0",
                "totalWalletBalance": a["walletBalance"], "totalUnrealizedProfit": a["unrealizedProfit"],
                "totalMarginBalance": a["marginBalance"], "totalPositionInitialMargin": "0",
                "totalOpenOrderInitialMargin": "0", "totalCrossWalletBalance": a["walletBalance"],
                "totalCrossUnPnl": a["unrealizedProfit"], "availableBalance": a["availableBalance"],
                "maxWithdrawAmount": a["maxWithdrawAmount"], "assets": [a],
                "positions": self._positions(),
            })  # fmt: skip

    def _positions(self) -> list[dict[str, Any]]:
        e = self.engine
        out = []
        for s, pos in e.account.positions.items():
            mark = e.mark(s)
            lev = e.leverage(s)
            out.append({
                "symbol": f"{s}USDT", "positionSide": "BOTH", "positionAmt": _num(pos.qty),
                "entryPrice": _num(pos.entry), "breakEvenPrice": _num(pos.entry),
                "markPrice": _num(mark), "unRealizedProfit": _num(e.upnl(s)),
                "unrealizedProfit": _num(e.upnl(s)),
                "liquidationPrice": "0", "isolatedMargin": "0", "notional": _num(pos.qty * mark),
                "marginAsset": "USDT", "isolatedWallet": "0", "leverage": str(lev),
                "marginType": "cross", "isolated": False,
                "initialMargin": _num(abs(pos.qty) * mark / lev),
                "maintMargin": _num(abs(pos.qty) * mark * 0.004),
                "positionInitialMargin": _num(abs(pos.qty) * mark / lev),
                "openOrderInitialMargin": "0", "adl": 1, "bidNotional": "0", "askNotional": "0",
                "maxNotionalValue": "1000000", "updateTime": e.now(),
            })  # fmt: skip
        return out

    async def position_risk(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        with self.engine.lock:
            self.engine.advance()
            return web.json_response(self._positions())

    async def brackets(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        return web.json_response([{
            "symbol": f"{s}USDT", "notionalCoef": 1.0,
            "brackets": [{"bracket": 1, "initialLeverage": m.rules.max_leverage,
                          "notionalCap": 10_000_000, "notionalFloor": 0,
                          "maintMarginRatio": 0.004, "cum": 0.0}],
        } for s, m in self.engine.markets.items()])  # fmt: skip

    async def leverage(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        try:
            symbol = self._symbol(p.get("symbol"))
            lev = int(p.get("leverage", "0"))
            self.engine.set_leverage(symbol, lev)
        except (Reject, ValueError) as r:
            return self._reject(r if isinstance(r, Reject) else Reject("bad_leverage", str(r)))
        return web.json_response({"leverage": lev, "maxNotionalValue": "1000000",
                                  "symbol": f"{symbol}USDT"})  # fmt: skip

    async def position_mode(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        acct = self.engine.account
        if request.method == "GET":
            return web.json_response({"dualSidePosition": acct.hedge_mode})
        want = p.get("dualSidePosition", "").lower() == "true"
        if want == acct.hedge_mode:
            return _error(-4059, "No need to change position side.")
        if acct.positions or self.engine.open_orders():
            return _error(-4068, "The position side cannot be changed if there exists position.")
        acct.hedge_mode = want
        return web.json_response({"code": 200, "msg": "success"})
