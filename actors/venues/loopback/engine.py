"""The exchange-neutral core of the loopback: replay clock, marks, one account, orders, fills.

Why one core for three dialects: what an order does (rest, fill, trigger, reduce-only clamp,
margin check) is the same on every venue; only the wire format differs, and that lives in the
``*_api`` modules. Prices come from replayed 5m bars: the mark is the close of the last *closed*
bar (no look-ahead), or a test's override; resting limits and triggers are checked against the
range of every bar that closes, and against each override.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

import numpy as np

from actors.venues.loopback.markets import BASE_STEP_MS, Market

TAKER_FEE = 0.0005
MAKER_FEE = 0.0002
HALF_SPREAD = 0.0001  # market orders fill 1 bp through the mark

Kind = Literal["limit", "market", "stop", "take_profit"]
Status = Literal[
    "new", "partially_filled", "filled", "canceled", "expired", "rejected", "triggered"
]


class Reject(Exception):
    """A definite refusal; ``code`` is a neutral reason the dialect maps to its own code/text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Order:
    oid: int
    client_id: str
    symbol: str
    side: Literal["buy", "sell"]
    kind: Kind
    qty: float
    price: float | None
    trigger: float | None
    reduce_only: bool
    post_only: bool
    time_ms: int
    status: Status = "new"
    filled: float = 0.0
    avg_price: float = 0.0
    update_ms: int = 0
    child_oid: int | None = None  # a fired trigger: the market order it became


@dataclass
class Fill:
    tid: int
    oid: int
    client_id: str
    symbol: str
    side: Literal["buy", "sell"]
    qty: float
    price: float
    fee: float
    realized: float
    maker: bool
    time_ms: int


@dataclass
class Position:
    qty: float = 0.0  # signed
    entry: float = 0.0


@dataclass
class Account:
    wallet: float
    positions: dict[str, Position] = field(default_factory=dict)
    leverage: dict[str, int] = field(default_factory=dict)
    hedge_mode: bool = False


class Engine:
    """One account on replayed markets. Every public method takes the lock."""

    def __init__(
        self, markets: dict[str, Market], start_ms: int, speed: float, wallet: float
    ) -> None:
        self.markets = markets
        self.lock = threading.RLock()
        self.start_ms, self.speed = start_ms, speed
        self._t0 = time.monotonic()
        self.account = Account(wallet)
        self.orders: dict[int, Order] = {}
        self.by_client: dict[str, int] = {}
        self.fills: list[Fill] = []
        self._ids = itertools.count(8_389_765_000_000_000_000 // 10**6)
        self._tids = itertools.count(5_000_000_000)
        self.override: dict[str, float] = {}
        self._seen_bar: dict[str, int] = {s: self._last_closed(s) for s in markets}
        self.reject_next: list[tuple[str, str]] = []  # injected (code, message) for next orders
        self.default_leverage = 20

    # ----- clock and prices -----------------------------------------------------------------
    def now(self) -> int:
        return self.start_ms + int((time.monotonic() - self._t0) * 1000 * self.speed)

    def market(self, symbol: str) -> Market:
        try:
            return self.markets[symbol]
        except KeyError:
            raise Reject("bad_symbol", f"Invalid symbol {symbol!r}.") from None

    def _last_closed(self, symbol: str, now: int | None = None) -> int:
        """Index of the newest bar closed at ``now`` (-1 if none)."""
        t = self.markets[symbol].bars.t
        now = self.now() if now is None else now
        return int(np.searchsorted(t, now - BASE_STEP_MS, side="right")) - 1

    def mark(self, symbol: str) -> float:
        if symbol in self.override:
            return self.override[symbol]
        i = self._last_closed(symbol)
        if i < 0:
            raise Reject("no_price", f"no price for {symbol} yet")
        return float(self.markets[symbol].bars.c[i])

    def set_price(self, symbol: str, price: float) -> None:
        with self.lock:
            self.override[symbol] = price
            self._match(symbol, price, price)

    def clear_price(self, symbol: str) -> None:
        with self.lock:
            self.override.pop(symbol, None)

    def advance(self) -> None:
        """Check resting orders against every bar that closed since the last call."""
        with self.lock:
            for s in self.markets:
                i = self._last_closed(s)
                if s in self.override:
                    self._seen_bar[s] = i
                    continue
                bars = self.markets[s].bars
                for j in range(self._seen_bar[s] + 1, i + 1):
                    self._match(s, float(bars.low[j]), float(bars.h[j]))
                self._seen_bar[s] = max(self._seen_bar[s], i)

    # ----- orders -----------------------------------------------------------------------------
    def place(
        self,
        *,
        client_id: str,
        symbol: str,
        side: Literal["buy", "sell"],
        kind: Kind,
        qty: Decimal,
        price: Decimal | None,
        trigger: Decimal | None,
        reduce_only: bool,
        post_only: bool,
    ) -> Order:
        """Validate and apply one order (Reject changes nothing)."""
        with self.lock:
            self.advance()
            m = self.market(symbol)
            if self.reject_next:
                code, message = self.reject_next.pop(0)
                raise Reject(code, message)
            if client_id in self.by_client:
                raise Reject("duplicate", "Duplicate clientOrderId.")
            if qty <= 0 or qty % m.step != 0:
                raise Reject("bad_qty", f"Quantity {qty} is not a multiple of the step {m.step}.")
            if qty < Decimal(m.rules.min_qty):
                raise Reject("bad_qty", f"Quantity less than minimum {m.rules.min_qty}.")
            for px in (price, trigger):
                if px is not None and (px <= 0 or px % m.tick != 0):
                    raise Reject("bad_price", f"Price {px} is not a multiple of the tick {m.tick}.")
            if kind == "limit" and price is None:
                raise Reject("bad_param", "Mandatory parameter 'price' was not sent.")
            if kind in ("stop", "take_profit") and trigger is None:
                raise Reject("bad_param", "Mandatory parameter 'triggerPrice' was not sent.")
            mark = self.mark(symbol)
            ref = float(price) if price is not None else mark
            if not reduce_only and float(qty) * ref < float(m.min_notional):
                raise Reject("min_notional", f"Order's notional must be no smaller than "
                             f"{m.min_notional} (unless you choose reduce only).")  # fmt: skip
            pos = self.account.positions.get(symbol, Position())
            reducing = (pos.qty > 0 and side == "sell") or (pos.qty < 0 and side == "buy")
            if reduce_only and kind in ("limit", "market") and not reducing:
                raise Reject("reduce_only", "ReduceOnly Order is rejected.")
            if not reduce_only and kind in ("limit", "market"):
                self._check_margin(symbol, float(qty) * ref)
            o = Order(next(self._ids), client_id, symbol, side, kind, float(qty),
                      float(price) if price is not None else None,
                      float(trigger) if trigger is not None else None,
                      reduce_only, post_only, self.now())  # fmt: skip
            o.update_ms = o.time_ms
            crosses = kind == "market" or (
                kind == "limit" and ((side == "buy" and ref >= mark) or (side == "sell" and ref <= mark))
            )  # fmt: skip
            if post_only and crosses:
                o.status = "expired"  # Binance GTX: would take, so it expires
            self.orders[o.oid] = o
            self.by_client[client_id] = o.oid
            if o.status == "new" and crosses:
                self._take(o, mark)
            return o

    def _check_margin(self, symbol: str, notional: float) -> None:
        lev = self.account.leverage.get(symbol, self.default_leverage)
        used = sum(abs(p.qty) * p.entry / self.account.leverage.get(s, self.default_leverage)
                   for s, p in self.account.positions.items())  # fmt: skip
        if notional / lev > self.equity() - used:
            raise Reject("margin", "Margin is insufficient.")

    def _take(self, o: Order, mark: float) -> None:
        """Fill ``o`` now as a taker, reduce-only clamped to the live position."""
        qty = o.qty - o.filled
        if o.reduce_only:
            pos = self.account.positions.get(o.symbol, Position())
            reducing = (pos.qty > 0 and o.side == "sell") or (pos.qty < 0 and o.side == "buy")
            qty = min(qty, abs(pos.qty)) if reducing else 0.0
            if qty <= 0:
                o.status = "expired"
                return
        px = mark * (1 + HALF_SPREAD) if o.side == "buy" else mark * (1 - HALF_SPREAD)
        if o.kind == "limit" and o.price is not None:
            px = min(px, o.price) if o.side == "buy" else max(px, o.price)
        px = float(
            round(Decimal(repr(px)) / self.market(o.symbol).tick) * self.market(o.symbol).tick
        )
        self._fill(o, qty, px, maker=False)
        if o.reduce_only and o.filled < o.qty:
            o.status = "expired" if o.filled == 0 else "filled"
            o.qty = o.filled if o.filled > 0 else o.qty

    def _fill(self, o: Order, qty: float, px: float, maker: bool) -> None:
        now = self.now()
        fee = qty * px * (MAKER_FEE if maker else TAKER_FEE)
        pos = self.account.positions.setdefault(o.symbol, Position())
        signed = qty if o.side == "buy" else -qty
        realized = 0.0
        if pos.qty == 0 or (pos.qty > 0) == (signed > 0):
            new = pos.qty + signed
            pos.entry = (abs(pos.qty) * pos.entry + qty * px) / abs(new)
            pos.qty = new
        else:
            closed = min(qty, abs(pos.qty))
            realized = closed * (px - pos.entry) * (1 if pos.qty > 0 else -1)
            rest = qty - closed
            pos.qty += signed if rest == 0 else 0.0
            if rest > 0:
                pos.qty, pos.entry = (rest if signed > 0 else -rest), px
            if abs(pos.qty) < 1e-12:
                pos.qty, pos.entry = 0.0, 0.0
        self.account.wallet += realized - fee
        if pos.qty == 0:
            self.account.positions.pop(o.symbol, None)
        o.avg_price = (o.avg_price * o.filled + px * qty) / (o.filled + qty)
        o.filled += qty
        o.status = "filled" if o.filled >= o.qty - 1e-12 else "partially_filled"
        o.update_ms = now
        self.fills.append(Fill(next(self._tids), o.oid, o.client_id, o.symbol, o.side, qty, px,
                               fee, realized, maker, now))  # fmt: skip

    def _match(self, symbol: str, low: float, high: float) -> None:
        """Fill resting limits and fire triggers whose price lies in [low, high]."""
        for o in sorted(self.orders.values(), key=lambda x: x.oid):
            if o.symbol != symbol or o.status not in ("new", "partially_filled"):
                continue
            if o.kind == "limit" and o.price is not None:
                if (o.side == "buy" and low <= o.price) or (o.side == "sell" and high >= o.price):
                    qty = o.qty - o.filled
                    if o.reduce_only:
                        pos = self.account.positions.get(symbol, Position())
                        qty = min(qty, abs(pos.qty))
                    if qty > 0:
                        self._fill(o, qty, o.price, maker=True)
            elif o.trigger is not None:
                falls = o.kind == "stop" if o.side == "sell" else o.kind == "take_profit"
                hit = low <= o.trigger if falls else high >= o.trigger
                if hit:
                    self._fire(o)

    def _fire(self, o: Order) -> None:
        """A trigger fired: it becomes a reduce-only market order (expired if nothing to reduce)."""
        child = Order(next(self._ids), o.client_id, o.symbol, o.side, "market", o.qty, None, None,
                      True, False, self.now())  # fmt: skip
        self.orders[child.oid] = child
        o.child_oid, o.status, o.update_ms = child.oid, "triggered", self.now()
        self._take(child, o.trigger if o.trigger is not None else self.mark(o.symbol))

    def cancel(self, symbol: str, client_id: str) -> Order:
        with self.lock:
            self.advance()
            o = self.find(symbol, client_id)
            if o is None or o.status not in ("new", "partially_filled"):
                raise Reject("unknown_order", "Unknown order sent.")
            o.status, o.update_ms = "canceled", self.now()
            return o

    def find(self, symbol: str, client_id: str) -> Order | None:
        with self.lock:
            self.advance()
            oid = self.by_client.get(client_id)
            o = self.orders.get(oid) if oid is not None else None
            return o if o is not None and o.symbol == symbol else None

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        with self.lock:
            self.advance()
            return [o for o in self.orders.values()
                    if o.status in ("new", "partially_filled") and symbol in (None, o.symbol)]  # fmt: skip

    # ----- account ----------------------------------------------------------------------------
    def upnl(self, symbol: str) -> float:
        p = self.account.positions.get(symbol)
        return 0.0 if p is None else p.qty * (self.mark(symbol) - p.entry)

    def equity(self) -> float:
        return self.account.wallet + sum(self.upnl(s) for s in self.account.positions)

    def set_leverage(self, symbol: str, leverage: int) -> None:
        with self.lock:
            m = self.market(symbol)
            if not 1 <= leverage <= m.rules.max_leverage:
                raise Reject("bad_leverage", f"Leverage {leverage} is not valid")
            self.account.leverage[symbol] = leverage

    def leverage(self, symbol: str) -> int:
        return self.account.leverage.get(symbol, self.default_leverage)

    # ----- candles ----------------------------------------------------------------------------
    def candles(
        self, symbol: str, step_ms: int, start: int | None, end: int | None, limit: int
    ) -> list[tuple[int, float, float, float, float, float]]:
        """Bars of ``step_ms`` (a multiple of 5m) with open time in [start, end], oldest first,
        at most ``limit`` (the newest ones when only ``end`` is given, as venues do). The bar
        still forming is flat at the previous close: the future is never shown."""
        if step_ms % BASE_STEP_MS:
            return []
        with self.lock:
            m = self.market(symbol)
            b = m.bars
            now = self.now()
            last = self._last_closed(symbol, now)
            first_t = int(b.t[0]) - int(b.t[0]) % step_ms
            hi_t = now - now % step_ms
            if end is not None:
                hi_t = min(hi_t, end - end % step_ms)
            lo_t = first_t if start is None else max(first_t, start + (-start) % step_ms)
            if start is None:
                lo_t = max(lo_t, hi_t - (limit - 1) * step_ms)
            out: list[tuple[int, float, float, float, float, float]] = []
            t = lo_t
            while t <= hi_t and len(out) < limit:
                i0 = int(np.searchsorted(b.t, t))
                i1 = min(int(np.searchsorted(b.t, t + step_ms)), last + 1)
                if i1 > i0:
                    out.append((t, float(b.o[i0]), float(b.h[i0:i1].max()), float(b.low[i0:i1].min()),
                                float(b.c[i1 - 1]), float(b.v[i0:i1].sum())))  # fmt: skip
                elif i0 <= len(b.t) and t <= now < t + step_ms and last >= 0:
                    c = float(b.c[last])
                    out.append((t, c, c, c, c, 0.0))
                t += step_ms
            return out
