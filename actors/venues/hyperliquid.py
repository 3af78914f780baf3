"""The Hyperliquid venue over the official SDK (and paper: the same class on the simulator).

Why this shape:
* Reads go through the SDK's ``Info`` (built once with cached ``meta``: no start-up storm), always
  for the **main account** address, never the agent's (python-sdk #172, nautilus #3667).
* Signed actions are built with the SDK's own wire functions and ``sign_l1_action`` and sent with
  ``Exchange.post``, so the nonce is ours: ``max(now_ms, last + 1)``, persisted before the
  request leaves (:mod:`actors.venues.nonces`, F11), in ``_post_action``'s envelope. The SDK
  stays unmodified.
* Every reply is parsed strictly (:mod:`actors.venues.hl_replies`, F22): a per-order error is an
  ``OrderRejected`` with the venue's text; a timeout, reset, 5xx, 429 or unreadable reply is a
  ``VenueUnavailable`` (the outcome is unknown: look the order up by cloid, F2).
* Prices and sizes go through one rounding function (:mod:`actors.venues.rounding`, F23).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlparse

import eth_account
import requests
from hyperliquid.api import API
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.constants import MAINNET_API_URL
from hyperliquid.utils.error import ClientError, ServerError
from hyperliquid.utils.signing import (
    OrderType,
    order_request_to_order_wire,
    order_wires_to_order_action,
    sign_l1_action,
)
from hyperliquid.utils.types import Cloid

from actors.venues import hl_replies as rep
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
from actors.venues.factory import VenueSpec
from actors.venues.hl_stream import CandleStream
from actors.venues.loopback_http import LoopbackSession
from actors.venues.nonces import NonceStore
from actors.venues.rounding import Direction, round_close, round_price, round_size

log = logging.getLogger(__name__)

MINUTE = 60_000
INTERVAL_MS = {
    "1m": MINUTE, "3m": 3 * MINUTE, "5m": 5 * MINUTE, "15m": 15 * MINUTE, "30m": 30 * MINUTE,
    "1h": 60 * MINUTE, "2h": 120 * MINUTE, "4h": 240 * MINUTE, "8h": 480 * MINUTE,
    "12h": 720 * MINUTE, "1d": 1440 * MINUTE, "3d": 3 * 1440 * MINUTE, "1w": 7 * 1440 * MINUTE,
}  # fmt: skip
CANDLE_PAGE = 5000
_CLOID = re.compile(r"^0x[0-9a-f]{32}$")
FILLS_PAGE = 2000
FUNDING_PAGE = 500  # userFunding rows per reply
ORDER_EXPIRY_MS = 60_000  # expiresAfter on orders: past it, unknownOid means "never placed"
CLOCK_RESYNC_S = 5.0  # live default of VenueSpec.clock_resync_s (CCXT venues use it too)
CLOSE_GUARD_MS = 2_000  # venue ms past a bucket's end before the newest bucket counts as closed
EMPTY_SPOT_META: Any = {"universe": [], "tokens": []}  # perps only; avoids spotMeta bugs (#273)


@contextlib.contextmanager
def _transport(what: str) -> Iterator[None]:
    """Map transport failures to VenueUnavailable (unknown outcome) and a few to VenueError."""
    try:
        yield
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise VenueUnavailable(f"{what}: {type(exc).__name__} (outcome unknown)") from None
    except ServerError as exc:
        raise VenueUnavailable(f"{what}: HTTP {exc.status_code} (outcome unknown)") from None
    except ClientError as exc:
        if exc.status_code in (408, 429):
            raise VenueUnavailable(f"{what}: HTTP {exc.status_code} {exc.error_message}") from None
        raise VenueError(f"{what}: HTTP {exc.status_code} {exc.error_message}") from None
    except requests.RequestException as exc:
        raise VenueUnavailable(f"{what}: {type(exc).__name__} (outcome unknown)") from None
    except (rep.MalformedReply, KeyError, TypeError) as exc:
        raise VenueUnavailable(f"{what}: malformed reply ({exc})") from None


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_Client = TypeVar("_Client", API, Info, Exchange)


class HyperliquidVenue:
    """``actors.venues.base.Venue`` for Hyperliquid mainnet/testnet and the loopback simulator."""

    # reads are independent HTTP posts on one pooled session: the Executor may run two at once
    concurrent_reads = True

    def __init__(self, spec: VenueSpec, nonce_clock_ms: Callable[[], int] | None = None) -> None:
        self.spec = spec
        self.name = "paper" if spec.network == "paper" else "hyperliquid"
        self.account = spec.account_address
        self._is_mainnet = spec.base_url == MAINNET_API_URL
        self._wallet = eth_account.Account.from_key(spec.secret_key.get_secret_value())
        self._nonces = (
            NonceStore(spec.nonce_path, nonce_clock_ms)
            if nonce_clock_ms is not None
            else NonceStore(spec.nonce_path)
        )
        self._streams: list[CandleStream] = []
        self._clock_lock = threading.Lock()
        self._clock_sync: tuple[int, float] | None = None  # (venue ms, monotonic s) in paper
        self._loopback = urlparse(spec.base_url).hostname in LOOPBACK_HOSTS
        with _transport("meta"):
            api = self._own(API(spec.base_url, spec.timeout_s))
            meta = api.post("/info", {"type": "meta", "dex": ""})
            api.session.close()
            self.markets = rep.meta_table(meta)
        self._meta = meta
        self._readers: list[Info] = []  # one per thread that reads (closed by close())
        self._local = threading.local()
        self._clock_info = self._reader()  # paper clock syncs, under _clock_lock
        self._exchange = self._own(Exchange(
            self._wallet, spec.base_url, meta, None, self.account, EMPTY_SPOT_META, None,
            spec.timeout_s,
        ))  # fmt: skip
        self._own(self._exchange.info)
        self._check_account()

    @property
    def info(self) -> Info:
        """This thread's read-only client: the Executor's poll reads while a submit places and
        looks up, and a requests session is not shared between threads."""
        reader: Info | None = getattr(self._local, "info", None)
        if reader is None:
            reader = self._local.info = self._reader()
            with self._clock_lock:
                self._readers.append(reader)
        return reader

    def _reader(self) -> Info:
        """A read-only SDK client on cached meta (no HTTP to build); one per thread of use."""
        return self._own(
            Info(self.spec.base_url, True, self._meta, EMPTY_SPOT_META, None, self.spec.timeout_s)
        )

    def _own(self, client: _Client) -> _Client:
        """On the loopback simulator, the SDK client posts through a lean session that ignores
        the environment: no HTTP(S)_PROXY may route a 127.0.0.1 request elsewhere, and none of
        requests' per-call preparation runs (~0.45 ms of CPU per call, several calls per bar
        close on the live path, issue #15; see ``loopback_http``). A real venue keeps requests
        with the environment's proxies and CA bundle."""
        if self._loopback:
            client.session.close()
            client.session = LoopbackSession()  # type: ignore[assignment]
        return client

    def __repr__(self) -> str:
        return f"HyperliquidVenue(network={self.spec.network!r}, account={self.account!r})"

    # ----- start-up -------------------------------------------------------------------------
    def _check_account(self) -> None:
        """F21: the main account must exist with margin on this network, else refuse to start."""
        with _transport("clearinghouseState"):
            state = self.info.user_state(self.account)
            value = rep.account_value(state)
            open_positions = rep.positions(state)
            if self.spec.network == "paper":
                self._clock_sync = (rep.server_time(state), time.monotonic())
        if value <= 0 and not open_positions:
            raise VenueError(
                f"account {self.account} has no margin on {self.spec.network} "
                f"({self.spec.base_url}): wrong network, wrong main address, or not funded"
            )
        log.info(
            "venue %s: account %s, signer %s, equity %.2f",
            self.spec.network, self.account, self._wallet.address.lower(), value,
        )  # fmt: skip

    def market(self, symbol: str) -> tuple[int, int, int]:
        """(asset id, szDecimals, maxLeverage) of ``symbol``; VenueError if not listed."""
        try:
            return self.markets[symbol]
        except KeyError:
            raise VenueError(f"unknown symbol {symbol!r} on {self.spec.network}") from None

    # ----- clock ----------------------------------------------------------------------------
    def now_ms(self) -> int:
        if self.spec.network != "paper":
            return int(time.time() * 1000)
        with self._clock_lock:
            sync = self._clock_sync
            if sync is None or time.monotonic() - sync[1] >= self.spec.clock_resync_s:
                with _transport("clearinghouseState"):
                    t = rep.server_time(self._clock_info.user_state(self.account))
                sync = self._clock_sync = (t, time.monotonic())
            venue_ms, mono = sync
            return venue_ms + int((time.monotonic() - mono) * 1000 * self.spec.clock_speed)

    def _fresh_now_ms(self) -> int:
        """The venue clock read now (paper: from the simulator, not extrapolated)."""
        with self._clock_lock:
            self._clock_sync = None
        return self.now_ms()

    # ----- signed actions -------------------------------------------------------------------
    def _signed(self, what: str, action: dict[str, Any], expires: bool = False) -> Any:
        nonce = self._nonces.next()  # persisted before the request goes out
        expires_after = int(time.time() * 1000) + ORDER_EXPIRY_MS if expires else None
        sig = sign_l1_action(self._wallet, action, None, nonce, expires_after, self._is_mainnet)
        payload = {  # Exchange._post_action's envelope, without its shared expires_after
            "action": action,
            "nonce": nonce,
            "signature": sig,
            "vaultAddress": None,
            "expiresAfter": expires_after,
        }
        with _transport(what):
            return self._exchange.post("/exchange", payload)

    def place(self, order: OrderRequest) -> PlaceResult:
        wire, size = self._wire(order)
        reply = self._signed("order", order_wires_to_order_action([wire]), expires=True)
        with _transport("order reply"):
            return rep.place_result(reply, order.cloid, size)

    def place_many(self, orders: Sequence[OrderRequest]) -> list[PlaceResult | VenueError]:
        """Place ``orders`` in one signed request (the entries of one bar close: one round trip
        and one nonce instead of one each); per order what :meth:`place` returns, or the
        VenueError (OrderRejected included) that refused it — an order that cannot be encoded
        is refused here and never sent. An error of the whole request raises (VenueUnavailable:
        outcome unknown, look each order up)."""
        out: list[PlaceResult | VenueError | None] = []
        wires, sent = [], []
        for order in orders:
            try:
                wire, size = self._wire(order)
            except VenueError as exc:  # OrderRejected included: nothing of it was sent
                out.append(exc)
                continue
            out.append(None)
            wires.append(wire)
            sent.append((len(out) - 1, order.cloid, size))
        if wires:
            reply = self._signed("order", order_wires_to_order_action(wires), expires=True)
            with _transport("order reply"):
                results = rep.place_results(reply, [(cloid, size) for _, cloid, size in sent])
            for (i, _, _), result in zip(sent, results, strict=True):
                out[i] = result
        return [r for r in out if r is not None]

    def _wire(self, order: OrderRequest) -> tuple[Any, float]:
        """The order's wire form and its rounded size (raises before anything is sent)."""
        asset, szd, _ = self.market(order.symbol)
        is_buy = order.side == "buy"
        reduce_only = order.reduce_only or order.kind in ("stop_loss", "take_profit")
        px, order_type = self._price_and_type(order, szd, is_buy)
        size = self._size(order, szd, is_buy, reduce_only)
        if size <= 0:
            raise OrderRejected(order.cloid, f"size {order.size} rounds to zero (szDecimals={szd})")
        try:
            wire = order_request_to_order_wire(
                {
                    "coin": order.symbol,
                    "is_buy": is_buy,
                    "sz": size,
                    "limit_px": px,
                    "order_type": order_type,
                    "reduce_only": reduce_only,
                    "cloid": _cloid(order.cloid),
                },
                asset,
            )
        except ValueError as exc:  # float_to_wire: nothing was sent
            raise VenueError(f"order {order.cloid} could not be encoded: {exc}") from None
        return wire, size

    def _price_and_type(
        self, order: OrderRequest, szd: int, is_buy: bool
    ) -> tuple[float, OrderType]:
        slip = self.spec.slippage
        away: Direction = "up" if is_buy else "down"
        if order.kind == "limit":
            if order.price is None:
                raise VenueError(f"limit order {order.cloid} needs a price")
            tif = "Alo" if order.post_only else "Gtc"
            return round_price(order.price, szd), {"limit": {"tif": tif}}
        if order.kind == "market":
            ref = order.price if order.price is not None else self._mid(order.symbol)
            bound = ref * (1 + slip) if is_buy else ref * (1 - slip)
            return round_price(bound, szd, away), {"limit": {"tif": "Ioc"}}
        if order.trigger_price is None:
            raise VenueError(f"{order.kind} order {order.cloid} needs a trigger_price")
        trigger = round_price(order.trigger_price, szd)
        bound = trigger * (1 + slip) if is_buy else trigger * (1 - slip)
        tpsl = "sl" if order.kind == "stop_loss" else "tp"
        trig: OrderType = {"trigger": {"triggerPx": trigger, "isMarket": True, "tpsl": tpsl}}
        return round_price(bound, szd, away), trig

    def _size(self, order: OrderRequest, szd: int, is_buy: bool, reduce_only: bool) -> float:
        if not reduce_only:
            return round_size(order.size, szd)
        live = next((p.size for p in self.positions() if p.symbol == order.symbol), 0.0)
        reducing = (live > 0 and not is_buy) or (live < 0 and is_buy)
        return round_close(order.size, live if reducing else 0.0, szd)

    def _mid(self, symbol: str) -> float:
        with _transport("allMids"):
            mids = rep.mids(self.info.all_mids())
        if symbol not in mids:
            raise VenueError(f"no mid price for {symbol!r}: cannot bound a market order")
        return mids[symbol]

    def cancel(self, symbol: str, cloid: str) -> bool:
        asset, _, _ = self.market(symbol)
        _cloid(cloid)
        action = {"type": "cancelByCloid", "cancels": [{"asset": asset, "cloid": cloid}]}
        reply = self._signed("cancelByCloid", action)
        with _transport("cancel reply"):
            return rep.cancel_result(reply)

    def cancel_many(self, orders: Sequence[tuple[str, str]]) -> list[bool | VenueError]:
        """Cancel ``(symbol, cloid)`` pairs in one signed request (one round trip and one nonce
        for the entries that expire together at a bar close); per pair what :meth:`cancel`
        returns, or the VenueError that refused that one. An error of the whole request
        raises (VenueUnavailable: outcome unknown, look each order up)."""
        if not orders:
            return []
        cancels = []
        for symbol, cloid in orders:
            asset, _, _ = self.market(symbol)
            _cloid(cloid)
            cancels.append({"asset": asset, "cloid": cloid})
        reply = self._signed("cancelByCloid", {"type": "cancelByCloid", "cancels": cancels})
        with _transport("cancel reply"):
            return rep.cancel_results(reply, len(orders))

    # ----- reads ----------------------------------------------------------------------------
    def order_by_cloid(self, symbol: str, cloid: str) -> VenueOrder | None:
        key = _cloid(cloid)
        with _transport("orderStatus"):
            return rep.order_status(self.info.query_order_by_cloid(self.account, key))

    def open_orders(self) -> list[VenueOrder]:
        with _transport("frontendOpenOrders"):
            return rep.open_orders(self.info.frontend_open_orders(self.account))

    def positions(self) -> list[VenuePosition]:
        with _transport("clearinghouseState"):
            return rep.positions(self.info.user_state(self.account))

    def equity(self) -> float:
        with _transport("clearinghouseState"):
            return rep.account_value(self.info.user_state(self.account))

    def positions_and_equity(self) -> tuple[list[VenuePosition], float]:
        """Positions and account value from one ``clearinghouseState`` reply."""
        with _transport("clearinghouseState"):
            state = self.info.user_state(self.account)
            return rep.positions(state), rep.account_value(state)

    def fills_since(self, time_ms: int) -> list[VenueFill]:
        """All fills at or after ``time_ms``; pages past the 2000-row cap in both directions
        (the API's page order is not documented firmly) until a page adds nothing new."""
        seen: dict[str, VenueFill] = {}
        windows: list[tuple[int, int | None]] = [(time_ms, None)]
        while windows:
            start, end = windows.pop()
            with _transport("userFillsByTime"):
                page = rep.fills(self.info.user_fills_by_time(self.account, start, end))
            new = [f for f in page if f.trade_id not in seen]
            seen.update((f.trade_id, f) for f in new)
            if len(page) >= FILLS_PAGE and new:
                lo, hi = min(f.time_ms for f in page), max(f.time_ms for f in page)
                if lo > start:
                    windows.append((start, lo))
                if end is None or hi < end:
                    windows.append((hi, end))
        rows = [f for f in seen.values() if f.time_ms >= time_ms]
        return sorted(rows, key=lambda f: (f.time_ms, _int_or_str(f.trade_id)))

    def funding_since(self, time_ms: int) -> list[VenueFunding]:
        """Funding settled at or after ``time_ms``: ``userFunding`` pages (at most
        ``FUNDING_PAGE`` rows each, oldest first) until a page adds nothing new."""
        seen: dict[tuple[str, int], VenueFunding] = {}
        start = time_ms
        while True:
            with _transport("userFunding"):
                page = rep.funding(self.info.user_funding_history(self.account, start))
            new = [f for f in page if (f.symbol, f.time_ms) not in seen]
            seen.update(((f.symbol, f.time_ms), f) for f in new)
            if len(page) < FUNDING_PAGE or not new:
                break
            start = max(f.time_ms for f in page)  # inclusive: the same hour's other coins
        rows = [f for f in seen.values() if f.time_ms >= time_ms]
        return sorted(rows, key=lambda f: (f.time_ms, f.symbol))

    def candles(self, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> list[Candle]:
        return self._candles(self.info, symbol, timeframe, start_ms, end_ms)

    def _candles(
        self, info: Info, symbol: str, timeframe: str, start_ms: int, end_ms: int
    ) -> list[Candle]:
        """Closed candles only: a bucket counts as closed once the venue clock has passed its
        end, and the newest one only when a later bucket exists or ``CLOSE_GUARD_MS`` more has
        passed (a local clock slightly ahead of the venue must not close a forming bar)."""
        self.market(symbol)
        step = _interval(timeframe)
        now = self._fresh_now_ms()
        out: dict[int, Candle] = {}
        newest = -1
        cursor = start_ms
        while cursor < end_ms:
            with _transport("candleSnapshot"):
                raw = rep._list(info.candles_snapshot(symbol, timeframe, cursor, end_ms - 1),
                                "candleSnapshot")  # fmt: skip
            page = _good_candles(raw, symbol, timeframe, step)
            for c in page:
                newest = max(newest, c.time_ms)
                if start_ms <= c.time_ms < end_ms and c.time_ms + step <= now:
                    out[c.time_ms] = c
            if not page or len(raw) < CANDLE_PAGE:
                break
            cursor = max(c.time_ms for c in page) + step
        if newest in out and newest + step > now - CLOSE_GUARD_MS:
            del out[newest]
        return [out[t] for t in sorted(out)]

    def subscribe_candles(
        self, symbol: str, timeframe: str, on_candle: Callable[[Candle], None]
    ) -> Subscription:
        self.market(symbol)
        reader = self._reader()  # its own HTTP session: the stream reads on its own thread
        stream = CandleStream(
            self.spec.base_url,
            symbol,
            timeframe,
            _interval(timeframe),
            on_candle,
            self.now_ms,
            partial(self._candles, reader, symbol, timeframe),
            self.spec.clock_speed,
            reader.session.close,
        )
        self._streams.append(stream)
        return stream

    def close(self) -> None:
        for s in self._streams:
            s.close()
        self._streams.clear()
        with self._clock_lock:
            readers, self._readers = self._readers, []
        for reader in readers:
            reader.session.close()
        self._clock_info.session.close()
        self._exchange.session.close()
        self._exchange.info.session.close()


def _good_candles(raw: list[Any], symbol: str, timeframe: str, step: int) -> list[Candle]:
    """The well-formed candles of a snapshot page: a garbled one (missing or non-numeric field,
    inconsistent OHLC, open time off the bucket grid) is logged and skipped, so one bad row
    neither stops the feed nor reaches a strategy."""
    out = []
    for row in raw:
        try:
            c = rep.candle(row, symbol, timeframe, True)
        except rep.MalformedReply as exc:
            log.warning("%s %s candle skipped: %s", symbol, timeframe, exc)
            continue
        if c.time_ms % step:
            log.warning("%s %s candle skipped: open time %d is off the %s grid", symbol,
                        timeframe, c.time_ms, timeframe)  # fmt: skip
            continue
        out.append(c)
    return out


def _interval(timeframe: str) -> int:
    try:
        return INTERVAL_MS[timeframe]
    except KeyError:
        raise VenueError(
            f"unsupported timeframe {timeframe!r}; expected one of {', '.join(INTERVAL_MS)}"
        ) from None


def _cloid(cloid: str) -> Cloid:
    if not _CLOID.fullmatch(cloid):
        raise VenueError(f"cloid must be 0x + 32 lowercase hex digits, got {cloid!r}")
    return Cloid.from_str(cloid)


def _int_or_str(x: str) -> tuple[int, str]:
    return (int(x), "") if x.isdigit() else (0, x)
