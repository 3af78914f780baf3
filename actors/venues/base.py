"""The ``Venue`` protocol: what the live actors need from an exchange, and nothing more.

Why a protocol of plain, venue-neutral records: the Executor, DataFeed and reconciliation are
written once against it; Hyperliquid (official SDK), paper (the same Hyperliquid class pointed at
the loopback simulator) and the CCXT exchanges are adapters, all held to one conformance suite
(tests/venues/). Adapters translate venue replies into these records and venue errors into the
exception classes below — they never invent outcomes.

Error contract (docs/failure_modes.md F2, F22):

* :class:`OrderRejected` — the venue *definitely* refused the order (a typed per-order error in
  its reply); nothing rests, nothing filled.
* :class:`VenueUnavailable` — timeout, connection reset, 5xx, 429, malformed reply: the outcome
  is **unknown**. Callers must look the order up with :meth:`Venue.order_by_cloid` and must never
  treat this as rejected.
* :class:`VenueError` — any other venue-side problem (bad credentials, unknown symbol, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

Side = Literal["buy", "sell"]
OrderKind = Literal["market", "limit", "stop_loss", "take_profit"]


class VenueError(Exception):
    """A venue-side problem that is not an order rejection (auth, unknown symbol, ...)."""


class VenueUnavailable(VenueError):
    """The outcome is unknown (timeout, 5xx, 429, reset, malformed reply): look it up by cloid."""


class OrderRejected(VenueError):
    """The venue definitely refused this order; ``reason`` is its own wording."""

    def __init__(self, cloid: str, reason: str) -> None:
        super().__init__(f"order {cloid} rejected: {reason}")
        self.cloid = cloid
        self.reason = reason


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OrderRequest(_Record):
    """One order as the Executor asks for it (sizes/prices are rounded by the adapter)."""

    cloid: str = Field(pattern=r"^0x[0-9a-f]{32}$")
    symbol: str
    side: Side
    size: float = Field(gt=0)
    kind: OrderKind
    price: float | None = None  # limit price; market orders: None (adapter applies slippage)
    trigger_price: float | None = None  # stop_loss / take_profit
    reduce_only: bool = False
    post_only: bool = False


class PlaceResult(_Record):
    """The venue's definite answer to one placed order."""

    cloid: str
    status: Literal["resting", "filled", "partially_filled", "triggered_pending"]
    venue_order_id: str | None = None
    filled_size: float = 0.0
    avg_price: float | None = None


class VenueOrder(_Record):
    """An order as the venue knows it (open, or a terminal status when looked up by cloid)."""

    cloid: str | None
    venue_order_id: str
    symbol: str
    side: Side
    size: float  # original size
    remaining: float
    kind: OrderKind
    price: float | None
    trigger_price: float | None
    reduce_only: bool
    status: Literal["open", "filled", "canceled", "rejected", "triggered", "expired"]
    time_ms: int


class VenuePosition(_Record):
    symbol: str
    size: float  # signed: > 0 long, < 0 short
    entry_price: float
    unrealized_pnl: float = 0.0
    liquidation_price: float | None = None
    leverage: float | None = None


class VenueFill(_Record):
    trade_id: str  # venue's unique trade id (Hyperliquid ``tid``): the dedup key
    cloid: str | None
    venue_order_id: str
    symbol: str
    side: Side
    size: float
    price: float
    fee: float
    closed_pnl: float
    time_ms: int


class VenueFunding(_Record):
    """One funding settlement on a position: ``amount`` received (negative = paid)."""

    symbol: str
    time_ms: int
    amount: float
    rate: float | None = None
    size: float | None = None  # signed position size it was paid on


class Candle(_Record):
    """A candle; ``closed`` is False for the bar still forming (never traded on)."""

    symbol: str
    timeframe: str
    time_ms: int  # open time
    open: float
    high: float
    low: float
    close: float
    volume: float
    closed: bool = True


class Subscription(Protocol):
    """Handle of a live stream; ``close`` is idempotent."""

    def close(self) -> None: ...


@runtime_checkable
class Venue(Protocol):
    """One exchange account. Every method may raise the errors in this module's docstring."""

    name: str  # "hyperliquid", "paper", "bybit", ...

    def now_ms(self) -> int:
        """The venue's clock (the replay clock in paper mode), epoch ms."""
        ...

    def place(self, order: OrderRequest) -> PlaceResult:
        """Place one order. Raises OrderRejected, or VenueUnavailable when the outcome is unknown."""
        ...

    def cancel(self, symbol: str, cloid: str) -> bool:
        """Cancel by cloid; True if it was open and is now canceled, False if it was not open."""
        ...

    def order_by_cloid(self, symbol: str, cloid: str) -> VenueOrder | None:
        """The order with this cloid in any status, or None if the venue never accepted it."""
        ...

    def open_orders(self) -> list[VenueOrder]:
        """Every open order of the account, trigger orders (stops/targets) included."""
        ...

    def positions(self) -> list[VenuePosition]:
        """Every non-zero position of the account."""
        ...

    def fills_since(self, time_ms: int) -> list[VenueFill]:
        """Fills at or after ``time_ms``, oldest first."""
        ...

    def funding_since(self, time_ms: int) -> list[VenueFunding]:
        """Funding settled on the account's positions at or after ``time_ms``, oldest first."""
        ...

    def equity(self) -> float:
        """Account value (cash + unrealised P&L) in the quote currency."""
        ...

    # optional class attribute ``concurrent_reads = True``: two read calls may run at once on
    # different threads (absent: one at a time, e.g. ccxt's sync rate limiter counts serially)
    # optional batch calls (one request for the entries of one bar close; absent: one each):
    # ``cancel_many(pairs) -> list[bool | VenueError]`` and
    # ``place_many(orders) -> list[PlaceResult | VenueError]`` — per order what the single call
    # returns or the error that refused it; an error of the whole request raises

    def positions_and_equity(self) -> tuple[list[VenuePosition], float]:
        """``(positions(), equity())`` as of one moment, in as few requests as the venue
        allows (Hyperliquid: one): the Executor reads both on the order path."""
        ...

    def candles(self, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> list[Candle]:
        """Closed candles with open time in [start_ms, end_ms), oldest first (REST back-fill)."""
        ...

    def subscribe_candles(
        self, symbol: str, timeframe: str, on_candle: Callable[[Candle], None]
    ) -> Subscription:
        """Stream candle updates (forming and closed) through the venue's websocket."""
        ...

    def close(self) -> None:
        """Release connections (websocket threads, HTTP sessions)."""
        ...
