"""Positions, closed trades and metrics derived from fills — pure functions (F5, F13).

Why derive instead of store: a position kept as a mutable number drifts on every duplicated,
replayed or reordered fill. Here the fills log is the only input; fills are deduplicated by
``trade_id`` and folded in one canonical order ``(time_ms, trade_id)``, so any arrival order
and any number of duplicates yield exactly the same positions, trades and P&L.

Accounting: a round trip runs from flat to flat. Adding to a position moves its volume-weighted
entry price; reducing realises ``(exit - entry) * qty`` for a long (the opposite for a short)
and keeps the entry price; a fill that crosses zero closes the trade and opens a new one with
the remainder, its fee split pro rata. A trade's P&L is net of every fee paid on it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from actors.messages import Fill
from strategies.metrics import sharpe

# sizes closer to zero than this are flat (venue size decimals are far coarser)
SIZE_EPS = 1e-9
SPREAD_EPS = 1e-12  # per-trade returns closer together than this have no spread


class JournalPosition(BaseModel):
    """An open position as the journal knows it (derived from fills)."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    size: float  # signed: > 0 long, < 0 short
    entry_price: float  # volume-weighted entry of the open trade
    opened_ms: int
    last_fill_ms: int
    last_trade_id: str
    fees: float = 0.0  # fees paid so far on the open trade
    realized_pnl: float = 0.0  # P&L realised by partial reductions of the open trade
    stop: float | None = None  # resting protective stop (or the one planned at entry)
    target: float | None = None

    @property
    def side(self) -> str:
        return "long" if self.size > 0 else "short"


class ClosedTrade(BaseModel):
    """One round trip, flat to flat."""

    model_config = ConfigDict(frozen=True)

    trade_key: str  # symbol + first trade id: stable identity of the round trip
    symbol: str
    side: str  # "long" | "short"
    size: float  # total quantity entered
    entry_price: float
    exit_price: float
    opened_ms: int
    closed_ms: int
    pnl: float  # net of fees
    fees: float
    return_pct: float  # pnl / entry notional


@dataclass
class _Open:
    """Accumulator of one open round trip."""

    first_trade_id: str
    opened_ms: int
    entry_sign: float  # +1 long, -1 short
    size: float = 0.0
    avg: float = 0.0
    entry_qty: float = 0.0
    entry_notional: float = 0.0
    exit_qty: float = 0.0
    exit_notional: float = 0.0
    realized: float = 0.0
    fees: float = 0.0
    last_fill_ms: int = 0
    last_trade_id: str = ""

    def add(self, qty_signed: float, price: float, fee: float) -> None:
        q = abs(qty_signed)
        new = abs(self.size) + q
        self.avg = (self.avg * abs(self.size) + price * q) / new
        self.size += qty_signed
        self.entry_qty += q
        self.entry_notional += price * q
        self.fees += fee

    def reduce(self, q: float, price: float, fee: float) -> None:
        direction = 1.0 if self.size > 0 else -1.0
        self.realized += (price - self.avg) * q * direction
        self.size -= q * direction
        self.exit_qty += q
        self.exit_notional += price * q
        self.fees += fee

    def closed(self, symbol: str, closed_ms: int) -> ClosedTrade:
        pnl = self.realized - self.fees
        notional = self.entry_notional
        return ClosedTrade(
            trade_key=f"{symbol}:{self.first_trade_id}",
            symbol=symbol,
            side="long" if self.entry_sign > 0 else "short",
            size=self.entry_qty,
            entry_price=self.entry_notional / self.entry_qty,
            exit_price=self.exit_notional / self.exit_qty if self.exit_qty else self.avg,
            opened_ms=self.opened_ms,
            closed_ms=closed_ms,
            pnl=pnl,
            fees=self.fees,
            return_pct=pnl / notional if notional > 0 else 0.0,
        )


def canonical_fills(fills: Iterable[Fill]) -> list[Fill]:
    """Deduplicate by ``trade_id`` (first seen wins) and sort by ``(time_ms, trade_id)``."""
    unique: dict[str, Fill] = {}
    for f in fills:
        unique.setdefault(f.trade_id, f)
    return sorted(unique.values(), key=lambda f: (f.time_ms, f.trade_id))


def derive(fills: Iterable[Fill]) -> tuple[dict[str, JournalPosition], list[ClosedTrade]]:
    """Open positions by symbol and closed trades (oldest first) from a fills log."""
    book: dict[str, _Open] = {}
    trades: list[ClosedTrade] = []
    for f in canonical_fills(fills):
        signed = f.size if f.side == "buy" else -f.size
        cur: _Open | None = book.get(f.symbol)
        if cur is None:
            cur = book[f.symbol] = _Open(f.trade_id, f.time_ms, math.copysign(1.0, signed))
            cur.add(signed, f.price, f.fee)
        elif (cur.size > 0) == (signed > 0):
            cur.add(signed, f.price, f.fee)
        else:
            q_close = min(abs(signed), abs(cur.size))
            rest = abs(signed) - q_close
            cur.reduce(q_close, f.price, f.fee * q_close / abs(signed))
            if abs(cur.size) <= SIZE_EPS:
                trades.append(cur.closed(f.symbol, f.time_ms))
                del book[f.symbol]
                cur = None
                if rest > SIZE_EPS:
                    flip = math.copysign(rest, signed)
                    cur = book[f.symbol] = _Open(f.trade_id, f.time_ms, math.copysign(1.0, flip))
                    cur.add(flip, f.price, f.fee * rest / abs(signed))
        if cur is not None:
            cur.last_fill_ms = f.time_ms
            cur.last_trade_id = f.trade_id
    positions = {
        sym: JournalPosition(
            symbol=sym,
            size=o.size,
            entry_price=o.avg,
            opened_ms=o.opened_ms,
            last_fill_ms=o.last_fill_ms,
            last_trade_id=o.last_trade_id,
            fees=o.fees,
            realized_pnl=o.realized,
        )
        for sym, o in sorted(book.items())
    }
    return positions, trades


def metrics(trades: list[ClosedTrade]) -> dict[str, float | int]:
    """Headline figures of closed trades: total P&L (net of fees), win rate and the Sharpe ratio
    of per-trade returns (not annualised: trades are not evenly spaced in time)."""
    pnl = np.array([t.pnl for t in trades], dtype=np.float64)
    rets = np.array([t.return_pct for t in trades], dtype=np.float64)
    n = int(pnl.size)
    return {
        "trades": n,
        "total_pnl": float(pnl.sum()) if n else 0.0,
        "fees": float(sum(t.fees for t in trades)),
        "win_rate": float((pnl > 0).sum() / n) if n else 0.0,
        # identical returns (e.g. fee-only losses) have no spread: the ratio is undefined, and
        # float noise in the spread would otherwise make it -7e7
        "sharpe": math.nan if n >= 2 and rets.std() <= SPREAD_EPS else float(sharpe(rets, 1.0)),
    }
