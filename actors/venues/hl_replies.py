"""Hyperliquid replies -> the venue-neutral records of ``actors.venues.base`` (pure functions).

Why separate from the client: every reply shape and every error rule (failure_modes F22: HTTP 200
``"ok"`` with errors inside ``statuses``; bare-string statuses; one error for a whole batch) is
decided here and unit-tested on recorded replies without a network. Anything that does not have
the expected shape raises :class:`MalformedReply`, which the client turns into
``VenueUnavailable`` — a reply we cannot read never becomes a rejection or a success.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from actors.venues.base import (
    Candle,
    OrderKind,
    OrderRejected,
    PlaceResult,
    VenueError,
    VenueFill,
    VenueFunding,
    VenueOrder,
    VenuePosition,
)

# whole-request errors that mean the credentials/account are wrong, not this order
AUTH_ERRORS = ("User or API Wallet", "L1 error: User or API Wallet", "Vault not registered")
MISSING_ORDER = "Order was never placed, already canceled, or filled."
PENDING_STATUSES = ("waitingForTrigger", "waitingForFill")


class MalformedReply(ValueError):
    """The venue's reply does not have the documented shape: the outcome is unknown."""


def _num(x: Any, what: str) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        raise MalformedReply(f"{what} is not a number: {x!r}") from None


def _dict(x: Any, what: str) -> dict[str, Any]:
    if not isinstance(x, dict):
        raise MalformedReply(f"{what} is not an object: {str(x)[:200]!r}")
    return x


def _list(x: Any, what: str) -> list[Any]:
    if not isinstance(x, list):
        raise MalformedReply(f"{what} is not a list: {str(x)[:200]!r}")
    return x


def request_error(reply: Any) -> str | None:
    """The text of a whole-request error (``{"status":"err"}``), else None."""
    body = _dict(reply, "exchange reply")
    status = body.get("status")
    if status == "err":
        return str(body.get("response"))
    if status != "ok":
        raise MalformedReply(f"exchange reply has status {status!r}: {str(body)[:200]!r}")
    return None


def is_auth_error(text: str) -> bool:
    return text.startswith(AUTH_ERRORS)


def statuses(reply: Any) -> list[Any]:
    """``response.data.statuses`` of an ok order/cancel reply."""
    resp = _dict(_dict(reply, "exchange reply").get("response"), "exchange response")
    data = _dict(resp.get("data"), "exchange response data")
    out = _list(data.get("statuses"), "statuses")
    if not out:
        raise MalformedReply("exchange reply has no statuses")
    return out


def place_result(reply: Any, cloid: str, size: float) -> PlaceResult:
    """The one order's outcome, or OrderRejected with the venue's own text."""
    out = place_results(reply, [(cloid, size)])[0]
    if isinstance(out, OrderRejected):
        raise out
    return out


def place_results(
    reply: Any, orders: Sequence[tuple[str, float]]
) -> list[PlaceResult | OrderRejected]:
    """Per order of a batch (``(cloid, size)`` in request order): its outcome, or the
    OrderRejected that refused it. A refusal of the whole request rejects every order (nothing
    was placed); a refused signer raises VenueError; statuses that do not match the batch raise
    MalformedReply (which order would a status belong to?)."""
    err = request_error(reply)
    if err is not None:
        if is_auth_error(err):
            raise VenueError(f"venue refused the signer/account: {err}")
        return [OrderRejected(cloid, err) for cloid, _ in orders]
    sts = statuses(reply)
    if len(sts) != len(orders):
        raise MalformedReply(f"expected {len(orders)} order statuses, got {len(sts)}")
    out: list[PlaceResult | OrderRejected] = []
    for st, (cloid, size) in zip(sts, orders, strict=True):
        try:
            out.append(_place_status(st, cloid, size))
        except OrderRejected as rej:
            out.append(rej)
    return out


def _place_status(st: Any, cloid: str, size: float) -> PlaceResult:
    if isinstance(st, str):
        if st in PENDING_STATUSES:
            return PlaceResult(cloid=cloid, status="triggered_pending")
        if st == "error":
            raise OrderRejected(cloid, "error")
        raise MalformedReply(f"unknown order status {st!r}")
    st = _dict(st, "order status")
    if "error" in st:
        raise OrderRejected(cloid, str(st["error"]))
    if "resting" in st:
        r = _dict(st["resting"], "resting")
        return PlaceResult(cloid=cloid, status="resting", venue_order_id=str(r["oid"]))
    if "filled" in st:
        f = _dict(st["filled"], "filled")
        total = _num(f.get("totalSz"), "totalSz")
        avg = _num(f.get("avgPx"), "avgPx")
        partial = total + 1e-12 < size
        return PlaceResult(
            cloid=cloid,
            status="partially_filled" if partial else "filled",
            venue_order_id=str(f.get("oid")),
            filled_size=total,
            avg_price=avg,
        )
    raise MalformedReply(f"unknown order status {str(st)[:200]!r}")


def cancel_result(reply: Any) -> bool:
    """True = it was open and is now canceled; False = it was not open."""
    out = cancel_results(reply, 1)[0]
    if isinstance(out, VenueError):
        raise out
    return out


def cancel_results(reply: Any, n: int) -> list[bool | VenueError]:
    """Per cancel of a batch of ``n``: True (was open, now canceled), False (was not open) or
    the VenueError that refused it. A refusal of the whole request raises; so does a reply
    whose statuses do not match the batch (which cancel would a status belong to?)."""
    err = request_error(reply)
    if err is not None:
        raise VenueError(f"cancel refused: {err}")
    sts = statuses(reply)
    if len(sts) != n:
        raise MalformedReply(f"expected {n} cancel statuses, got {len(sts)}")
    return [_cancel_status(st) for st in sts]


def _cancel_status(st: Any) -> bool | VenueError:
    if st == "success":
        return True
    if isinstance(st, dict) and "error" in st:
        text = str(st["error"])
        if text.startswith(MISSING_ORDER):
            return False
        return VenueError(f"cancel refused: {text}")
    raise MalformedReply(f"unknown cancel status {str(st)[:200]!r}")


def _status(raw: str) -> str:
    if raw in ("open", "filled", "triggered"):
        return raw
    low = raw.lower()
    if raw == "rejected" or low.endswith("rejected"):
        return "rejected"
    if low.endswith("canceled") or low.endswith("cancelled") or low == "scheduledcancel":
        return "canceled"
    if "expire" in low:
        return "expired"
    raise MalformedReply(f"unknown order status {raw!r}")


def _kind(o: dict[str, Any]) -> OrderKind:
    order_type = str(o.get("orderType", "Limit"))
    if order_type.startswith("Stop"):
        return "stop_loss"
    if order_type.startswith("Take Profit"):
        return "take_profit"
    if order_type == "Market" or o.get("tif") in ("Ioc", "FrontendMarket"):
        return "market"
    return "limit"


def venue_order(o: dict[str, Any], status: str, time_ms: int | None = None) -> VenueOrder:
    """A frontendOpenOrders / orderStatus order record."""
    o = _dict(o, "order")
    is_trigger = bool(o.get("isTrigger", False))
    orig = _num(o.get("origSz", o.get("sz")), "origSz")
    remaining = _num(o.get("sz"), "sz")
    cloid = o.get("cloid")
    return VenueOrder(
        cloid=str(cloid).lower() if cloid else None,
        venue_order_id=str(o["oid"]),
        symbol=str(o["coin"]),
        side="buy" if o.get("side") == "B" else "sell",
        size=orig,
        remaining=remaining,
        kind=_kind(o),
        price=_num(o.get("limitPx"), "limitPx"),
        trigger_price=_num(o.get("triggerPx"), "triggerPx") if is_trigger else None,
        reduce_only=bool(o.get("reduceOnly", False)),
        status=_status(status),  # type: ignore[arg-type]
        time_ms=int(time_ms if time_ms is not None else o.get("timestamp", 0)),
    )


def order_status(reply: Any) -> VenueOrder | None:
    """orderStatus by cloid: None for ``unknownOid`` (never accepted)."""
    body = _dict(reply, "orderStatus reply")
    if body.get("status") == "unknownOid":
        return None
    if body.get("status") != "order":
        raise MalformedReply(f"orderStatus reply has status {body.get('status')!r}")
    wrapper = _dict(body.get("order"), "orderStatus order")
    return venue_order(
        _dict(wrapper.get("order"), "order"),
        str(wrapper.get("status")),
        int(wrapper.get("statusTimestamp", 0)),
    )


def open_orders(reply: Any) -> list[VenueOrder]:
    return [venue_order(o, "open") for o in _list(reply, "frontendOpenOrders")]


def positions(reply: Any) -> list[VenuePosition]:
    body = _dict(reply, "clearinghouseState")
    out = []
    for ap in _list(body.get("assetPositions"), "assetPositions"):
        p = _dict(_dict(ap, "assetPosition").get("position"), "position")
        szi = _num(p.get("szi"), "szi")
        if szi == 0:
            continue
        lev = p.get("leverage")
        liq = p.get("liquidationPx")
        out.append(
            VenuePosition(
                symbol=str(p["coin"]),
                size=szi,
                entry_price=_num(p.get("entryPx"), "entryPx"),
                unrealized_pnl=_num(p.get("unrealizedPnl", 0.0), "unrealizedPnl"),
                liquidation_price=None if liq is None else _num(liq, "liquidationPx"),
                leverage=_num(lev["value"], "leverage") if isinstance(lev, dict) else None,
            )
        )
    return sorted(out, key=lambda p: p.symbol)


def account_value(reply: Any) -> float:
    body = _dict(reply, "clearinghouseState")
    return _num(_dict(body.get("marginSummary"), "marginSummary").get("accountValue"), "value")


def server_time(reply: Any) -> int:
    t = _dict(reply, "clearinghouseState").get("time")
    if not isinstance(t, int):
        raise MalformedReply(f"clearinghouseState has no integer time: {t!r}")
    return t


def fill(f: dict[str, Any]) -> VenueFill:
    f = _dict(f, "fill")
    cloid = f.get("cloid")
    return VenueFill(
        trade_id=str(f["tid"]),
        cloid=str(cloid).lower() if cloid else None,
        venue_order_id=str(f["oid"]),
        symbol=str(f["coin"]),
        side="buy" if f.get("side") == "B" else "sell",
        size=_num(f.get("sz"), "sz"),
        price=_num(f.get("px"), "px"),
        fee=_num(f.get("fee", 0.0), "fee"),
        closed_pnl=_num(f.get("closedPnl", 0.0), "closedPnl"),
        time_ms=int(f["time"]),
    )


def fills(reply: Any) -> list[VenueFill]:
    return [fill(f) for f in _list(reply, "userFills")]


def funding(reply: Any) -> list[VenueFunding]:
    """``userFunding`` rows: ``{"time", "hash", "delta": {"type": "funding", "coin", "usdc",
    "szi", "fundingRate"}}``; ``usdc`` is what the account received (negative = paid)."""
    out = []
    for row in _list(reply, "userFunding"):
        row = _dict(row, "userFunding row")
        d = _dict(row.get("delta"), "userFunding delta")
        if d.get("type") != "funding":
            continue
        t = row.get("time")
        if isinstance(t, bool) or not isinstance(t, int):
            raise MalformedReply(f"userFunding time is not an integer: {t!r}")
        amount = _num(d.get("usdc"), "usdc")
        if not math.isfinite(amount):
            raise MalformedReply(f"userFunding {t} amount is not finite")
        out.append(VenueFunding(
            symbol=str(d.get("coin")), time_ms=t, amount=amount,
            rate=_num(d["fundingRate"], "fundingRate") if d.get("fundingRate") is not None else None,
            size=_num(d["szi"], "szi") if d.get("szi") is not None else None,
        ))  # fmt: skip
    return out


def candle(c: dict[str, Any], symbol: str, timeframe: str, closed: bool) -> Candle:
    """One candle, checked whole: an integer open time, finite positive prices with
    ``low <= open, close <= high`` and a finite volume >= 0 — anything else is
    :class:`MalformedReply` (a garbled candle is skipped, never traded on)."""
    c = _dict(c, "candle")
    t = c.get("t")
    if isinstance(t, bool) or not isinstance(t, int | str) or not str(t).isdigit():
        raise MalformedReply(f"candle open time is not an integer: {t!r}")
    o, h, lo, cl, v = (_num(c.get(k), k) for k in ("o", "h", "l", "c", "v"))
    if not all(math.isfinite(x) for x in (o, h, lo, cl, v)):
        raise MalformedReply(f"candle {t} has a non-finite value")
    if not (0 < lo <= min(o, cl) and max(o, cl) <= h) or v < 0:
        raise MalformedReply(f"candle {t} is inconsistent: o={o} h={h} l={lo} c={cl} v={v}")
    return Candle(
        symbol=symbol, timeframe=timeframe, time_ms=int(t), open=o, high=h, low=lo, close=cl,
        volume=v, closed=closed,
    )  # fmt: skip


def mids(reply: Any) -> dict[str, float]:
    return {str(k): _num(v, "mid") for k, v in _dict(reply, "allMids").items()}


def meta_table(reply: Any) -> dict[str, tuple[int, int, int]]:
    """``{coin: (asset id, szDecimals, maxLeverage)}`` from ``meta`` (delisted coins dropped)."""
    body = _dict(reply, "meta")
    out = {}
    for i, u in enumerate(_list(body.get("universe"), "universe")):
        u = _dict(u, "universe entry")
        if u.get("isDelisted"):
            continue
        out[str(u["name"])] = (i, int(u["szDecimals"]), int(u.get("maxLeverage", 1)))
    return out
