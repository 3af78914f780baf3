"""Reply shapes of the `/info` queries, built from the venue state (pure functions).

Shapes follow the newest recorded replies in shared/data/hyperliquid_recorded (decimal strings
for prices/sizes/USD, numbers for ids and times; flags omitted when false).
"""

from __future__ import annotations

from typing import Any

from actors.venues.simulator import accounts as acc
from actors.venues.simulator.engine import Venue
from actors.venues.simulator.numbers import fmt
from actors.venues.simulator.orders import OPEN, WAITING_FOR_FILL, Order

MAX_FILLS = 2000


def meta(v: Venue) -> dict[str, Any]:
    universe = [
        {
            "szDecimals": v.sz_decimals[c],
            "name": c,
            "maxLeverage": v.max_lev[c],
            "marginTableId": v.max_lev[c],
        }
        for c in v.coins
    ]
    tables = sorted({v.max_lev[c] for c in v.coins})
    margin_tables = [
        [t, {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": t}]}]
        for t in tables
    ]
    return {"universe": universe, "marginTables": margin_tables}


def spot_meta() -> dict[str, Any]:
    """No spot markets are simulated; USDC is listed so the SDK's token table is sane."""
    usdc = {
        "name": "USDC",
        "szDecimals": 8,
        "weiDecimals": 8,
        "index": 0,
        "tokenId": "0x6d1e7cde53ba9467b783cb7c530ce054",
        "isCanonical": True,
        "evmContract": None,
        "fullName": None,
    }
    return {"universe": [], "tokens": [usdc]}


def all_mids(v: Venue) -> dict[str, str]:
    out = {}
    for c in v.coins:
        mid = v.books[c].mid() if v.books[c].scripted else v.marks.get(c)
        if mid is not None:
            out[c] = fmt(mid)
    return out


def asset_ctxs(v: Venue) -> list[Any]:
    ctxs = []
    for c in v.coins:
        mark = v.marks.get(c, 0.0)
        oi = sum(abs(a.szi(c)) for a in v.accounts.values()) / 2
        rate = (
            v.market.funding_rate(c, (v.now // 3_600_000) * 3_600_000)
            if v.market and c in v.market.coins
            else 0.0
        )
        ctxs.append(
            {
                "funding": fmt(rate, 10),
                "openInterest": fmt(oi),
                "prevDayPx": fmt(mark),
                "dayNtlVlm": "0.0",
                "premium": "0.0",
                "oraclePx": fmt(mark),
                "markPx": fmt(mark),
                "midPx": fmt(mark),
                "impactPxs": None,
                "dayBaseVlm": "0.0",
            }
        )
    return [meta(v), ctxs]


def l2_book(v: Venue, coin: str) -> dict[str, Any]:
    bids, asks = v.l2_levels(coin)

    def side(levels: list[dict]) -> list[dict]:
        return [{"px": fmt(lv["px"]), "sz": fmt(lv["sz"]), "n": lv["n"]} for lv in levels]

    return {"coin": coin, "time": v.now, "levels": [side(bids), side(asks)]}


def _summary(a: acc.Account, v: Venue, coins: list[str], value: float) -> dict[str, str]:
    marks = v.marks
    return {
        "accountValue": fmt(value, 6),
        "totalNtlPos": fmt(sum(abs(a.positions[c].szi) * marks[c] for c in coins), 6),
        "totalRawUsd": fmt(value - sum(a.positions[c].szi * marks[c] for c in coins), 6),
        "totalMarginUsed": fmt(sum(acc.position_margin(a, c, marks, v.max_lev) for c in coins), 6),
    }


def clearinghouse_state(v: Venue, user: str) -> dict[str, Any]:
    a = v.accounts.get(user) or acc.Account(user, 0.0)
    marks = v.marks
    cross_coins = [c for c in a.positions if not a.isolated(c)]
    positions = []
    for coin, p in a.positions.items():
        mark = marks[coin]
        lev_type, lev = a.lev(coin, v.max_lev[coin])
        leverage: dict[str, Any] = {"type": lev_type, "value": lev}
        if lev_type == "isolated":
            leverage["rawUsd"] = fmt(p.iso_margin - p.szi * p.entry_px, 6)
        upnl = acc.unrealized(p, mark)
        liq = acc.liquidation_px(a, coin, marks, v.max_lev)
        positions.append(
            {
                "type": "oneWay",
                "position": {
                    "coin": coin,
                    "szi": fmt(p.szi),
                    "leverage": leverage,
                    "entryPx": fmt(p.entry_px),
                    "positionValue": fmt(abs(p.szi) * mark, 6),
                    "unrealizedPnl": fmt(upnl, 6),
                    "returnOnEquity": fmt(upnl / (abs(p.szi) * p.entry_px / lev), 8),
                    "liquidationPx": None if liq is None else fmt(liq, 8),
                    "marginUsed": fmt(acc.position_margin(a, coin, marks, v.max_lev), 6),
                    "maxLeverage": v.max_lev[coin],
                    "cumFunding": {
                        "allTime": fmt(p.cum_all, 6),
                        "sinceOpen": fmt(p.cum_open, 6),
                        "sinceChange": fmt(p.cum_change, 6),
                    },
                },
            }
        )
    cross_av = acc.cross_value(a, marks)
    cross_used = acc.margin_used(a, marks, v.max_lev, cross_only=True)
    orders = v.open_order_margin(user) if user in v.accounts else 0.0
    return {
        "marginSummary": _summary(a, v, list(a.positions), acc.account_value(a, marks)),
        "crossMarginSummary": _summary(a, v, cross_coins, cross_av),
        "crossMaintenanceMarginUsed": fmt(acc.maintenance_margin(a, marks, v.max_lev), 6),
        "withdrawable": fmt(max(0.0, cross_av - cross_used - orders), 6),
        "assetPositions": positions,
        "time": v.now,
    }


def _children(v: Venue, o: Order) -> list[Order]:
    return [v.orders[c] for c in o.children if v.orders[c].status == WAITING_FOR_FILL]


def open_orders(v: Venue, user: str) -> list[dict[str, Any]]:
    orders = sorted(v.open_orders_of(user), key=lambda o: -o.oid)
    return [o.basic_wire() for o in orders]


def frontend_open_orders(v: Venue, user: str) -> list[dict[str, Any]]:
    orders = sorted(v.open_orders_of(user), key=lambda o: -o.oid)
    return [o.frontend_wire(_children(v, o)) for o in orders]


def order_status(v: Venue, user: str, oid: Any) -> dict[str, Any]:
    if isinstance(oid, str):
        key = v.cloids.get((user, oid.lower()))
        o = v.orders.get(key) if key is not None else None
    elif isinstance(oid, int):
        o = v.orders.get(oid)
    else:
        raise ValueError("orderStatus needs oid as an integer or a cloid string")
    if o is None or o.user != user:
        return {"status": "unknownOid"}
    status = o.status_wire(_children(v, o))
    if o.status == WAITING_FOR_FILL:
        status["status"] = OPEN
    return {"status": "order", "order": status}


def historical_orders(v: Venue, user: str) -> list[dict[str, Any]]:
    orders = sorted((o for o in v.orders.values() if o.user == user), key=lambda o: -o.oid)
    return [o.status_wire() for o in orders[:MAX_FILLS]]


def user_fills(v: Venue, user: str) -> list[dict[str, Any]]:
    return list(reversed(v.fills.get(user, [])))[:MAX_FILLS]


def user_fills_by_time(v: Venue, user: str, start: int, end: int | None) -> list[dict[str, Any]]:
    stop = end if end is not None else 2**62
    rows = [f for f in v.fills.get(user, []) if start <= f["time"] <= stop]
    return list(reversed(rows))[:MAX_FILLS]


def user_funding(v: Venue, user: str, start: int, end: int | None) -> list[dict[str, Any]]:
    stop = end if end is not None else 2**62
    return [f for f in v.fundings.get(user, []) if start <= f["time"] <= stop][:500]


def funding_history(v: Venue, coin: str, start: int, end: int | None) -> list[dict[str, Any]]:
    if v.market is None or coin not in v.market.coins:
        return []
    rows = v.market.funding_history(coin, start, end, v.now)
    return [{"coin": coin, "fundingRate": fmt(r, 10), "premium": "0.0", "time": t} for t, r in rows]


def candles(v: Venue, coin: str, interval: str, start: int, end: int) -> list[dict[str, Any]]:
    if v.market is None or coin not in v.market.coins:
        return []
    out = []
    for c in v.market.candles(coin, interval, start, end, v.now):
        out.append(
            {
                **c,
                "o": fmt(c["o"]),
                "c": fmt(c["c"]),
                "h": fmt(c["h"]),
                "l": fmt(c["l"]),
                "v": fmt(c["v"]),
            }
        )
    return out


def user_fees() -> dict[str, Any]:
    return {
        "dailyUserVlm": [],
        "feeSchedule": {"cross": fmt(acc.TAKER_FEE), "add": fmt(acc.MAKER_FEE)},
        "userCrossRate": fmt(acc.TAKER_FEE),
        "userAddRate": fmt(acc.MAKER_FEE),
        "activeReferralDiscount": "0.0",
    }


def extra_agents(v: Venue, user: str) -> list[dict[str, Any]]:
    return [
        {"name": a["name"], "address": addr, "validUntil": a["validUntil"]}
        for addr, a in v.agents.items()
        if a["master"] == user
    ]
