"""Strict reading of ccxt's unified order/trade/position structures into Venue records.

Why strict: a reply without our client id, with an unknown status or a non-numeric size is not
an answer we can act on, so it raises :class:`MalformedReply` (the adapter turns it into
``VenueUnavailable``: the outcome is unknown, look the order up) instead of being guessed at.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from actors.venues.base import OrderKind, Side, VenueFill, VenueOrder, VenuePosition

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
STATUS = {"open": "open", "closed": "filled", "canceled": "canceled", "expired": "expired",
          "rejected": "rejected"}  # fmt: skip


class MalformedReply(ValueError):
    """The reply does not have the shape the unified API promises."""


def client_id(cloid: str) -> str:
    """Our cloid (0x + 32 hex) as a client order id every venue accepts: the 32 hex digits
    (Binance/Bybit allow 36 characters, OKX 32 alphanumerics)."""
    return cloid.removeprefix("0x")


def cloid_of(client: Any) -> str | None:
    return f"0x{client}" if isinstance(client, str) and _HEX32.fullmatch(client) else None


def num(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise MalformedReply(f"{what} is not a number: {x!r}")
    return float(x)


def base(contracts: float, contract_size: float) -> float:
    """Contracts as base units in decimal (0.08 x 0.1 is 0.008, not 0.007999999999999998)."""
    if contract_size == 1.0:
        return contracts
    return float(Decimal(repr(contracts)) * Decimal(repr(contract_size)))


def kind_of(o: dict[str, Any]) -> OrderKind:
    typ = str(o.get("type") or "").lower()
    if (
        o.get("triggerPrice") is None
        and o.get("stopLossPrice") is None
        and not o.get("takeProfitPrice")
    ):
        if typ in ("limit", "market"):
            return typ  # type: ignore[return-value]
        raise MalformedReply(f"order type {typ!r} without a trigger price")
    if o.get("takeProfitPrice") is not None or "take_profit" in typ:
        return "take_profit"
    return "stop_loss"


def side_of(x: Any) -> Side:
    if x not in ("buy", "sell"):
        raise MalformedReply(f"side {x!r}")
    return x  # type: ignore[no-any-return]


def order(o: Any, symbol: str, contract_size: float) -> VenueOrder:
    """A VenueOrder from a unified order (sizes converted from contracts to base units)."""
    if not isinstance(o, dict):
        raise MalformedReply(f"order is {type(o).__name__}")
    status = STATUS.get(str(o.get("status")))
    if status is None or o.get("id") in (None, ""):
        raise MalformedReply(f"order status {o.get('status')!r} / id {o.get('id')!r}")
    amount = base(num(o.get("amount"), "amount"), contract_size)
    filled = base(num(o.get("filled") or 0.0, "filled"), contract_size)
    trig = o.get("triggerPrice") or o.get("stopLossPrice") or o.get("takeProfitPrice")
    return VenueOrder(
        cloid=cloid_of(o.get("clientOrderId")),
        venue_order_id=str(o["id"]),
        symbol=symbol,
        side=side_of(o.get("side")),
        size=amount,
        remaining=max(float(Decimal(repr(amount)) - Decimal(repr(filled))), 0.0),  # unfilled
        kind=kind_of(o),
        price=float(o["price"]) if o.get("price") else None,
        trigger_price=float(trig) if trig else None,
        reduce_only=bool(o.get("reduceOnly")),
        status=status,  # type: ignore[arg-type]
        time_ms=int(o.get("timestamp") or o.get("lastUpdateTimestamp") or 0),
    )


def position(p: Any, symbol: str, contract_size: float) -> VenuePosition | None:
    if not isinstance(p, dict):
        raise MalformedReply(f"position is {type(p).__name__}")
    contracts = num(p.get("contracts") or 0.0, "contracts")
    if contracts == 0:
        return None
    side = p.get("side")
    if side not in ("long", "short"):
        raise MalformedReply(f"position side {side!r}")
    size = base(abs(contracts), contract_size) * (1 if side == "long" else -1)
    liq = p.get("liquidationPrice")
    return VenuePosition(
        symbol=symbol,
        size=size,
        entry_price=num(p.get("entryPrice"), "entryPrice"),
        unrealized_pnl=float(p.get("unrealizedPnl") or 0.0),
        liquidation_price=float(liq) if liq else None,
        leverage=float(p["leverage"]) if p.get("leverage") else None,
    )


def fill(t: Any, symbol: str, contract_size: float, cloid: str | None) -> VenueFill:
    if not isinstance(t, dict) or t.get("id") in (None, "") or t.get("order") in (None, ""):
        raise MalformedReply(f"trade without id/order: {t!r:.200}")
    fee = t.get("fee") or {}
    info = t.get("info") or {}
    realized = info.get("realizedPnl") or info.get("closedPnl") or info.get("fillPnl")  # OKX
    return VenueFill(
        trade_id=str(t["id"]),
        cloid=cloid,
        venue_order_id=str(t["order"]),
        symbol=symbol,
        side=side_of(t.get("side")),
        size=base(num(t.get("amount"), "amount"), contract_size),
        price=num(t.get("price"), "price"),
        fee=abs(float(fee.get("cost") or 0.0)),
        closed_pnl=float(realized or 0.0),
        time_ms=int(num(t.get("timestamp"), "timestamp")),
    )
