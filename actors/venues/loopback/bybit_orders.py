"""Bybit's ``/v5/order/create`` body read into one loopback order, with Bybit's own refusals.

Why here: what Bybit checks before an order reaches the book (``orderLinkId`` length and
characters, one-way ``positionIdx``, a conditional's ``triggerDirection`` against the last price,
conditionals reduce-only) is Bybit's rule, not the exchange-neutral core's.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from actors.venues.loopback.engine import Engine, Kind, Order, Reject

LINK_ID_MAX = 36
LINK_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


class BybitReject(Reject):
    """A refusal with Bybit's own retCode (the neutral codes cover the core's refusals)."""

    def __init__(self, ret_code: int, message: str) -> None:
        super().__init__("bybit", message)
        self.ret_code = ret_code


def _dec(p: dict[str, Any], name: str) -> Decimal | None:
    v = p.get(name)
    if v in (None, "", "0"):
        return None
    try:
        return Decimal(str(v))
    except InvalidOperation:
        raise BybitReject(10001, f"params error: {name} invalid") from None


def _flag(v: Any) -> bool:
    return v is True or str(v).lower() == "true"


def place(engine: Engine, symbol: str, p: dict[str, Any]) -> Order:
    side = str(p.get("side", ""))
    if side not in ("Buy", "Sell"):
        raise BybitReject(10001, "params error: side invalid")
    wire = str(p.get("orderType", ""))
    if wire not in ("Market", "Limit"):
        raise BybitReject(10001, "params error: orderType invalid")
    link = str(p.get("orderLinkId") or "")
    if not link:
        link = f"loopback-{len(engine.orders)}"  # Bybit accepts orders without a client id
    elif len(link) > LINK_ID_MAX or not set(link) <= LINK_ID_CHARS:
        raise BybitReject(10001, "params error: orderLinkId must be at most 36 characters of "
                          "letters, digits, '-' and '_'")  # fmt: skip
    if str(p.get("positionIdx", 0)) != "0" or engine.account.hedge_mode:
        raise BybitReject(10001, "position idx not match position mode")
    qty = _dec(p, "qty")
    if qty is None:
        raise BybitReject(10001, "params error: qty is required")
    price = _dec(p, "price") if wire == "Limit" else None
    trigger = _dec(p, "triggerPrice")
    reduce_only = _flag(p.get("reduceOnly"))
    kind: Kind = "limit" if wire == "Limit" else "market"
    with engine.lock:
        engine.advance()
        if trigger is not None:
            kind = _conditional(engine, symbol, side, wire, trigger, p, reduce_only)
        tif = str(p.get("timeInForce") or ("GTC" if wire == "Limit" else "IOC"))
        return engine.place(
            client_id=link, symbol=symbol, side=side.lower(),  # type: ignore[arg-type]
            kind=kind, qty=qty, price=price, trigger=trigger, reduce_only=reduce_only,
            post_only=tif == "PostOnly",
        )  # fmt: skip


def _conditional(engine: Engine, symbol: str, side: str, wire: str, trigger: Decimal,
                 p: dict[str, Any], reduce_only: bool) -> Kind:  # fmt: skip
    """A stop or a target from ``triggerDirection`` (1 rises to it, 2 falls to it)."""
    direction = str(p.get("triggerDirection", ""))
    if direction not in ("1", "2"):
        raise BybitReject(10001, "params error: triggerDirection must be 1 or 2")
    if wire != "Market" or not reduce_only:
        raise BybitReject(10001, "the loopback serves reduce-only market conditionals only")
    last = Decimal(repr(engine.mark(symbol)))
    if direction == "1" and trigger <= last:
        raise BybitReject(110092, f"expect Rising, but trigger_price[{trigger}] <= "
                          f"current[{last}]??LastPrice")  # fmt: skip
    if direction == "2" and trigger >= last:
        raise BybitReject(110093, f"expect Falling, but trigger_price[{trigger}] >= "
                          f"current[{last}]??LastPrice")  # fmt: skip
    falls = direction == "2"
    # a sell that fires on a fall (or a buy on a rise) is a stop; the other way a target
    return "stop" if falls == (side == "Sell") else "take_profit"
