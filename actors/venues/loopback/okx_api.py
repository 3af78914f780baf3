"""OKX v5 (``/api/v5``) as ccxt's ``okx`` calls it, on the loopback core (USDT swaps).

Replies use OKX's envelope ``{"code": "0", "msg": "", "data": [...]}``; order endpoints answer
per item with ``sCode``/``sMsg`` (``code`` "1" when the item failed); other refusals carry OKX's
code (50111/50113/50105 auth, 50101 demo/live mismatch, 51001 instrument, 51603 order does not
exist, 59000 position mode). Sizes are contracts (``ctVal`` base units each). Private requests
are checked like OKX: ``OK-ACCESS-SIGN`` = base64 HMAC-SHA256 of timestamp + method + path
(with query) + body, the key and the passphrase; in demo mode ``x-simulated-trading: 1`` is
required (and refused otherwise). Lists come newest first and page with ``after``/``before``.
Prices are the shipped Binance candles under OKX's formats (see ``okx_shapes``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from actors.venues.loopback import okx_shapes as shp
from actors.venues.loopback.engine import Engine, Order, Reject

V5 = "/api/v5"
UNITS = {"m": 60_000, "H": 3_600_000, "D": 86_400_000, "W": 604_800_000}
CODES = {  # neutral reject reason -> OKX sCode
    "bad_symbol": "51001", "duplicate": "51016", "bad_qty": "51121", "bad_price": "51000",
    "bad_param": "51000", "min_notional": "51020", "reduce_only": "51205", "margin": "51008",
    "unknown_order": "51400", "bad_leverage": "59102", "no_price": "51000", "reject": "51008",
    "not_found": "51603",
}  # fmt: skip
_CLIENT = re.compile(r"^[A-Za-z0-9]{1,32}$")
Params = dict[str, Any]


def ok(data: list[Any]) -> web.Response:
    return web.json_response({"code": "0", "msg": "", "data": data})


def err(code: str, msg: str, status: int = 200) -> web.Response:
    return web.json_response({"code": code, "msg": msg, "data": []}, status=status)


def _bar_ms(bar: str) -> int | None:
    m = re.fullmatch(r"(\d+)([mHDW])(utc)?", bar)
    return int(m.group(1)) * UNITS[m.group(2)] if m else None


class OkxApi:
    """Routes for one account (key, secret, passphrase) on ``engine``; ``demo`` = the
    demo-trading environment (requests must carry ``x-simulated-trading: 1``)."""

    name = "okx"

    def __init__(self, engine: Engine, api_key: str, secret: str, password: str) -> None:
        self.engine, self.api_key, self.secret, self.password = engine, api_key, secret, password
        self.demo = False
        shp.okx_rules(engine)

    def routes(self, app: web.Application) -> None:
        get, post = app.router.add_get, app.router.add_post
        for path, handler in (
            ("public/time", self.time), ("public/instruments", self.instruments),
            ("market/candles", self.candles), ("market/history-candles", self.candles),
            ("market/ticker", self.tickers), ("market/tickers", self.tickers),
            ("public/funding-rate-history", self.funding),
            ("trade/order", self.get_order), ("trade/order-algo", self.get_algo),
            ("trade/orders-pending", self.pending), ("trade/orders-algo-pending", self.algo_pending),
            ("trade/orders-history", self.history), ("trade/orders-algo-history", self.algo_history),
            ("trade/fills", self.fills), ("trade/fills-history", self.fills),
            ("account/balance", self.balance), ("account/positions", self.positions),
            ("account/config", self.config), ("asset/currencies", self.currencies),
            ("account/bills", self.bills), ("account/bills-archive", self.bills),
        ):  # fmt: skip
            get(f"{V5}/{path}", handler)
        for path, handler in (
            ("trade/order", self.place), ("trade/batch-orders", self.place),
            ("trade/order-algo", self.place_algo), ("trade/cancel-order", self.cancel),
            ("trade/cancel-batch-orders", self.cancel), ("trade/cancel-algos", self.cancel_algos),
            ("account/set-leverage", self.set_leverage),
            ("account/set-position-mode", self.set_position_mode),
        ):  # fmt: skip
            post(f"{V5}/{path}", handler)

    # ----- plumbing ---------------------------------------------------------------------------
    def is_write(self, request: web.Request) -> bool:
        return request.method != "GET"

    def rate_limited(self) -> web.Response:
        return err("50011", "Too Many Requests", 429)

    def maintenance(self) -> web.Response:
        return err("50001", "Service temporarily unavailable. Please try again later.", 503)

    def reject_code(self) -> str:
        return "reject"

    async def _signed(self, request: web.Request) -> Any:
        """The request's parameters (query or JSON body), or OKX's refusal."""
        h = request.headers
        body = await request.text() if request.method != "GET" else ""
        if (h.get("x-simulated-trading") == "1") != self.demo:
            return err("50101", "APIKey does not match current environment.", 401)
        if h.get("OK-ACCESS-KEY") != self.api_key:
            return err("50111", "Invalid OK-ACCESS-KEY", 401)
        if h.get("OK-ACCESS-PASSPHRASE") != self.password:
            return err("50105", "Request header OK-ACCESS-PASSPHRASE incorrect.", 401)
        ts = h.get("OK-ACCESS-TIMESTAMP", "")
        if not ts:
            return err("50107", "Request header OK-ACCESS-TIMESTAMP can not be empty.", 401)
        auth = ts + request.method + request.raw_path + body
        want = base64.b64encode(
            hmac.new(self.secret.encode(), auth.encode(), hashlib.sha256).digest()
        ).decode()
        if not hmac.compare_digest(h.get("OK-ACCESS-SIGN", ""), want):
            return err("50113", "Invalid Sign", 401)
        if request.method == "GET":
            return dict(request.query)
        try:
            return json.loads(body) if body else {}
        except ValueError:
            return err("50002", "Json data format error", 400)

    def _symbol(self, inst: Any) -> str:
        m = re.fullmatch(r"([A-Z0-9]+)-USDT-SWAP", str(inst or ""))
        if m is None or m.group(1) not in self.engine.markets:
            raise Reject("bad_symbol", f"Instrument ID {inst} does not exist.")
        return m.group(1)

    def _reject(self, r: Reject) -> web.Response:
        return err(CODES.get(r.code, "51000"), r.message)

    def _item_error(self, r: Reject, p: Params, algo: bool) -> dict[str, Any]:
        ids = ({"algoClOrdId": p.get("algoClOrdId") or p.get("clOrdId", ""), "algoId": ""}
               if algo else {"clOrdId": p.get("clOrdId", ""), "ordId": ""})  # fmt: skip
        return {**ids, "sCode": CODES.get(r.code, "51000"), "sMsg": r.message, "tag": "",
                "ts": str(self.engine.now())}  # fmt: skip

    @staticmethod
    def _items(data: list[dict[str, Any]]) -> web.Response:
        failed = sum(1 for d in data if d["sCode"] != "0")
        code = "0" if not failed else ("1" if failed == len(data) else "2")
        msg = "" if not failed else "All operations failed" if code == "1" else "Partial success"
        return web.json_response({"code": code, "msg": msg, "data": data})

    # ----- public -----------------------------------------------------------------------------
    async def time(self, request: web.Request) -> web.Response:
        return ok([{"ts": str(self.engine.now())}])

    async def instruments(self, request: web.Request) -> web.Response:
        if request.query.get("instType") != "SWAP":
            return ok([])  # the loopback lists USDT swaps only
        return ok([shp.instrument(self.engine, s) for s in self.engine.markets])

    async def candles(self, request: web.Request) -> web.Response:
        """Bars in (before, after), the newest ``limit`` of them, newest first."""
        q = request.query
        try:
            symbol = self._symbol(q.get("instId"))
            step = _bar_ms(q.get("bar", "1m"))
            if step is None:
                raise Reject("bad_param", f"Parameter bar error: {q.get('bar')!r}")
            cap = 100 if request.path.endswith("history-candles") else 300
            limit = min(int(q.get("limit", 100)), cap)
            lo = int(q["before"]) + 1 if q.get("before") else None
            hi = int(q["after"]) - 1 if q.get("after") else None
        except Reject as r:
            return self._reject(r)
        except ValueError:
            return err("51000", "Parameter limit/after/before error")
        rows = [r for r in self.engine.candles(symbol, step, None, hi, limit)  # [] below 5m
                if lo is None or r[0] >= lo]  # fmt: skip
        now = self.engine.now()
        ct = float(shp.INSTRUMENTS[symbol].ct_val)
        return ok([
            [str(t), shp.dec(o), shp.dec(h), shp.dec(lo_), shp.dec(c), shp.dec(v / ct),
             shp.dec(v), shp.dec(v * c), "1" if t + step <= now else "0"]
            for t, o, h, lo_, c, v in reversed(rows)
        ])  # fmt: skip

    async def tickers(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            symbols = [self._symbol(q["instId"])] if "instId" in q else list(self.engine.markets)
        except Reject as r:
            return self._reject(r)
        out = []
        for s in symbols:
            last = shp.dec(self.engine.mark(s))
            out.append({"instType": "SWAP", "instId": shp.inst_id(s), "last": last, "lastSz": "1",
                        "askPx": last, "askSz": "100", "bidPx": last, "bidSz": "100",
                        "open24h": last, "high24h": last, "low24h": last, "volCcy24h": "0",
                        "vol24h": "0", "ts": str(self.engine.now()), "sodUtc0": last,
                        "sodUtc8": last})  # fmt: skip
        return ok(out)

    async def funding(self, request: web.Request) -> web.Response:
        """Settled prints in (before, after) up to the server clock, newest ``limit`` first."""
        q = request.query
        try:
            symbol = self._symbol(q.get("instId"))
        except Reject as r:
            return self._reject(r)
        f = self.engine.markets[symbol].funding
        if f is None:
            return ok([])
        limit = min(int(q.get("limit", 100)), 100)
        lo = int(q["before"]) if q.get("before") else -1
        hi = min(int(q["after"]) if q.get("after") else 2**62, self.engine.now() + 1)
        rows = f[(f[:, 0] > lo) & (f[:, 0] < hi)][-limit:]
        return ok([{"formulaType": "noRate", "fundingRate": f"{r:.8f}", "fundingTime": str(int(t)),
                    "instId": shp.inst_id(symbol), "instType": "SWAP", "method": "current_period",
                    "realizedRate": f"{r:.8f}"} for t, r in rows[::-1]])  # fmt: skip

    # ----- orders -----------------------------------------------------------------------------
    def _new(self, p: Params, algo: bool) -> Order:
        symbol = self._symbol(p.get("instId"))
        if p.get("tdMode") != "cross":
            raise Reject("bad_param", "Parameter tdMode error (the loopback account is cross).")
        side = p.get("side")
        if side not in ("buy", "sell"):
            raise Reject("bad_param", "Parameter side error")
        if self.engine.account.hedge_mode or p.get("posSide", "net") != "net":
            raise Reject("bad_param", "Parameter posSide error (the loopback trades net_mode).")
        client = str(p.get("algoClOrdId") or p.get("clOrdId") or f"lb{len(self.engine.orders)}")
        if not _CLIENT.fullmatch(client):
            raise Reject("bad_param", "Parameter clOrdId error (1-32 letters and digits).")
        typ, price, trigger = p.get("ordType"), None, None
        try:
            ct = Decimal(shp.INSTRUMENTS[symbol].ct_val)
            qty = Decimal(str(p.get("sz", ""))) * ct
            if algo:
                if typ != "conditional" or bool(p.get("slTriggerPx")) == bool(p.get("tpTriggerPx")):
                    raise Reject("bad_param", "Parameter ordType error (one-way conditional only).")
                stop = bool(p.get("slTriggerPx"))
                if str(p.get("slOrdPx" if stop else "tpOrdPx")) != "-1":
                    raise Reject("bad_param", "The loopback executes triggers at market (-1).")
                kind = "stop" if stop else "take_profit"
                trigger = Decimal(str(p["slTriggerPx" if stop else "tpTriggerPx"]))
            elif typ in ("limit", "post_only"):
                kind, price = "limit", Decimal(str(p.get("px", "")))
            elif typ == "market":
                kind = "market"
            else:
                raise Reject("bad_param", f"Parameter ordType error: {typ!r}")
        except InvalidOperation:
            raise Reject("bad_param", "Parameter sz/px error") from None
        reduce = str(p.get("reduceOnly", "false")).lower() == "true"
        return self.engine.place(client_id=client, symbol=symbol, side=side, kind=kind,  # type: ignore[arg-type]
                                 qty=qty, price=price, trigger=trigger, reduce_only=reduce,
                                 post_only=typ == "post_only")  # fmt: skip

    async def place(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        out = []
        for item in p if isinstance(p, list) else [p]:
            try:
                o = self._new(item, algo=False)
                out.append({"clOrdId": o.client_id, "ordId": str(o.oid), "sCode": "0",
                            "sMsg": "Order placed", "tag": "", "ts": str(self.engine.now())})  # fmt: skip
            except Reject as r:
                out.append(self._item_error(r, item, algo=False))
        return self._items(out)

    async def place_algo(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        try:
            o = self._new(p, algo=True)
        except Reject as r:
            return self._items([self._item_error(r, p, algo=True)])
        return self._items([{"algoClOrdId": o.client_id, "algoId": str(o.oid),
                             "clOrdId": o.client_id, "sCode": "0", "sMsg": "", "tag": ""}])  # fmt: skip

    def _lookup(self, p: Params, algo: bool) -> Order:
        """One order by client id or exchange id; regular and algo ids are separate books."""
        symbol = self._symbol(p.get("instId")) if p.get("instId") else None
        client, oid = ("algoClOrdId", "algoId") if algo else ("clOrdId", "ordId")
        e = self.engine
        with e.lock:
            e.advance()
            o: Order | None = None
            if p.get(client):
                o = e.orders.get(e.by_client.get(str(p[client]), -1))
            elif str(p.get(oid, "")).isdigit():
                o = e.orders.get(int(p[oid]))
            else:
                raise Reject("bad_param", f"Either parameter {oid} or {client} is required.")
            if o is None or (o.trigger is not None) != algo or symbol not in (None, o.symbol):
                raise Reject("not_found", "Order does not exist")
            return o

    async def get_order(self, request: web.Request) -> web.Response:
        return await self._get(request, algo=False)

    async def get_algo(self, request: web.Request) -> web.Response:
        return await self._get(request, algo=True)

    async def _get(self, request: web.Request, algo: bool) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        try:
            o = self._lookup(p, algo)
        except Reject as r:
            return self._reject(r)
        return ok([shp.algo(self.engine, o) if algo else shp.order(self.engine, o)])

    async def cancel(self, request: web.Request) -> web.Response:
        return await self._cancel(request, algo=False)

    async def cancel_algos(self, request: web.Request) -> web.Response:
        return await self._cancel(request, algo=True)

    async def _cancel(self, request: web.Request, algo: bool) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        out = []
        for item in p if isinstance(p, list) else [p]:
            try:
                o = self._lookup(item, algo)
                o = self.engine.cancel(o.symbol, o.client_id)
                ids = ({"algoClOrdId": o.client_id, "algoId": str(o.oid)} if algo
                       else {"clOrdId": o.client_id, "ordId": str(o.oid)})  # fmt: skip
                out.append({**ids, "sCode": "0", "sMsg": "", "ts": str(self.engine.now())})
            except Reject as r:
                r = Reject("unknown_order", "Order cancellation failed as the order has been "
                           "filled, canceled or does not exist.") if r.code == "not_found" else r  # fmt: skip
                out.append(self._item_error(r, item, algo))
        return self._items(out)

    def _listed(self, p: Params, orders: list[Order], algo: bool) -> web.Response:
        """Orders newest first, paged with ``after``/``before`` (order ids), at most 100."""
        try:
            symbol = self._symbol(p["instId"]) if p.get("instId") else None
        except Reject as r:
            return self._reject(r)
        rows = sorted((o for o in orders if symbol in (None, o.symbol)), key=lambda o: -o.oid)
        id_key = "algoId" if algo else "ordId"
        if str(p.get("after", "")).isdigit():
            rows = [o for o in rows if o.oid < int(p["after"])]
        if str(p.get("before", "")).isdigit():
            rows = [o for o in rows if o.oid > int(p["before"])]
        if str(p.get(id_key, "")).isdigit():
            rows = [o for o in rows if o.oid == int(p[id_key])]
        rows = rows[: min(int(p.get("limit", 100)), 100)]
        render = shp.algo if algo else shp.order
        return ok([render(self.engine, o) for o in rows])

    def _orders(self, live: bool, algo: bool) -> list[Order]:
        e = self.engine
        with e.lock:
            e.advance()
            return [o for o in e.orders.values() if (o.trigger is not None) == algo
                    and (o.status in ("new", "partially_filled")) == live]  # fmt: skip

    async def pending(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        return (
            p if isinstance(p, web.Response) else self._listed(p, self._orders(True, False), False)
        )

    async def history(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        if p.get("instType") != "SWAP":
            return err("51000", "Parameter instType error")
        return self._listed(p, self._orders(False, False), False)

    async def algo_pending(self, request: web.Request) -> web.Response:
        return await self._algo_list(request, live=True)

    async def algo_history(self, request: web.Request) -> web.Response:
        return await self._algo_list(request, live=False)

    async def _algo_list(self, request: web.Request, live: bool) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        if not p.get("ordType"):
            return err("51000", "Parameter ordType error")
        if p["ordType"] != "conditional":
            return ok([])  # the loopback keeps conditional algo orders only
        if not live and not p.get("state") and not p.get("algoId"):
            return err("51000", "Either parameter state or algoId is required.")
        return self._listed(p, self._orders(live, True), True)

    # ----- fills and account --------------------------------------------------------------------
    async def fills(self, request: web.Request) -> web.Response:
        """Fills newest first in [begin, end], paged by ``billId`` (``after`` = older than)."""
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        try:
            symbol = self._symbol(p["instId"]) if p.get("instId") else None
            begin, end = int(p.get("begin") or 0), int(p.get("end") or 2**62)
            after = int(p["after"]) if p.get("after") else None
            before = int(p["before"]) if p.get("before") else None
            limit = min(int(p.get("limit", 100)), 100)
        except Reject as r:
            return self._reject(r)
        except ValueError:
            return err("51000", "Parameter begin/end/after/before/limit error")
        e = self.engine
        with e.lock:
            e.advance()
            rows = [f for f in reversed(e.fills) if symbol in (None, f.symbol)
                    and begin <= f.time_ms <= end and (after is None or f.tid < after)
                    and (before is None or f.tid > before)][:limit]  # fmt: skip
            return ok([shp.fill(e, f) for f in rows])

    async def balance(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        with self.engine.lock:
            self.engine.advance()
            return ok([shp.balance(self.engine)])

    async def positions(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        wanted = set(str(p.get("instId") or "").split(",")) - {""}
        e = self.engine
        with e.lock:
            e.advance()
            return ok([shp.position(e, s) for s in sorted(e.account.positions)
                       if not wanted or shp.inst_id(s) in wanted])  # fmt: skip

    async def config(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        mode = "long_short_mode" if self.engine.account.hedge_mode else "net_mode"
        return ok([{"acctLv": "2", "autoLoan": False, "ctIsoMode": "automatic",
                    "greeksType": "PA", "label": "loopback", "level": "Lv1", "levelTmp": "",
                    "mgnIsoMode": "automatic", "perm": "read_only,trade", "posMode": mode,
                    "roleType": "0", "uid": "44705892343619584"}])  # fmt: skip

    async def bills(self, request: web.Request) -> web.Response:
        """``/account/bills(-archive)``: ccxt's funding history (type 8). The loopback engine
        settles no funding (as the Binance loopback's ``/fapi/v1/income``), so no bills."""
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        return ok([])

    async def currencies(self, request: web.Request) -> web.Response:
        """``/asset/currencies`` (ccxt's ``load_markets`` reads it when keys are set)."""
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        return ok([{"ccy": c, "chain": f"{c}-ERC20", "name": c, "canDep": True, "canWd": True,
                    "canInternal": True, "minWd": "0.001", "maxWd": "1000000", "wdTickSz": "8",
                    "fee": "0.0001", "minFee": "0.0001", "maxFee": "0.0002",
                    "mainNet": False} for c in ["USDT", *self.engine.markets]])  # fmt: skip

    async def set_leverage(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        try:
            symbol = self._symbol(p.get("instId"))
            if p.get("mgnMode") != "cross":
                raise Reject("bad_param", "Parameter mgnMode error (the loopback is cross).")
            lever = int(str(p.get("lever", "0")))
            self.engine.set_leverage(symbol, lever)
        except Reject as r:
            return self._reject(r)
        except ValueError:
            return err("51000", "Parameter lever error")
        return ok([{"instId": shp.inst_id(symbol), "lever": str(lever), "mgnMode": "cross",
                    "posSide": ""}])  # fmt: skip

    async def set_position_mode(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        mode = p.get("posMode")
        if mode not in ("net_mode", "long_short_mode"):
            return err("51000", "Parameter posMode error")
        acct = self.engine.account
        if (mode == "long_short_mode") != acct.hedge_mode:
            if acct.positions or self.engine.open_orders():
                return err("59000", "Settings failed. Cancel any open orders, close positions, "
                                    "and stop trading bots first.")  # fmt: skip
            acct.hedge_mode = mode == "long_short_mode"
        return ok([{"posMode": mode}])
