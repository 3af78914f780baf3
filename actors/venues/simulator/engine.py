"""The venue core: markets, accounts, orders, fills and the order-entry rules (no I/O).

Why one class holds the state: every request and every clock tick reads and mutates the same
books, positions and order index, and the server serialises access with one lock. Market
movement (bars, funding, triggers, liquidation) lives in ticks.py; reply shapes in views.py.
Events for the websocket are appended to `events` and drained by the server.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from actors.venues.simulator import accounts as acc
from actors.venues.simulator import errors
from actors.venues.simulator.market import Market
from actors.venues.simulator.matching import (
    ExternalBook,
    Level,
    aggregate,
    crosses,
    opposite_levels,
    walk,
)
from actors.venues.simulator.nonces import NonceBook
from actors.venues.simulator.numbers import fmt, parse_decimal, price_rule_violation, size_valid
from actors.venues.simulator.orders import OPEN, WAITING_FOR_FILL, Order

# (szDecimals, maxLeverage) of the shipped coins, as the venue lists them
COIN_META = {
    "BTC": (5, 40),
    "ETH": (4, 25),
    "SOL": (2, 20),
    "HYPE": (2, 10),
    "XRP": (0, 20),
    "DOGE": (0, 10),
    "SUI": (1, 10),
    "AVAX": (2, 10),
    "LINK": (1, 10),
    "ADA": (0, 10),
    "BNB": (3, 10),
    "LTC": (2, 10),
}
MAX_ORDER_USD = 5_000_000.0
MIN_ORDER_USD = 10.0
PRICE_BAND = 0.8
REJECT_STATUS = {
    errors.MIN_NOTIONAL: "minTradeNtlRejected",
    errors.INSUFFICIENT_MARGIN: "perpMarginRejected",
    errors.REDUCE_ONLY: "reduceOnlyRejected",
    errors.IOC_CANCEL: "iocCancelRejected",
    errors.BAD_TRIGGER: "badTriggerPxRejected",
    errors.TICK: "tickRejected",
    errors.BAD_ALO: "badAloPxRejected",
    errors.NO_LIQUIDITY: "marketOrderNoLiquidityRejected",
}


class OrderRejected(Exception):
    """A per-order rejection; `msg` is the venue's text without the asset suffix."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


class Venue:
    def __init__(
        self,
        market: Market | None,
        coins: list[str],
        now_ms: int,
        balances: dict[str, float] | None = None,
        coin_meta: dict[str, tuple[int, int]] | None = None,
        book_level_usd: float = 250_000.0,
    ) -> None:
        meta = {**COIN_META, **(coin_meta or {})}
        unknown = [c for c in coins if c not in meta]
        if unknown:
            raise ValueError(f"no szDecimals/maxLeverage known for {unknown}; pass coin_meta")
        self.market = market
        self.coins = list(coins)
        self.asset_of = {c: i for i, c in enumerate(self.coins)}
        self.sz_decimals = {c: meta[c][0] for c in coins}
        self.max_lev = {c: meta[c][1] for c in coins}
        self.books = {c: ExternalBook(self.sz_decimals[c], level_usd=book_level_usd) for c in coins}
        self.now = int(now_ms)
        self.marks: dict[str, float] = {}
        for c in coins:
            if market is not None and c in market.coins:
                self.marks[c] = market.price(c, self.now)
                self.books[c].reprice(self.marks[c])
        self.accounts: dict[str, acc.Account] = {}
        for addr, usdc in (balances or {}).items():
            self.add_account(addr, usdc)
        self.agents: dict[str, dict[str, Any]] = {}
        self.orders: dict[int, Order] = {}
        self.cloids: dict[tuple[str, str], int] = {}
        self.fills: dict[str, list[dict[str, Any]]] = {}
        self.fundings: dict[str, list[dict[str, Any]]] = {}
        self.trades: dict[str, list[dict[str, Any]]] = {c: [] for c in coins}
        self.scheduled_cancel: dict[str, int] = {}
        self.nonces = NonceBook()
        self.next_oid = 1_000_000
        self.next_tid = 1
        self.events: list[tuple[str, str, Any]] = []
        # fault hooks (set through faults.py)
        self.partial_fill_fraction: float | None = None
        self.reject_next: list[str] = []

    # ----- accounts -------------------------------------------------------------------------
    def add_account(self, address: str, usdc: float) -> None:
        addr = address.lower()
        if not (addr.startswith("0x") and len(addr) == 42):
            raise ValueError(f"account address must be 0x + 40 hex digits, got {address!r}")
        if usdc < 0:
            raise ValueError(f"account balance must be >= 0, got {usdc}")
        self.accounts[addr] = acc.Account(addr, float(usdc))

    def master_of(self, signer: str) -> str | None:
        s = signer.lower()
        if s in self.accounts:
            return s
        agent = self.agents.get(s)
        if agent and (agent["validUntil"] is None or agent["validUntil"] > self.now):
            return str(agent["master"])
        return None

    def approve_agent(self, master: str, agent: str, name: str) -> None:
        """Unnamed approvals replace each other; named ones add up (as on the venue)."""
        if name == "":
            for k in [
                k for k, v in self.agents.items() if v["master"] == master and v["name"] == ""
            ]:
                del self.agents[k]
        self.agents[agent.lower()] = {"master": master, "name": name, "validUntil": None}

    def mark(self, coin: str) -> float:
        m = self.marks.get(coin)
        if m is None:
            raise OrderRejected(errors.NO_LIQUIDITY)
        return m

    # ----- order entry ----------------------------------------------------------------------
    def place_orders(self, user: str, wires: list[dict[str, Any]], grouping: Any) -> list[Any]:
        """statuses[] of an `order` action, one per wire (normalTpsl children as bare strings)."""
        if grouping == "normalTpsl" and len(wires) >= 2:
            return self._place_normal_tpsl(user, wires)
        return [self._place_status(user, w, grouping == "positionTpsl") for w in wires]

    def _place_status(self, user: str, w: dict[str, Any], position_tpsl: bool = False) -> Any:
        asset = w.get("a")
        try:
            order = self._parse(user, w)
            order.is_position_tpsl = position_tpsl and order.is_trigger
            return self._submit(order)
        except OrderRejected as rej:
            return {"error": errors.with_asset(rej.msg, asset if isinstance(asset, int) else -1)}

    def _place_normal_tpsl(self, user: str, wires: list[dict[str, Any]]) -> list[Any]:
        first = self._place_status(user, wires[0])
        parent = None
        if isinstance(first, dict) and ("resting" in first or "filled" in first):
            parent = self.orders[(first.get("resting") or first["filled"])["oid"]]
        out: list[Any] = [first]
        for w in wires[1:]:
            if parent is None:
                out.append(
                    {"error": first["error"]}
                    if isinstance(first, dict) and "error" in first
                    else "error"
                )
                continue
            try:
                child = self._parse(user, w)
                if not child.is_trigger:
                    raise OrderRejected(errors.BAD_TRIGGER)
                if parent.status == OPEN:
                    child.status = WAITING_FOR_FILL
                    child.parent = parent.oid
                    parent.children.append(child.oid)
                    self._store(child)
                    out.append("waitingForFill")
                else:
                    self._check_trigger_side(child)
                    self._store(child)
                    self._emit_update(child)
                    out.append("waitingForTrigger")
            except OrderRejected as rej:
                out.append({"error": errors.with_asset(rej.msg, int(w.get("a", -1)))})
        return out

    def _parse(self, user: str, w: dict[str, Any]) -> Order:
        if not isinstance(w, dict) or not {"a", "b", "p", "s", "r", "t"} <= set(w):
            raise ValueError("order wire needs keys a, b, p, s, r, t")
        asset = w["a"]
        if not isinstance(asset, int) or not 0 <= asset < len(self.coins):
            raise OrderRejected(errors.UNKNOWN_ASSET.format(asset=asset))
        coin = self.coins[asset]
        szd = self.sz_decimals[coin]
        px, sz = parse_decimal(w["p"], "p"), parse_decimal(w["s"], "s")
        t = w["t"]
        trigger = t.get("trigger") if isinstance(t, dict) else None
        tif = t.get("limit", {}).get("tif") if isinstance(t, dict) and "limit" in t else None
        if trigger is None and tif not in ("Gtc", "Ioc", "Alo"):
            raise ValueError(f"order type must be limit Gtc/Ioc/Alo or trigger, got {t!r}")
        cloid = w.get("c")
        order = Order(
            oid=self._new_oid(),
            user=user,
            coin=coin,
            asset=asset,
            is_buy=bool(w["b"]),
            limit_px=float(px),
            orig_sz=float(sz),
            sz=float(sz),
            tif=tif if trigger is None else None,
            reduce_only=bool(w["r"]),
            cloid=cloid,
            timestamp=self.now,
            status_ts=self.now,
        )
        if trigger is not None:
            order.trigger_px = float(parse_decimal(trigger["triggerPx"], "triggerPx"))
            order.is_market = bool(trigger["isMarket"])
            order.tpsl = trigger["tpsl"]
            if order.tpsl not in ("tp", "sl"):
                raise ValueError(f"trigger tpsl must be 'tp' or 'sl', got {order.tpsl!r}")
        try:
            self._validate(order, px, sz, szd)
        except OrderRejected as rej:
            self._record_rejection(order, rej.msg)
            raise
        return order

    def _validate(self, o: Order, px: Decimal, sz: Decimal, szd: int) -> None:
        if self.reject_next:
            raise OrderRejected(self.reject_next.pop(0))
        if sz <= 0:
            raise OrderRejected(errors.ZERO_SIZE)
        if not size_valid(sz, szd):
            raise OrderRejected(errors.INVALID_SIZE)
        if px <= 0:
            raise OrderRejected(errors.INVALID_PRICE)
        rule = price_rule_violation(px, szd)
        if rule == "decimals":
            raise OrderRejected(errors.INVALID_PRICE)
        if rule == "sigfigs":
            raise OrderRejected(errors.TICK)
        ref = self.mark(o.coin)
        if abs(o.limit_px - ref) / ref > PRICE_BAND:
            raise OrderRejected(errors.PRICE_BAND)
        notional = o.limit_px * o.sz
        if notional > MAX_ORDER_USD:
            raise OrderRejected(errors.TOO_LARGE)
        if notional < MIN_ORDER_USD and not o.reduce_only:
            raise OrderRejected(errors.MIN_NOTIONAL)

    def _check_trigger_side(self, o: Order) -> None:
        """A trigger that would fire at once is refused (python-sdk #290)."""
        mark = self.mark(o.coin)
        tp = o.trigger_px or 0.0
        fires_above = (o.tpsl == "sl") == o.is_buy
        if (fires_above and tp <= mark) or (not fires_above and tp >= mark):
            raise OrderRejected(errors.BAD_TRIGGER)

    def _check_margin(self, o: Order) -> None:
        if o.reduce_only:
            return
        a = self.accounts[o.user]
        szi = a.szi(o.coin)
        signed = o.sz if o.is_buy else -o.sz
        increase = max(0.0, abs(szi + signed) - abs(szi))
        lev = a.lev(o.coin, self.max_lev[o.coin])[1]
        need = increase * o.limit_px / lev
        free = acc.account_value(a, self.marks) - acc.margin_used(a, self.marks, self.max_lev)
        free -= self.open_order_margin(o.user)
        if need > free + 1e-9:
            raise OrderRejected(errors.INSUFFICIENT_MARGIN)

    def open_order_margin(self, user: str) -> float:
        a = self.accounts[user]
        return sum(
            o.sz * o.limit_px / a.lev(o.coin, self.max_lev[o.coin])[1]
            for o in self.open_orders_of(user)
            if not o.is_trigger and not o.reduce_only
        )

    def _check_reduce_only(self, o: Order) -> None:
        szi = self.accounts[o.user].szi(o.coin)
        if o.reduce_only and (szi == 0 or (szi > 0) == o.is_buy):
            raise OrderRejected(errors.REDUCE_ONLY)

    def _submit(self, o: Order) -> dict[str, Any]:
        try:
            if o.is_trigger:
                self._check_trigger_side(o)
            else:
                self._check_reduce_only(o)
            self._check_margin(o)
        except OrderRejected as rej:
            self._record_rejection(o, rej.msg)
            raise
        if o.is_trigger:
            self._store(o)
            self._emit_update(o)
            return {"resting": self._ids(o)}
        return self._execute(o)

    def _execute(self, o: Order) -> dict[str, Any]:
        """Match a limit order; rest the remainder (Gtc) or cancel it (Ioc)."""
        book = self.books[o.coin]
        resting = [r for r in self.open_orders_of(None, o.coin) if r.user != o.user]
        levels = opposite_levels(book, resting, o.is_buy)
        if o.tif == "Alo" and levels and crosses(levels[0].px, o.is_buy, o.limit_px):
            bbo = f"{fmt(book.bids[0][0]) if book.bids else 'None'}@{fmt(book.asks[0][0]) if book.asks else 'None'}"
            self._record_rejection(o, errors.BAD_ALO)
            raise OrderRejected(errors.BAD_ALO.format(bbo=bbo))
        want = o.sz
        if o.reduce_only:
            want = min(want, abs(self.accounts[o.user].szi(o.coin)))
        if self.partial_fill_fraction is not None:
            q = 10.0 ** -self.sz_decimals[o.coin]
            want = max(q, round(want * self.partial_fill_fraction / q) * q)
            self.partial_fill_fraction = None
        fills = walk(levels, o.is_buy, o.limit_px, want)
        if not fills and o.tif == "Ioc":
            msg = errors.NO_LIQUIDITY if not levels else errors.IOC_CANCEL
            self._record_rejection(o, msg)
            raise OrderRejected(msg)
        self._store(o)
        filled, notional = self._apply_taker_fills(o, fills)
        if o.sz <= 1e-12:
            o.sz = 0.0
            self._set_status(o, "filled")
        elif o.tif == "Ioc" or o.reduce_only and abs(self.accounts[o.user].szi(o.coin)) < 1e-12:
            self._set_status(o, "canceled")
        else:
            self._emit_update(o)
        self._after_fills(o.user, o.coin)
        if filled > 0 and (o.status in ("filled", "canceled")):
            return {
                "filled": {"totalSz": fmt(filled), "avgPx": fmt(notional / filled), **self._ids(o)}
            }
        return {"resting": self._ids(o)}

    def _apply_taker_fills(self, o: Order, fills: list[tuple[Level, float]]) -> tuple[float, float]:
        filled = notional = 0.0
        for lv, take in fills:
            self._fill(o, lv.px, take, crossed=True)
            if lv.order is not None:
                self._fill(lv.order, lv.px, take, crossed=False)
                if lv.order.sz <= 1e-12:
                    lv.order.sz = 0.0
                    self._set_status(lv.order, "filled")
                else:
                    self._emit_update(lv.order)
                self._after_fills(lv.order.user, lv.order.coin)
            else:
                self.books[o.coin].consume(not o.is_buy, lv.px, take)
            self._trade(o, lv, take)
            filled += take
            notional += take * lv.px
        if fills:
            self.events.append(("l2Book", o.coin, None))
        return filled, notional

    def _fill(
        self, o: Order, px: float, sz: float, crossed: bool, liquidation: dict | None = None
    ) -> None:
        a = self.accounts[o.user]
        res = acc.apply_fill(
            a, o.coin, o.is_buy, px, sz, acc.TAKER_FEE if crossed else acc.MAKER_FEE
        )
        o.sz = max(0.0, o.sz - sz)
        tid = self.next_tid
        self.next_tid += 1
        fill: dict[str, Any] = {
            "coin": o.coin,
            "px": fmt(px),
            "sz": fmt(sz),
            "side": "B" if o.is_buy else "A",
            "time": self.now,
            "startPosition": fmt(res.start_position),
            "dir": res.direction,
            "closedPnl": fmt(res.closed_pnl, 6),
            "hash": "0x" + hashlib.sha256(f"{o.oid}:{tid}".encode()).hexdigest(),
            "oid": o.oid,
            "crossed": crossed,
            "fee": fmt(res.fee, 6),
            "tid": tid,
            "feeToken": "USDC",
            "twapId": None,
        }
        if o.cloid is not None:
            fill["cloid"] = o.cloid
        if liquidation is not None:
            fill["liquidation"] = liquidation
        self.fills.setdefault(o.user, []).append(fill)
        self.events.append(("userFills", o.user, fill))

    def _trade(self, o: Order, lv: Level, sz: float) -> None:
        maker = lv.order.user if lv.order is not None else "0x" + "0" * 40
        users = [o.user, maker] if o.is_buy else [maker, o.user]
        trade = {
            "coin": o.coin,
            "side": "B" if o.is_buy else "A",
            "px": fmt(lv.px),
            "sz": fmt(sz),
            "hash": "0x" + hashlib.sha256(f"t{self.next_tid}".encode()).hexdigest(),
            "time": self.now,
            "tid": self.next_tid - 1,
            "users": users,
        }
        self.trades[o.coin] = (self.trades[o.coin] + [trade])[-100:]
        self.events.append(("trades", o.coin, trade))

    def _after_fills(self, user: str, coin: str) -> None:
        """Activate normalTpsl children; cancel reduce-only orders once the position is flat."""
        for o in list(self.orders.values()):
            if o.user != user or o.coin != coin:
                continue
            if o.status == WAITING_FOR_FILL and o.parent is not None:
                parent = self.orders[o.parent]
                if parent.sz < parent.orig_sz:
                    o.status, o.status_ts = OPEN, self.now
                    self._emit_update(o)
        if self.accounts[user].szi(coin) == 0:
            for o in self.open_orders_of(user, coin):
                if o.reduce_only:
                    self._set_status(o, "reduceOnlyCanceled")

    # ----- cancel / modify / leverage / scheduleCancel --------------------------------------
    def cancel(self, user: str, asset: Any, oid: Any) -> Any:
        o = self.orders.get(oid) if isinstance(oid, int) else None
        return self._cancel_one(user, asset, o)

    def cancel_by_cloid(self, user: str, asset: Any, cloid: Any) -> Any:
        oid = self.cloids.get((user, str(cloid).lower())) if isinstance(cloid, str) else None
        return self._cancel_one(user, asset, self.orders.get(oid) if oid is not None else None)

    def _cancel_one(self, user: str, asset: Any, o: Order | None) -> Any:
        live = (OPEN, WAITING_FOR_FILL)
        if o is None or o.user != user or o.asset != asset or o.status not in live:
            return {
                "error": errors.with_asset(
                    errors.MISSING_ORDER, asset if isinstance(asset, int) else -1
                )
            }
        self._set_status(o, "canceled")
        for child_oid in o.children:
            child = self.orders[child_oid]
            if child.status == WAITING_FOR_FILL:
                self._set_status(child, "canceled")
        return "success"

    def modify(self, user: str, oid: Any, wire: dict[str, Any]) -> Any:
        """Cancel-and-replace under a new oid; the old order is reported canceled."""
        if isinstance(oid, str):
            key = self.cloids.get((user, oid.lower()))
            old = self.orders.get(key) if key is not None else None
        else:
            old = self.orders.get(oid)
        asset = wire.get("a", -1)
        if old is None or old.user != user or old.status != OPEN:
            return {"error": errors.with_asset(errors.MISSING_ORDER, asset)}
        self._set_status(old, "canceled")
        return self._place_status(user, wire)

    def update_leverage(self, user: str, asset: Any, is_cross: bool, leverage: Any) -> str | None:
        if not isinstance(asset, int) or not 0 <= asset < len(self.coins):
            return errors.UNKNOWN_ASSET.format(asset=asset)
        coin = self.coins[asset]
        if not isinstance(leverage, int) or not 1 <= leverage <= self.max_lev[coin]:
            return errors.INVALID_LEVERAGE
        a = self.accounts[user]
        old = a.leverage.get(coin)
        a.leverage[coin] = ("cross" if is_cross else "isolated", leverage)
        if acc.margin_used(a, self.marks, self.max_lev) > acc.account_value(a, self.marks):
            if old is None:
                a.leverage.pop(coin)
            else:
                a.leverage[coin] = old
            return errors.INSUFFICIENT_MARGIN
        return None

    def schedule_cancel(self, user: str, when: int | None) -> str | None:
        if when is None:
            self.scheduled_cancel.pop(user, None)
            return None
        if when < self.now + 5_000:
            return errors.SCHEDULE_CANCEL_TOO_EARLY
        self.scheduled_cancel[user] = when
        return None

    def cancel_all(self, user: str) -> None:
        for o in self.open_orders_of(user):
            self._set_status(o, "scheduledCancel")

    # ----- bookkeeping ----------------------------------------------------------------------
    def _new_oid(self) -> int:
        oid = self.next_oid
        self.next_oid += 1
        return oid

    def _ids(self, o: Order) -> dict[str, Any]:
        return {"oid": o.oid, "cloid": o.cloid} if o.cloid is not None else {"oid": o.oid}

    def _store(self, o: Order) -> None:
        self.orders[o.oid] = o
        if o.cloid is not None:
            self.cloids[(o.user, o.cloid.lower())] = o.oid

    def _record_rejection(self, o: Order, msg: str) -> None:
        """Rejected orders keep their oid and status so a lookup by cloid tells the truth."""
        if o.oid in self.orders:
            return
        o.status, o.status_ts = REJECT_STATUS.get(msg, "rejected"), self.now
        self._store(o)
        self._emit_update(o)

    def _set_status(self, o: Order, status: str) -> None:
        o.status, o.status_ts = status, self.now
        self._emit_update(o)
        self.events.append(("l2Book", o.coin, None))

    def _emit_update(self, o: Order) -> None:
        update = {"order": o.basic_wire(), "status": o.status, "statusTimestamp": o.status_ts}
        self.events.append(("orderUpdates", o.user, update))

    def open_orders_of(self, user: str | None, coin: str | None = None) -> list[Order]:
        return [
            o
            for o in self.orders.values()
            if o.status == OPEN
            and (user is None or o.user == user)
            and (coin is None or o.coin == coin)
        ]

    def l2_levels(self, coin: str) -> tuple[list[dict], list[dict]]:
        book = self.books[coin]
        resting = self.open_orders_of(None, coin)
        bids = opposite_levels(book, resting, taker_is_buy=False)
        asks = opposite_levels(book, resting, taker_is_buy=True)
        return aggregate(bids), aggregate(asks)
