"""Messages the live actors pass to each other (DESIGN.md "Live message flow").

Why pydantic models with ``(source, seq)``: Ray delivers at least once and does not order
messages across senders, so every handler dedupes on ``(source, seq)`` and every message is
validated where it is built — a malformed message fails at the sender, not deep in an actor.
Models are frozen: a message is a fact, never edited after it is sent.

Money-relevant identities:

* ``Signal.signal_id`` is deterministic (strategy, symbol, bar time), so a replayed bar yields the
  same id and the same signal is never acted on twice.
* ``OrderIntent.cloid`` is derived from (strategy, symbol, signal id, purpose, attempt) by
  :func:`make_cloid`: a retried or duplicated intent maps to the same venue client order id.
"""

from __future__ import annotations

import hashlib
import time
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Side = Literal["buy", "sell"]
CLOID_PATTERN = r"^0x[0-9a-f]{32}$"
# Hop timestamps carried beside a message on the order path, ``(stage, time.monotonic_ns())``.
# Optional (None in production: no cost) and outside the models, so a journaled payload and the
# dedup keys never depend on timing. CLOCK_MONOTONIC is one clock per host: a trace is only
# meaningful while every actor on its path runs on the same machine.
Trace = list[tuple[str, int]]


def stamp(trace: Trace | None, stage: str) -> Trace | None:
    """``trace`` with ``stage`` stamped now (a new list: a trace may fan out), or None."""
    return None if trace is None else [*trace, (stage, time.monotonic_ns())]


class Level(StrEnum):
    """Alert level of an :class:`Event`."""

    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class Message(BaseModel):
    """Base of every message: who sent it and its per-sender sequence number."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(min_length=1)
    seq: int = Field(ge=0)

    @property
    def key(self) -> tuple[str, int]:
        """Dedup key: a handler that has seen this key ignores the message."""
        return (self.source, self.seq)


class Bar(Message):
    """A closed candle (``time_ms`` = open time, epoch ms UTC) published once, in order."""

    venue: str
    symbol: str
    timeframe: str
    time_ms: int = Field(ge=0)
    open: float = Field(gt=0, allow_inf_nan=False)
    high: float = Field(gt=0, allow_inf_nan=False)
    low: float = Field(gt=0, allow_inf_nan=False)
    close: float = Field(gt=0, allow_inf_nan=False)
    volume: float = Field(ge=0, allow_inf_nan=False)
    backfilled: bool = False  # came from REST (start-up warm-up or a gap), not the websocket

    @model_validator(mode="after")
    def _consistent(self) -> Bar:
        """A bar whose low/high do not bracket its open and close is garbage, never traded."""
        if not self.low <= min(self.open, self.close) <= max(self.open, self.close) <= self.high:
            raise ValueError(
                f"inconsistent OHLC: o={self.open} h={self.high} l={self.low} c={self.close}"
            )
        return self


class Signal(Message):
    """A strategy's entry order request at a bar's close, with the detector values that fired."""

    signal_id: str
    strategy: str
    symbol: str
    bar_time_ms: int
    side: Side
    kind: Literal["market", "limit", "stop"]
    price: float | None  # limit/stop price; None for market
    stop: float = Field(gt=0)
    target: float | None = None
    reasons: dict[str, float] = Field(default_factory=dict)


class RiskDecision(Message):
    """PortfolioRisk's verdict on one signal and the rule that decided it."""

    signal_id: str
    approved: bool
    rule: str  # e.g. "approved", "max_open_positions", "reconciliation_pending", "breaker:drawdown"
    size: float = 0.0
    detail: str = ""


class OrderIntent(Message):
    """What the Executor will send, journaled with its cloid *before* the venue call."""

    intent_id: str
    cloid: str = Field(pattern=CLOID_PATTERN)
    signal_id: str | None  # None for protective/closing orders not born from a signal
    symbol: str
    side: Side
    size: float = Field(gt=0)
    kind: Literal["market", "limit", "stop_loss", "take_profit"]
    price: float | None = None  # limit price (market: None; the venue adapter adds slippage)
    trigger_price: float | None = None  # stop_loss / take_profit trigger
    reduce_only: bool = False
    purpose: Literal["entry", "stop", "target", "exit", "adopt_stop"]
    stop: float | None = None  # the protective stop planned for an entry
    target: float | None = None


class OrderUpdate(Message):
    """A change of an order's state as seen on the venue."""

    cloid: str | None
    venue_order_id: str | None
    symbol: str
    status: Literal["sent", "resting", "filled", "partially_filled", "canceled", "rejected",
                    "triggered", "unknown"]  # fmt: skip
    filled_size: float = 0.0
    avg_price: float | None = None
    error: str | None = None
    time_ms: int = 0


class Fill(Message):
    """One venue fill, deduplicated by ``trade_id`` (the venue's ``tid``)."""

    trade_id: str
    cloid: str | None
    venue_order_id: str | None
    symbol: str
    side: Side
    size: float = Field(gt=0)
    price: float = Field(gt=0)
    fee: float = 0.0
    closed_pnl: float = 0.0
    time_ms: int = Field(ge=0)


class Funding(Message):
    """One funding payment on a position, as the venue settled it; deduplicated by
    ``(symbol, time_ms)`` (one settlement per symbol and funding time). ``amount`` is what the
    account received: negative when it paid."""

    symbol: str
    time_ms: int = Field(ge=0)
    amount: float = Field(allow_inf_nan=False)
    rate: float | None = None
    size: float | None = None  # signed position size it was paid on


class Event(Message):
    """Anything an operator may need to know, at a level; the Alerter logs (later: Telegram)."""

    level: Level
    kind: str  # e.g. "order_placed", "fill", "reconciliation_diff", "stale_data", "error"
    text: str
    data: dict[str, str | float | int | bool | None] = Field(default_factory=dict)
    time_ms: int = 0


def make_cloid(strategy: str, symbol: str, signal_id: str, purpose: str, attempt: int = 0) -> str:
    """Deterministic Hyperliquid-style client order id (0x + 32 hex): the same intent, retried or
    delivered twice, always maps to the same cloid, so the venue can never hold two of them."""
    raw = f"{strategy}|{symbol}|{signal_id}|{purpose}|{attempt}".encode()
    return "0x" + hashlib.sha256(raw).hexdigest()[:32]


def make_signal_id(strategy: str, symbol: str, timeframe: str, bar_time_ms: int) -> str:
    """Deterministic signal id: one bar of one strategy on one symbol can produce one signal."""
    return f"{strategy}:{symbol}:{timeframe}:{bar_time_ms}"
