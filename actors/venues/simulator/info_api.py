"""`POST /info`: query type -> reply, plus each type's IP weight for rate limiting."""

from __future__ import annotations

from typing import Any

from actors.venues.simulator import views
from actors.venues.simulator.engine import Venue
from actors.venues.simulator.exchange_api import BadRequest

WEIGHT = {
    "l2Book": 2,
    "allMids": 2,
    "clearinghouseState": 2,
    "orderStatus": 2,
    "spotClearinghouseState": 2,
    "exchangeStatus": 2,
}
DEFAULT_WEIGHT = 20


def info_weight(body: Any, reply: Any) -> int:
    """IP weight: 2 or 20 by type, plus 1 per 60 candles / 20 fills returned."""
    kind = body.get("type") if isinstance(body, dict) else None
    w = WEIGHT.get(str(kind), DEFAULT_WEIGHT)
    if kind == "candleSnapshot" and isinstance(reply, list):
        w += len(reply) // 60
    if kind in ("userFills", "userFillsByTime", "historicalOrders") and isinstance(reply, list):
        w += len(reply) // 20
    return w


def _user(body: dict[str, Any]) -> str:
    user = body["user"]
    if not isinstance(user, str):
        raise ValueError("user must be an address string")
    return user.lower()


def _coin(v: Venue, coin: Any) -> str:
    if coin not in v.asset_of:
        raise ValueError(f"unknown coin {coin!r}")
    return str(coin)


def handle_info(v: Venue, body: Any) -> Any:
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise BadRequest("Failed to deserialize the JSON body into the target type")
    try:
        return _dispatch(v, body)
    except (KeyError, TypeError, ValueError):
        raise BadRequest("Failed to deserialize the JSON body into the target type") from None


def _dispatch(v: Venue, b: dict[str, Any]) -> Any:
    kind = b["type"]
    if kind == "meta":
        return views.meta(v)
    if kind == "spotMeta":
        return views.spot_meta()
    if kind == "metaAndAssetCtxs":
        return views.asset_ctxs(v)
    if kind == "perpDexs":
        return [None]
    if kind == "allMids":
        return views.all_mids(v)
    if kind == "l2Book":
        return views.l2_book(v, _coin(v, b["coin"]))
    if kind == "clearinghouseState":
        return views.clearinghouse_state(v, _user(b))
    if kind == "spotClearinghouseState":
        return {"balances": []}
    if kind == "openOrders":
        return views.open_orders(v, _user(b))
    if kind == "frontendOpenOrders":
        return views.frontend_open_orders(v, _user(b))
    if kind == "orderStatus":
        return views.order_status(v, _user(b), b["oid"])
    if kind == "historicalOrders":
        return views.historical_orders(v, _user(b))
    if kind == "userFills":
        return views.user_fills(v, _user(b))
    if kind == "userFillsByTime":
        return views.user_fills_by_time(v, _user(b), int(b["startTime"]), b.get("endTime"))
    if kind == "userFunding":
        return views.user_funding(v, _user(b), int(b["startTime"]), b.get("endTime"))
    if kind == "candleSnapshot":
        req = b["req"]
        return views.candles(
            v, _coin(v, req["coin"]), req["interval"], int(req["startTime"]), int(req["endTime"])
        )
    if kind == "fundingHistory":
        return views.funding_history(v, _coin(v, b["coin"]), int(b["startTime"]), b.get("endTime"))
    if kind == "userFees":
        return views.user_fees()
    if kind == "extraAgents":
        return views.extra_agents(v, _user(b))
    if kind == "userRateLimit":
        return {"cumVlm": "0.0", "nRequestsUsed": 0, "nRequestsCap": 10000}
    raise ValueError(f"unsupported info type {kind!r}")
