"""Binance USDⓈ-M (and later Bybit, OKX) linear USDT perpetuals through ccxt's unified API.

Why this shape (the Hyperliquid adapter's rules, on ccxt):
* Synchronous ccxt in the caller's thread, as the Hyperliquid venue is called; ``enableRateLimit``
  spaces requests to the venue's published limits.
* Every ccxt call sits in :func:`actors.venues.ccxt_errors.mapped`: timeouts, 5xx, 429,
  maintenance and unreadable replies are ``VenueUnavailable`` (unknown outcome, look the order up
  by client id); definite refusals are ``OrderRejected``; bad keys/symbols are ``VenueError``.
* Replies are read strictly (:mod:`actors.venues.ccxt_orders`); the client order id is the
  cloid's 32 hex digits, valid on all three venues.
* Sizes and prices are rounded on the loaded market's lot and tick in decimal arithmetic; closes
  round down and never exceed the live position. Sizes are base units in the Venue protocol and
  contracts on the wire (``contractSize``).
* One-way position mode and the configured leverage are set at start; the account must have
  equity, else the venue refuses to start (F21).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from functools import partial
from typing import Any, Literal

import ccxt

from actors.venues import ccxt_orders as co
from actors.venues.base import (
    Candle,
    OrderRejected,
    OrderRequest,
    PlaceResult,
    Subscription,
    VenueError,
    VenueFill,
    VenueFunding,
    VenueOrder,
    VenuePosition,
    VenueUnavailable,
)
from actors.venues.ccxt_dialects import DIALECTS, FILLS_WINDOW_MS
from actors.venues.ccxt_errors import mapped
from actors.venues.ccxt_spec import CcxtSpec
from actors.venues.ccxt_stream import PollingCandleStream
from actors.venues.hyperliquid import CLOCK_RESYNC_S, CLOSE_GUARD_MS, INTERVAL_MS

log = logging.getLogger(__name__)

_HOST = re.compile(r"^https?://[^/]+")
# fills are asked up to our clock + this: the estimate trails the venue's by a reply's latency
# (loopback) or by clock drift (wall clock), and a fill made in that gap would be missed
FILLS_CLOCK_SLACK_MS = 10_000


def _rewrite(urls: Any, base: str) -> Any:
    """Every URL of ccxt's ``urls['api']`` tree pointed at ``base`` (paths kept)."""
    if isinstance(urls, str):
        return _HOST.sub(base, urls)
    if isinstance(urls, dict):
        return {k: _rewrite(v, base) for k, v in urls.items()}
    return urls


def _flatten(urls: Any) -> list[str]:
    if isinstance(urls, str):
        return [urls]
    if isinstance(urls, dict):
        return [u for v in urls.values() for u in _flatten(v)]
    return []


def _point_at_loopback(ex: Any, base: str) -> None:
    """ccxt's API URLs pointed at a loopback server. ccxt picks some error tables by the URL's
    host (Binance: fapi vs spot), so error mapping still sees the venue's own URL."""
    original = _flatten(ex.urls["api"])
    ex.urls["api"] = _rewrite(ex.urls["api"], base)
    ex.enableRateLimit = False  # the loopback has no limit unless a test injects one
    by_url = getattr(ex, "get_exceptions_by_url", None)  # only some exchanges (Binance)
    if by_url is None:
        return
    pairs = sorted(((_HOST.sub(base, u), u) for u in original), key=lambda p: -len(p[0]))

    def exceptions_by_url(url: str | None, exact_or_broad: str) -> Any:
        for local, real in pairs:
            if url is not None and url.startswith(local):
                url = real + url[len(local) :]
                break
        return by_url(url, exact_or_broad)

    ex.get_exceptions_by_url = exceptions_by_url


FUNDING_PAGE = 1000  # funding rows per request (Binance's income endpoint caps at 1000)


def unified(symbol: str) -> str:
    """``BTC`` -> ``BTC/USDT:USDT`` (linear USDT perpetual)."""
    return f"{symbol}/USDT:USDT"


def _quantize(x: float, step: float, rounding: str) -> Decimal:
    q = Decimal(repr(step))
    return (Decimal(repr(x)) / q).to_integral_value(rounding=rounding) * q


class CcxtVenue:
    """``actors.venues.base.Venue`` for one ccxt exchange account."""

    def __init__(self, spec: CcxtSpec, exchange: Any | None = None) -> None:
        if spec.exchange not in DIALECTS:
            raise VenueError(
                f"{spec.exchange} live trading is not implemented yet (only "
                f"{', '.join(DIALECTS)}); see README 'Exchanges through ccxt'"
            )
        self.spec = spec
        self.name: str = spec.exchange
        self.dialect = DIALECTS[spec.exchange]
        self.ex = exchange if exchange is not None else self._client()
        self._clock_lock = threading.Lock()
        self._clock_sync: tuple[int, float] | None = None
        self._order_cloids: dict[str, str | None] = {}  # venue order id -> cloid (fills)
        self._streams: list[PollingCandleStream] = []
        with mapped("load_markets"):
            self.ex.load_markets()
        for s in spec.symbols:
            self.market(s)
        self._start()

    def _client(self) -> Any:
        spec = self.spec
        config: dict[str, Any] = {
            "apiKey": spec.api_key.get_secret_value(),
            "secret": spec.secret.get_secret_value(),
            "enableRateLimit": True,
            "timeout": int(spec.timeout_s * 1000),
            "options": dict(self.dialect.options),
        }
        if spec.password is not None:
            config["password"] = spec.password.get_secret_value()
        ex = getattr(ccxt, spec.exchange)(config)
        if spec.network == "testnet":
            ex.set_sandbox_mode(True)
        if spec.base_url is not None:
            _point_at_loopback(ex, spec.base_url)
        return ex

    def __repr__(self) -> str:
        return f"CcxtVenue(exchange={self.spec.exchange!r}, network={self.spec.network!r})"

    def _start(self) -> None:
        """One-way mode, leverage per symbol, and equity present (else refuse to start)."""
        with mapped("set_position_mode"):
            self.dialect.set_one_way(self.ex)
        for s in self.spec.symbols:
            with mapped(f"set_leverage {s}"):
                self.dialect.set_leverage(self.ex, self.spec.leverage, unified(s))
        value = self.equity()
        if value <= 0 and not self.positions():
            raise VenueError(
                f"{self.spec.exchange} {self.spec.network} account has no margin: wrong "
                "network, wrong keys, or not funded"
            )
        log.info("venue %s %s: equity %.2f, leverage %dx on %s", self.spec.exchange,
                 self.spec.network, value, self.spec.leverage, ",".join(self.spec.symbols))  # fmt: skip

    def market(self, symbol: str) -> dict[str, Any]:
        m = self.ex.markets.get(unified(symbol)) if self.ex.markets else None
        if m is None or not m.get("swap") or not m.get("linear"):
            raise VenueError(f"unknown symbol {symbol!r} on {self.spec.exchange} "
                             f"(no {unified(symbol)} linear perpetual)")  # fmt: skip
        return m  # type: ignore[no-any-return]

    def _csize(self, symbol: str) -> float:
        return float(self.market(symbol).get("contractSize") or 1.0)

    # ----- clock ----------------------------------------------------------------------------
    def now_ms(self) -> int:
        if self.spec.network != "loopback":
            return int(time.time() * 1000)
        with self._clock_lock:
            sync = self._clock_sync
            if sync is None or time.monotonic() - sync[1] > CLOCK_RESYNC_S:
                with mapped("fetch_time"):
                    t = int(self.ex.fetch_time())
                sync = self._clock_sync = (t, time.monotonic())
            venue_ms, mono = sync
            return venue_ms + int((time.monotonic() - mono) * 1000 * self.spec.clock_speed)

    def _fresh_now_ms(self) -> int:
        with self._clock_lock:
            self._clock_sync = None
        return self.now_ms()

    # ----- orders ---------------------------------------------------------------------------
    def place(self, order: OrderRequest) -> PlaceResult:
        m = self.market(order.symbol)
        sym = unified(order.symbol)
        client = co.client_id(order.cloid)
        reduce_only = order.reduce_only or order.kind in ("stop_loss", "take_profit")
        amount = self._amount(order, m, reduce_only)
        price = None
        if order.kind == "limit":
            if order.price is None:
                raise VenueError(f"limit order {order.cloid} needs a price")
            price = float(_quantize(order.price, m["precision"]["price"], ROUND_HALF_EVEN))
        trigger = None
        if order.kind in ("stop_loss", "take_profit"):
            if order.trigger_price is None:
                raise VenueError(f"{order.kind} order {order.cloid} needs a trigger_price")
            trigger = float(
                _quantize(order.trigger_price, m["precision"]["price"], ROUND_HALF_EVEN)
            )
        params = self.dialect.order_params(order.kind, trigger, order.post_only)
        params["clientOrderId"] = client
        if reduce_only:
            params["reduceOnly"] = True
        wire_type = "limit" if order.kind == "limit" else "market"
        with mapped(f"create_order {order.cloid}", cloid=order.cloid):
            reply = self.dialect.create(self.ex, sym, wire_type, order.side, amount, price, params)
        if (isinstance(reply, dict) and reply.get("status") is None and reply.get("id")
                and reply.get("clientOrderId") == client):  # an acknowledgement only (OKX)  # fmt: skip
            with mapped(f"fetch_order {order.cloid}"):
                reply = self.dialect.find(self.ex, sym, client)
        got = self._placed(order, reply)
        if order.kind == "market" and got.status == "open" and got.remaining == got.size:
            with mapped(f"fetch_order {order.cloid}"):  # an acknowledgement without the fill
                reply = self.dialect.find(self.ex, sym, client)
            got = self._placed(order, reply)
        self._order_cloids[got.venue_order_id] = order.cloid
        filled = got.size - got.remaining
        if got.status in ("canceled", "expired", "rejected") and filled == 0:
            raise OrderRejected(order.cloid, f"{got.status} by {self.spec.exchange} "
                                "(post-only would take, or nothing to reduce)")  # fmt: skip
        if got.kind in ("stop_loss", "take_profit") and got.status == "open":
            return PlaceResult(cloid=order.cloid, status="resting",
                               venue_order_id=got.venue_order_id)  # fmt: skip
        avg = reply.get("average") if isinstance(reply, dict) else None
        status: Literal["filled", "partially_filled", "resting"] = (
            "filled" if got.status == "filled" else "partially_filled" if filled > 0 else "resting"
        )
        return PlaceResult(cloid=order.cloid, status=status, venue_order_id=got.venue_order_id,
                           filled_size=filled, avg_price=float(avg) if avg else None)  # fmt: skip

    def _placed(self, order: OrderRequest, reply: Any) -> VenueOrder:
        """The venue's answer about *this* order, or VenueUnavailable (unknown outcome)."""
        try:
            got = co.order(reply, order.symbol, self._csize(order.symbol))
            if got.cloid != order.cloid:
                raise co.MalformedReply(f"reply is for client id {reply.get('clientOrderId')!r}")
        except co.MalformedReply as exc:
            raise VenueUnavailable(f"create_order {order.cloid}: malformed reply ({exc})") from None
        return got

    def _amount(self, order: OrderRequest, m: dict[str, Any], reduce_only: bool) -> float:
        csize = float(m.get("contractSize") or 1.0)
        step = float(m["precision"]["amount"])
        # contracts to 9 decimals: 0.008 BTC / 0.1 is 0.07999999999999999 in binary floats,
        # which must not round down a whole lot (contract sizes other than 1: OKX)
        want = round(order.size / csize, 9)
        if reduce_only and order.kind in ("market", "limit"):
            live = next((p.size for p in self.positions() if p.symbol == order.symbol), 0.0)
            reducing = (live > 0 and order.side == "sell") or (live < 0 and order.side == "buy")
            want = min(want, round(abs(live) / csize, 9)) if reducing else want
            amount = _quantize(want, step, ROUND_DOWN)
        else:
            amount = _quantize(want, step, ROUND_DOWN if reduce_only else ROUND_HALF_EVEN)
        low = (m.get("limits") or {}).get("amount", {}).get("min") or step
        if amount <= 0 or amount < Decimal(repr(float(low))):
            raise OrderRejected(order.cloid, f"size {order.size} is below the minimum "
                                f"{float(low) * csize} on {self.spec.exchange}")  # fmt: skip
        return float(amount)

    def cancel(self, symbol: str, cloid: str) -> bool:
        found = self.order_by_cloid(symbol, cloid)
        if found is None or found.status != "open":
            return False
        trigger = found.kind in ("stop_loss", "take_profit")
        try:
            with mapped(f"cancel {cloid}"):
                self.dialect.cancel(self.ex, unified(symbol), co.client_id(cloid), trigger)
        except VenueError:
            after = self.order_by_cloid(symbol, cloid)  # e.g. it filled or fired in between
            if after is not None and after.status != "open":
                return after.status == "canceled"
            raise
        return True

    # ----- reads ----------------------------------------------------------------------------
    def order_by_cloid(self, symbol: str, cloid: str) -> VenueOrder | None:
        self.market(symbol)
        with mapped(f"fetch_order {cloid}"):
            raw = self.dialect.find(self.ex, unified(symbol), co.client_id(cloid))
        if raw is None:
            return None
        got = self._parse(partial(co.order, raw, symbol, self._csize(symbol)), "fetch_order")
        self._order_cloids[got.venue_order_id] = got.cloid
        return got

    def _parse(self, fn: Callable[[], Any], what: str) -> Any:
        try:
            return fn()
        except co.MalformedReply as exc:
            raise VenueUnavailable(f"{what}: malformed reply ({exc})") from None

    def _symbol_of(self, unified_symbol: Any) -> str | None:
        if isinstance(unified_symbol, str) and unified_symbol.endswith("/USDT:USDT"):
            return unified_symbol.split("/")[0]
        return None

    def open_orders(self) -> list[VenueOrder]:
        with mapped("fetch_open_orders"):
            raw = self.dialect.open_orders(self.ex)
        out = []
        for o in raw:
            sym = self._symbol_of(o.get("symbol") if isinstance(o, dict) else None)
            if sym is None:
                raise VenueUnavailable(f"fetch_open_orders: malformed reply (symbol of {o!r:.80})")
            out.append(self._parse(partial(co.order, o, sym, self._csize(sym)), "open orders"))
        return sorted(out, key=lambda o: (o.time_ms, o.venue_order_id))

    def positions(self) -> list[VenuePosition]:
        with mapped("fetch_positions"):
            raw = self.ex.fetch_positions()
        out = []
        for p in raw:
            sym = self._symbol_of(p.get("symbol") if isinstance(p, dict) else None)
            if sym is None:
                raise VenueUnavailable("fetch_positions: malformed reply (symbol)")
            pos = self._parse(partial(co.position, p, sym, self._csize(sym)), "positions")
            if pos is not None:
                out.append(pos)
        return out

    def funding_since(self, time_ms: int) -> list[VenueFunding]:
        """Funding fees settled at or after ``time_ms`` (ccxt's unified funding history: the
        income endpoint on Binance), paged forward until a short page."""
        out: dict[tuple[str, int], VenueFunding] = {}
        since = time_ms
        while True:
            with mapped("fetch_funding_history"):
                page = self.ex.fetch_funding_history(None, since, FUNDING_PAGE)
            if not isinstance(page, list):
                raise VenueUnavailable(f"fetch_funding_history: malformed reply {page!r:.80}")
            for row in page:
                sym = self._symbol_of(row.get("symbol") if isinstance(row, dict) else None)
                t, amount = (row.get("timestamp"), row.get("amount")) if sym else (None, None)
                if sym is None or not isinstance(t, int) or not isinstance(amount, int | float):
                    raise VenueUnavailable(f"fetch_funding_history: malformed row {row!r:.80}")
                if t >= time_ms:
                    out[(sym, t)] = VenueFunding(symbol=sym, time_ms=t, amount=float(amount))
            if len(page) < FUNDING_PAGE:
                break
            nxt = max(int(r["timestamp"]) for r in page)
            if nxt <= since:
                break
            since = nxt
        return sorted(out.values(), key=lambda f: (f.time_ms, f.symbol))

    def equity(self) -> float:
        with mapped("fetch_balance"):
            bal = self.ex.fetch_balance()
        try:
            return self.dialect.equity(bal)
        except (KeyError, TypeError, ValueError) as exc:
            raise VenueUnavailable(f"fetch_balance: malformed reply ({exc!r})") from None

    def positions_and_equity(self) -> tuple[list[VenuePosition], float]:
        """Two requests (ccxt has no combined one): positions, then the balance."""
        return self.positions(), self.equity()

    def fills_since(self, time_ms: int) -> list[VenueFill]:
        """Fills at or after ``time_ms`` on every configured symbol (and any with a position),
        oldest first; paged in the venue's windows until each window is exhausted. Binance
        serves six months of fills: anything older is not returned."""
        symbols = list(dict.fromkeys([*self.spec.symbols, *(p.symbol for p in self.positions())]))
        now = self.now_ms() + FILLS_CLOCK_SLACK_MS  # our clock may trail the venue's
        seen: dict[str, VenueFill] = {}
        for sym in symbols:
            for t in self._trades(sym, time_ms, now):
                oid = str(t.get("order"))
                client = self.dialect.trade_client_id(t) if isinstance(t, dict) else None
                if client is not None:  # the fill names its order's client id
                    self._order_cloids[oid] = co.cloid_of(client)
                elif oid not in self._order_cloids:
                    self._order_cloids[oid] = self._cloid_of_order(sym, oid)
                f = self._parse(partial(co.fill, t, sym, self._csize(sym), self._order_cloids[oid]),
                                "trades")  # fmt: skip
                if f.time_ms >= time_ms:
                    seen[f.trade_id] = f
        return sorted(seen.values(), key=lambda f: (f.time_ms, f.trade_id))

    def _trades(self, symbol: str, start: int, now: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        lo = max(start, now - self.dialect.fills_history_ms)  # older fills are not served
        while lo <= now:
            hi = min(lo + FILLS_WINDOW_MS, now)
            with mapped(f"fetch_my_trades {symbol}"):
                page = self.dialect.trades(self.ex, unified(symbol), lo, hi)
            if not isinstance(page, list):
                raise VenueUnavailable(f"fetch_my_trades {symbol}: malformed reply")
            out.extend(page)
            lo = hi + 1
        return out

    def _cloid_of_order(self, symbol: str, order_id: str) -> str | None:
        with mapped(f"fetch_order {order_id}"):
            o = self.ex.fetch_order(order_id, unified(symbol))
        if not isinstance(o, dict):
            return None
        # a fired OKX stop's market order names the stop's client id as algoClOrdId
        return co.cloid_of(o.get("clientOrderId") or (o.get("info") or {}).get("algoClOrdId"))

    # ----- candles --------------------------------------------------------------------------
    def candles(self, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> list[Candle]:
        """Closed candles with open time in [start_ms, end_ms), oldest first (as Hyperliquid's:
        the newest bucket counts only once a later one exists or the guard has passed)."""
        self.market(symbol)
        step = _interval(timeframe)
        now = self._fresh_now_ms()
        out: dict[int, Candle] = {}
        newest = -1
        page_size = self.dialect.ohlcv_page
        stop = min(end_ms, now + step)
        cursor = start_ms
        while cursor < stop:
            # one page-sized window per request: which end of a longer range a venue serves
            # differs (OKX and Bybit: the newest rows), and a gap in the data must not end paging
            hi = min(stop, cursor + page_size * step)
            with mapped(f"fetch_ohlcv {symbol} {timeframe}"):
                page = self.ex.fetch_ohlcv(unified(symbol), timeframe, cursor, page_size,
                                           {"until": hi - 1})  # fmt: skip
            rows = self._parse(partial(_candles, page, symbol, timeframe), "ohlcv")
            for c in rows:
                newest = max(newest, c.time_ms)
                if start_ms <= c.time_ms < end_ms and c.time_ms + step <= now:
                    out[c.time_ms] = c
            cursor = hi
        if newest in out and newest + step > now - CLOSE_GUARD_MS:
            del out[newest]
        return [out[t] for t in sorted(out)]

    def subscribe_candles(
        self, symbol: str, timeframe: str, on_candle: Callable[[Candle], None]
    ) -> Subscription:
        """Candle updates by polling REST (ccxt's websockets are not used): each closed bar is
        delivered once, in order, then the forming one; latency up to one poll interval."""
        self.market(symbol)
        step = _interval(timeframe)
        reader = CcxtVenue.__new__(CcxtVenue)  # the stream's own client: ccxt is not threadsafe
        reader.__dict__.update(self.__dict__)
        reader.ex = self._client()
        reader.ex.markets, reader.ex.markets_by_id = self.ex.markets, self.ex.markets_by_id
        reader.ex.symbols, reader.ex.ids = self.ex.symbols, self.ex.ids
        reader._clock_lock = threading.Lock()
        poll_s = min(max(step / 1000 / self.spec.clock_speed / 20, 0.05), 2.0)
        stream = PollingCandleStream(
            partial(reader.candles, symbol, timeframe), reader._forming(symbol, timeframe),
            reader.now_ms, step, on_candle, poll_s,
        )  # fmt: skip
        self._streams.append(stream)
        return stream

    def _forming(self, symbol: str, timeframe: str) -> Callable[[int], Candle | None]:
        def forming(t: int) -> Candle | None:
            with mapped(f"fetch_ohlcv {symbol} {timeframe}"):
                page = self.ex.fetch_ohlcv(unified(symbol), timeframe, t, 2)
            rows = self._parse(partial(_candles, page, symbol, timeframe), "ohlcv")
            return next((c.model_copy(update={"closed": False}) for c in rows if c.time_ms == t),
                        None)  # fmt: skip

        return forming

    def close(self) -> None:
        for s in self._streams:
            s.close()
        self._streams.clear()


def _candles(page: Any, symbol: str, timeframe: str) -> list[Candle]:
    if not isinstance(page, list):
        raise co.MalformedReply(f"ohlcv page is {type(page).__name__}")
    out = []
    for row in page:
        if not isinstance(row, list) or len(row) < 6:
            raise co.MalformedReply(f"ohlcv row {row!r:.80}")
        t, o, h, lo, c, v = (co.num(x, "ohlcv") for x in row[:6])
        out.append(Candle(symbol=symbol, timeframe=timeframe, time_ms=int(t), open=o, high=h,
                          low=lo, close=c, volume=v))  # fmt: skip
    return out


def _interval(timeframe: str) -> int:
    try:
        return INTERVAL_MS[timeframe]
    except KeyError:
        raise VenueError(
            f"unsupported timeframe {timeframe!r}; expected one of {', '.join(INTERVAL_MS)}"
        ) from None
