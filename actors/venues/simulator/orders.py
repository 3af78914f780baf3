"""Order records and the venue's JSON shapes for them (openOrders, frontendOpenOrders, orderStatus).

Why: one record per oid serves every query (open, historical, by cloid) and every websocket
update, so the shapes are produced in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from actors.venues.simulator.numbers import fmt

OPEN = "open"
WAITING_FOR_FILL = (
    "waitingForFill"  # normalTpsl child whose parent has not filled (unverified name)
)


@dataclass
class Order:
    oid: int
    user: str
    coin: str
    asset: int
    is_buy: bool
    limit_px: float
    orig_sz: float
    sz: float
    tif: str | None
    reduce_only: bool
    cloid: str | None
    timestamp: int
    status: str = OPEN
    status_ts: int = 0
    trigger_px: float | None = None
    is_market: bool = False
    tpsl: str | None = None
    parent: int | None = None
    children: list[int] = field(default_factory=list)
    is_position_tpsl: bool = False
    # changed since the simulator last journaled it (set by every assignment; not state)
    dirty: ClassVar[bool] = True

    def __setattr__(self, name: str, value: Any) -> None:
        """Every assignment marks the order changed since the simulator last journaled it."""
        object.__setattr__(self, name, value)
        object.__setattr__(self, "dirty", True)

    def clean(self) -> None:
        object.__setattr__(self, "dirty", False)

    def touch(self) -> None:
        """For in-place changes assignments do not see (``children.append``)."""
        object.__setattr__(self, "dirty", True)

    @property
    def is_trigger(self) -> bool:
        return self.trigger_px is not None

    def to_dict(self) -> dict[str, Any]:
        """Every field is a scalar but ``children``: a shallow copy equals ``asdict`` at a
        tenth of its cost (without the change mark, which is not state)."""
        d = {**vars(self), "children": list(self.children)}
        d.pop("dirty", None)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Order:
        return cls(**d)

    def order_type(self) -> str:
        if not self.is_trigger:
            return "Limit"
        kind = "Stop" if self.tpsl == "sl" else "Take Profit"
        return f"{kind} {'Market' if self.is_market else 'Limit'}"

    def trigger_condition(self) -> str:
        """Buy stops and sell take-profits fire above; the others below."""
        if not self.is_trigger:
            return "N/A"
        above = (self.tpsl == "sl") == self.is_buy
        return f"Price {'above' if above else 'below'} {fmt(self.trigger_px or 0.0)}"

    def basic_wire(self) -> dict[str, Any]:
        """openOrders / orderUpdates shape."""
        d: dict[str, Any] = {
            "coin": self.coin,
            "side": "B" if self.is_buy else "A",
            "limitPx": fmt(self.limit_px),
            "sz": fmt(self.sz),
            "oid": self.oid,
            "timestamp": self.timestamp,
            "origSz": fmt(self.orig_sz),
        }
        if self.cloid is not None:
            d["cloid"] = self.cloid
        return d

    def frontend_wire(self, children: list[Order] | None = None) -> dict[str, Any]:
        """frontendOpenOrders / orderStatus / historicalOrders shape."""
        return {
            "coin": self.coin,
            "side": "B" if self.is_buy else "A",
            "limitPx": fmt(self.limit_px),
            "sz": fmt(self.sz),
            "oid": self.oid,
            "timestamp": self.timestamp,
            "triggerCondition": self.trigger_condition(),
            "isTrigger": self.is_trigger,
            "triggerPx": fmt(self.trigger_px or 0.0),
            "children": [c.frontend_wire() for c in (children or [])],
            "isPositionTpsl": self.is_position_tpsl,
            "reduceOnly": self.reduce_only,
            "orderType": self.order_type(),
            "origSz": fmt(self.orig_sz),
            "tif": None if self.is_trigger else self.tif,
            "cloid": self.cloid,
        }

    def status_wire(self, children: list[Order] | None = None) -> dict[str, Any]:
        return {
            "order": self.frontend_wire(children),
            "status": self.status,
            "statusTimestamp": self.status_ts,
        }
