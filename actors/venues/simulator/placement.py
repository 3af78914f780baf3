"""Order entry: validation in the venue's order, matching, fills and normalTpsl groups.

A mixin of engine.Venue (it uses the venue's books, accounts and order index); split out so each
file stays readable. Rejections raise OrderRejected with the venue's text; the caller appends
the ` asset=<id>` suffix.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from actors.venues.simulator import accounts as acc
from actors.venues.simulator import errors
from actors.venues.simulator.actions import OrderSpec
from actors.venues.simulator.matching import Level, crosses, opposite_levels, walk
from actors.venues.simulator.numbers import fmt, price_rule_violation, size_valid
from actors.venues.simulator.orders import OPEN, WAITING_FOR_FILL, Order

if TYPE_CHECKING:
    from actors.venues.simulator.matching import ExternalBook

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


class OrderEntry:
    """Order-entry half of the venue (state lives in engine.Venue)."""

    coins: list[str]
    sz_decimals: dict[str, int]
    max_lev: dict[str, int]
    books: dict[str, ExternalBook]
    marks: dict[str, float]
    accounts: dict[str, acc.Account]
    orders: dict[int, Order]
    fills: dict[str, list[dict[str, Any]]]
    trades: dict[str, list[dict[str, Any]]]
    events: list[tuple[str, str, Any]]
    now: int
    next_tid: int
    partial_fill_fraction: float | None
    reject_next: list[str]
    batch_error_next: list[str]
    cloids: dict[tuple[str, str], int]

    if TYPE_CHECKING:  # bookkeeping provided by engine.Venue

        def mark(self, coin: str) -> float: ...
        def open_orders_of(self, user: str | None, coin: str | None = None) -> list[Order]: ...
        def _new_oid(self) -> int: ...
        def _ids(self, o: Order) -> dict[str, Any]: ...
        def _store(self, o: Order) -> None: ...
        def _record_rejection(self, o: Order, msg: str) -> None: ...
        def _set_status(self, o: Order, status: str) -> None: ...
        def _emit_update(self, o: Order) -> None: ...

    def place_orders(self, user: str, specs: list[OrderSpec], grouping: str) -> list[Any]:
        """statuses[] of an `order` action, one per order (normalTpsl children as bare strings).
        `specs` come from actions.parse_action: the whole batch is well-formed before any of it
        is applied, so a rejection here is always a per-order status, never a half-done batch."""
        if self.batch_error_next:
            return [{"error": self.batch_error_next.pop(0)}]  # one error for the whole batch
        if grouping == "normalTpsl" and len(specs) >= 2:
            return self._place_normal_tpsl(user, specs)
        return [self._place_status(user, s, grouping == "positionTpsl") for s in specs]

    def _place_status(self, user: str, spec: OrderSpec, position_tpsl: bool = False) -> Any:
        try:
            order = self._new_order(user, spec)
            order.is_position_tpsl = position_tpsl and order.is_trigger
            return self._submit(order)
        except OrderRejected as rej:
            return {"error": errors.with_asset(rej.msg, spec.asset)}

    def _place_normal_tpsl(self, user: str, specs: list[OrderSpec]) -> list[Any]:
        first = self._place_status(user, specs[0])
        parent = None
        if isinstance(first, dict) and ("resting" in first or "filled" in first):
            parent = self.orders[(first.get("resting") or first["filled"])["oid"]]
        out: list[Any] = [first]
        for spec in specs[1:]:
            if parent is None:
                out.append(
                    {"error": first["error"]}
                    if isinstance(first, dict) and "error" in first
                    else "error"
                )
                continue
            try:
                child = self._new_order(user, spec)
                if not child.is_trigger:
                    raise OrderRejected(errors.BAD_TRIGGER)
                if parent.status == OPEN and parent.sz == parent.orig_sz:
                    child.status = WAITING_FOR_FILL
                    child.parent = parent.oid
                    parent.children.append(child.oid)
                    parent.touch()
                    self._store(child)
                    out.append("waitingForFill")
                else:
                    self._check_trigger_side(child)
                    self._store(child)
                    self._emit_update(child)
                    out.append("waitingForTrigger")
            except OrderRejected as rej:
                out.append({"error": errors.with_asset(rej.msg, spec.asset)})
        return out

    def _new_order(self, user: str, spec: OrderSpec, new_cloid: bool = True) -> Order:
        """A new oid for a well-formed order; market rules raise OrderRejected (recorded)."""
        if not spec.asset < len(self.coins):
            raise OrderRejected(errors.UNKNOWN_ASSET.format(asset=spec.asset))
        coin = self.coins[spec.asset]
        if new_cloid and spec.cloid is not None and (user, spec.cloid.lower()) in self.cloids:
            # one order per cloid, ever: a late or repeated copy of a request is refused (not
            # recorded, so a lookup by cloid still finds the first order)
            raise OrderRejected(errors.DUPLICATE_CLOID)
        order = Order(
            oid=self._new_oid(),
            user=user,
            coin=coin,
            asset=spec.asset,
            is_buy=spec.is_buy,
            limit_px=float(spec.px),
            orig_sz=float(spec.sz),
            sz=float(spec.sz),
            tif=spec.tif,
            reduce_only=spec.reduce_only,
            cloid=spec.cloid,
            timestamp=self.now,
            status_ts=self.now,
        )
        if spec.trigger is not None:
            order.trigger_px = float(spec.trigger.trigger_px)
            order.is_market = spec.trigger.is_market
            order.tpsl = spec.trigger.tpsl
        try:
            self._validate(order, spec.px, spec.sz, self.sz_decimals[coin])
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
        free = acc.cross_value(a, self.marks) - acc.margin_used(
            a, self.marks, self.max_lev, cross_only=True
        )
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
        for own in self.open_orders_of(o.user, o.coin):
            if (
                own.is_buy != o.is_buy
                and not own.is_trigger
                and crosses(own.limit_px, o.is_buy, o.limit_px)
            ):
                self._set_status(own, "selfTradeCanceled")  # the venue expires the resting side
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
        fee_rate = acc.TAKER_FEE if crossed else acc.MAKER_FEE
        lev = a.lev(o.coin, self.max_lev[o.coin])[1]
        res = acc.apply_fill(a, o.coin, o.is_buy, px, sz, fee_rate, lev)
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
