"""Typed `/exchange` actions: the whole action is parsed and checked before anything is applied.

Why: the venue deserializes the request body into typed structs before it verifies the
signature or uses the nonce (docs/hyperliquid.md §14), so a malformed item anywhere in a batch
(a bad cloid, an unknown tif, a missing key) is an HTTP 422 and changes nothing: no order, no
fill, no nonce. Parsing every order/cancel/modify up front means the engine never meets a
malformed item half-way through a batch. Rules that depend on the market (tick, margin, asset
range) stay per-order errors in the engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from actors.venues.simulator.numbers import parse_decimal

CLOID = re.compile(r"0x[0-9a-fA-F]{32}")
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
TIFS = ("Gtc", "Ioc", "Alo")
GROUPINGS = ("na", "normalTpsl", "positionTpsl")


class Malformed(ValueError):
    """The action does not deserialize (the server answers 422 and applies nothing)."""


@dataclass(frozen=True)
class Trigger:
    trigger_px: Decimal
    is_market: bool
    tpsl: str


@dataclass(frozen=True)
class OrderSpec:
    asset: int
    is_buy: bool
    px: Decimal
    sz: Decimal
    reduce_only: bool
    tif: str | None  # None for trigger orders
    trigger: Trigger | None
    cloid: str | None


@dataclass(frozen=True)
class PlaceOrders:
    orders: list[OrderSpec]
    grouping: str


@dataclass(frozen=True)
class Cancel:
    asset: int
    oid: int


@dataclass(frozen=True)
class CancelByCloid:
    asset: int
    cloid: str


@dataclass(frozen=True)
class CancelBatch:
    cancels: list[Cancel] | list[CancelByCloid]


@dataclass(frozen=True)
class Modify:
    oid: int | str  # an oid or a cloid
    order: OrderSpec


@dataclass(frozen=True)
class BatchModify:
    modifies: list[Modify]


@dataclass(frozen=True)
class SingleModify:
    modify: Modify


@dataclass(frozen=True)
class UpdateLeverage:
    asset: int
    is_cross: bool
    leverage: int


@dataclass(frozen=True)
class UpdateIsolatedMargin:
    asset: int
    is_buy: bool
    ntli: int


@dataclass(frozen=True)
class ScheduleCancel:
    time: int | None


@dataclass(frozen=True)
class ApproveAgent:
    agent: str
    name: str


@dataclass(frozen=True)
class Unsupported:
    kind: str


Action = (
    PlaceOrders
    | CancelBatch
    | BatchModify
    | SingleModify
    | UpdateLeverage
    | UpdateIsolatedMargin
    | ScheduleCancel
    | ApproveAgent
    | Unsupported
)


def parse_action(action: Any) -> Action:
    """The typed action, or Malformed naming the first problem (nothing is applied then)."""
    obj = _obj(action, "action")
    kind = _str(obj, "type")
    if kind == "order":
        grouping = obj.get("grouping", "na")
        if grouping not in GROUPINGS:
            raise Malformed(f"grouping must be one of {GROUPINGS}, got {grouping!r}")
        wires = _list(obj, "orders")
        return PlaceOrders([parse_order(w, f"orders[{i}]") for i, w in enumerate(wires)], grouping)
    if kind == "cancel":
        return CancelBatch(
            [_cancel(_obj(c, f"cancels[{i}]")) for i, c in enumerate(_list(obj, "cancels"))]
        )
    if kind == "cancelByCloid":
        return CancelBatch(
            [
                _cancel_by_cloid(_obj(c, f"cancels[{i}]"))
                for i, c in enumerate(_list(obj, "cancels"))
            ]
        )
    if kind == "batchModify":
        return BatchModify(
            [_modify(_obj(m, f"modifies[{i}]")) for i, m in enumerate(_list(obj, "modifies"))]
        )
    if kind == "modify":
        return SingleModify(_modify(obj))
    if kind == "updateLeverage":
        return UpdateLeverage(_int(obj, "asset"), _bool(obj, "isCross"), _int(obj, "leverage"))
    if kind == "updateIsolatedMargin":
        return UpdateIsolatedMargin(
            _int(obj, "asset"), _bool(obj, "isBuy"), _int(obj, "ntli", signed=True)
        )
    if kind == "scheduleCancel":
        return ScheduleCancel(None if obj.get("time") is None else _int(obj, "time"))
    if kind == "approveAgent":
        agent = _str(obj, "agentAddress")
        if not ADDRESS.fullmatch(agent):
            raise Malformed(f"agentAddress must be 0x + 40 hex digits, got {agent!r}")
        name = obj.get("agentName") or ""
        if not isinstance(name, str):
            raise Malformed("agentName must be a string")
        return ApproveAgent(agent.lower(), name)
    return Unsupported(kind)


def parse_order(wire: Any, where: str = "order") -> OrderSpec:
    """One order wire `{a, b, p, s, r, t, c?}` as the SDK builds it."""
    w = _obj(wire, where)
    t = _obj(w.get("t"), f"{where}.t")
    if ("limit" in t) == ("trigger" in t):
        raise Malformed(f"{where}.t must hold exactly one of limit, trigger, got {t!r}")
    tif, trigger = None, None
    if "limit" in t:
        tif = _obj(t["limit"], f"{where}.t.limit").get("tif")
        if tif not in TIFS:
            raise Malformed(f"{where}: tif must be one of {TIFS}, got {tif!r}")
    else:
        trig = _obj(t["trigger"], f"{where}.t.trigger")
        tpsl = trig.get("tpsl")
        if tpsl not in ("tp", "sl"):
            raise Malformed(f"{where}: trigger tpsl must be 'tp' or 'sl', got {tpsl!r}")
        trigger = Trigger(_dec(trig, "triggerPx", where), _bool(trig, "isMarket"), tpsl)
    cloid = w.get("c")
    if cloid is not None and not (isinstance(cloid, str) and CLOID.fullmatch(cloid)):
        raise Malformed(f"{where}: cloid must be 0x + 32 hex digits, got {cloid!r}")
    return OrderSpec(
        asset=_int(w, "a"),
        is_buy=_bool(w, "b"),
        px=_dec(w, "p", where),
        sz=_dec(w, "s", where),
        reduce_only=_bool(w, "r"),
        tif=tif,
        trigger=trigger,
        cloid=cloid,
    )


def _cancel(c: dict[str, Any]) -> Cancel:
    return Cancel(_int(c, "a"), _int(c, "o"))


def _cancel_by_cloid(c: dict[str, Any]) -> CancelByCloid:
    cloid = _str(c, "cloid")
    if not CLOID.fullmatch(cloid):
        raise Malformed(f"cloid must be 0x + 32 hex digits, got {cloid!r}")
    return CancelByCloid(_int(c, "asset"), cloid)


def _modify(m: dict[str, Any]) -> Modify:
    oid = m.get("oid")
    if isinstance(oid, str):
        if not CLOID.fullmatch(oid):
            raise Malformed(f"modify oid must be an oid or a cloid, got {oid!r}")
    else:
        oid = _int(m, "oid")
    return Modify(oid, parse_order(m.get("order"), "modify.order"))


def _obj(raw: Any, what: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Malformed(f"{what} must be an object, got {type(raw).__name__}")
    return raw


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    raw = obj.get(key)
    if not isinstance(raw, list):
        raise Malformed(f"{key} must be a list, got {type(raw).__name__}")
    return raw


def _str(obj: dict[str, Any], key: str) -> str:
    raw = obj.get(key)
    if not isinstance(raw, str):
        raise Malformed(f"{key} must be a string, got {type(raw).__name__}")
    return raw


def _bool(obj: dict[str, Any], key: str) -> bool:
    raw = obj.get(key)
    if not isinstance(raw, bool):
        raise Malformed(f"{key} must be true or false, got {raw!r}")
    return raw


def _int(obj: dict[str, Any], key: str, signed: bool = False) -> int:
    raw = obj.get(key)
    if not isinstance(raw, int) or isinstance(raw, bool) or (raw < 0 and not signed):
        raise Malformed(f"{key} must be a{'n' if signed else ' non-negative'} integer, got {raw!r}")
    return raw


def _dec(obj: dict[str, Any], key: str, where: str) -> Decimal:
    try:
        return parse_decimal(obj.get(key), f"{where}.{key}")
    except ValueError as exc:
        raise Malformed(str(exc)) from None
