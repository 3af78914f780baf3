"""Bybit v5 reply rows (instrument, kline, order, execution, position, wallet) from the loopback
core's records, in the field names and string formats of Bybit's documented replies (the ones
ccxt's ``bybit.py`` parses and its static fixtures record).

Why separate from the routes: these are pure functions of engine state, one per reply shape.
Ids: Bybit's order and execution ids are UUID strings; the core's integer ids are rendered as
UUIDs (``uid``) and read back (``oid_of``), so the adapter never sees a numeric id.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from actors.venues.loopback.engine import Engine, Fill, Order
from actors.venues.loopback.markets import Market

FUNDING_INTERVAL_MIN = 480  # every shipped funding file is 8-hourly


def uid(n: int) -> str:
    return str(uuid.UUID(int=n))


def oid_of(text: str) -> int | None:
    try:
        return uuid.UUID(text).int
    except ValueError:
        return None


def num(x: float | None, tick: Decimal | None = None) -> str:
    if x is None:
        return ""
    if tick is not None:
        return str((Decimal(repr(x)) / tick).to_integral_value() * tick)
    return format(x, "f")


def instrument(m: Market) -> dict[str, Any]:
    r = m.rules
    scale = max(0, -m.tick.normalize().as_tuple().exponent)  # type: ignore[operator]
    return {
        "symbol": f"{m.symbol}USDT", "contractType": "LinearPerpetual", "status": "Trading",
        "baseCoin": m.symbol, "quoteCoin": "USDT", "launchTime": "1585526400000",
        "deliveryTime": "0", "deliveryFeeRate": "", "priceScale": str(scale),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": f"{r.max_leverage}.00",
                           "leverageStep": "0.01"},
        "priceFilter": {"minPrice": r.tick, "maxPrice": "1999999.80", "tickSize": r.tick},
        "lotSizeFilter": {"maxOrderQty": "1190.000", "minOrderQty": r.min_qty, "qtyStep": r.step,
                          "postOnlyMaxOrderQty": "1190.000", "maxMktOrderQty": "500.000",
                          "minNotionalValue": str(m.min_notional)},
        "unifiedMarginTrade": True, "fundingInterval": FUNDING_INTERVAL_MIN,
        "settleCoin": "USDT", "copyTrading": "both", "upperFundingRate": "0.005",
        "lowerFundingRate": "-0.005", "isPreListing": False, "preListingInfo": None,
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.1"},
        "displayName": "",
    }  # fmt: skip


def _status(e: Engine, o: Order) -> tuple[str, Order]:
    """Bybit's ``orderStatus`` and the order whose fills count (a fired conditional keeps its
    ids and reports the market order it became)."""
    conditional = o.trigger is not None
    if o.status == "triggered" and o.child_oid is not None:
        child = e.orders[o.child_oid]
        st = {"filled": "Filled", "partially_filled": "PartiallyFilled"}.get(child.status)
        if st is None:
            st = "Triggered" if child.status == "new" else "Cancelled"
        return st, child
    st = {"new": "Untriggered" if conditional else "New", "partially_filled": "PartiallyFilled",
          "filled": "Filled", "canceled": "Deactivated" if conditional else "Cancelled",
          "expired": "Cancelled", "rejected": "Rejected", "triggered": "Triggered"}[o.status]  # fmt: skip
    return st, o


def trigger_direction(o: Order) -> int:
    """1 = fires when the price rises to the trigger, 2 = when it falls to it."""
    falls = (o.kind == "stop") == (o.side == "sell")
    return 2 if falls else 1


def order(e: Engine, o: Order) -> dict[str, Any]:
    tick = e.markets[o.symbol].tick
    status, done = _status(e, o)
    conditional = o.trigger is not None
    filled = done.filled if done is not o or not conditional else 0.0
    qty = done.qty if conditional and done is not o else o.qty
    if o.post_only and o.status == "expired":
        reason = "EC_PostOnlyWillTakeLiquidity"
    elif o.reduce_only and o.status == "expired":
        reason = "EC_ReduceOnlySetButNoEnoughQty"
    else:
        reason = "EC_NoError"
    fee = sum(f.fee for f in e.fills if f.oid == done.oid) if filled else 0.0
    return {
        "symbol": f"{o.symbol}USDT", "orderType": "Limit" if o.kind == "limit" else "Market",
        "orderLinkId": o.client_id, "slLimitPrice": "0", "orderId": uid(o.oid),
        "cancelType": "CancelByUser" if status in ("Cancelled", "Deactivated") else "UNKNOWN",
        "avgPrice": num(done.avg_price) if filled else "", "blockTradeId": "",
        "stopOrderType": ("TakeProfit" if o.kind == "take_profit" else "StopLoss")
        if conditional else "",
        "lastPriceOnCreated": "", "orderStatus": status, "createType": "CreateByUser",
        "takeProfit": "", "cumExecValue": num(filled * done.avg_price), "tpslMode": "",
        "smpType": "None", "triggerDirection": trigger_direction(o) if conditional else 0,
        "cumFeeDetail": {"USDT": num(fee)} if filled else {}, "rejectReason": reason,
        "isLeverage": "", "price": num(o.price, tick) if o.price else "0", "orderIv": "",
        "createdTime": str(o.time_ms), "tpTriggerBy": "", "positionIdx": 0,
        "timeInForce": "PostOnly" if o.post_only else ("GTC" if o.kind == "limit" else "IOC"),
        "leavesValue": num((qty - filled) * (o.price or 0.0)) if status in ("New", "PartiallyFilled") else "0",
        "updatedTime": str(max(o.update_ms, done.update_ms)), "side": o.side.capitalize(),
        "smpGroup": 0, "triggerPrice": num(o.trigger, tick) if conditional else "",
        "tpLimitPrice": "0", "cumExecFee": num(fee), "slTriggerBy": "",
        "leavesQty": num(qty - filled) if status in ("New", "PartiallyFilled", "Untriggered") else "0",
        "closeOnTrigger": False, "placeType": "", "cumExecQty": num(filled),
        "reduceOnly": o.reduce_only, "qty": num(qty), "stopLoss": "", "smpOrderId": "",
        "triggerBy": "LastPrice" if conditional else "", "extraFees": "",
    }  # fmt: skip


def execution(e: Engine, f: Fill, parent: Order | None) -> dict[str, Any]:
    """One fill; a fired conditional's fill carries the conditional's order id (as Bybit)."""
    o = parent if parent is not None else e.orders[f.oid]
    tick = e.markets[f.symbol].tick
    return {
        "symbol": f"{f.symbol}USDT", "orderId": uid(o.oid), "orderLinkId": f.client_id,
        "side": f.side.capitalize(), "orderPrice": num(o.price, tick) if o.price else "0",
        "orderQty": num(o.qty), "leavesQty": "0", "createType": "CreateByUser",
        "orderType": "Limit" if o.kind == "limit" else "Market",
        "stopOrderType": "" if parent is None else
        ("TakeProfit" if parent.kind == "take_profit" else "StopLoss"),
        "execFee": num(f.fee), "execId": uid(f.tid), "execPrice": num(f.price, tick),
        "execQty": num(f.qty), "execType": "Trade", "execValue": num(f.qty * f.price),
        "execTime": str(f.time_ms), "feeCurrency": "USDT", "isMaker": f.maker,
        "feeRate": "0.0002" if f.maker else "0.0005", "tradeIv": "", "markIv": "",
        "markPrice": num(f.price, tick), "indexPrice": "", "underlyingPrice": "",
        "blockTradeId": "", "closedSize": num(f.qty) if f.realized else "0", "seq": f.tid,
        "execPnl": num(f.realized), "extraFees": "", "marketUnit": "", "isLeverage": "0",
        "feeCoin": "USDT",
    }  # fmt: skip


def position(e: Engine, symbol: str) -> dict[str, Any]:
    """One position row; flat positions have size 0 and an empty side (as Bybit)."""
    p = e.account.positions.get(symbol)
    qty, entry = (p.qty, p.entry) if p is not None else (0.0, 0.0)
    mark, lev, now = e.mark(symbol), e.leverage(symbol), str(e.now())
    value = abs(qty) * entry
    return {
        "positionIdx": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": f"{symbol}USDT",
        "side": "Buy" if qty > 0 else "Sell" if qty < 0 else "", "size": num(abs(qty)),
        "avgPrice": num(entry), "positionValue": num(value), "tradeMode": 0,
        "positionStatus": "Normal", "autoAddMargin": 0, "adlRankIndicator": 2 if qty else 0,
        "leverage": str(lev), "positionBalance": num(value / lev), "markPrice": num(mark),
        "liqPrice": "", "bustPrice": "", "positionMM": num(abs(qty) * mark * 0.005),
        "positionIM": num(value / lev), "tpslMode": "Full", "takeProfit": "0.00",
        "stopLoss": "0.00", "trailingStop": "0.00", "unrealisedPnl": num(e.upnl(symbol)),
        "curRealisedPnl": "0", "cumRealisedPnl": "0", "sessionAvgPrice": "", "seq": 0,
        "isReduceOnly": False, "mmrSysUpdatedTime": "", "leverageSysUpdatedTime": "",
        "createdTime": now, "updatedTime": now,
    }  # fmt: skip


def wallet(e: Engine) -> dict[str, Any]:
    """The UNIFIED account with its one USDT coin (cross margin)."""
    upnl = sum(e.upnl(s) for s in e.account.positions)
    im = sum(abs(p.qty) * p.entry / e.leverage(s) for s, p in e.account.positions.items())
    wallet_bal = e.account.wallet
    equity = wallet_bal + upnl
    return {
        "totalEquity": num(equity), "accountIMRate": num(im / equity if equity else 0.0),
        "totalMarginBalance": num(equity), "totalInitialMargin": num(im),
        "accountType": "UNIFIED", "totalAvailableBalance": num(max(equity - im, 0.0)),
        "accountMMRate": "0", "totalPerpUPL": num(upnl), "totalWalletBalance": num(wallet_bal),
        "accountLTV": "0", "totalMaintenanceMargin": "0",
        "coin": [{
            "coin": "USDT", "equity": num(equity), "usdValue": num(equity),
            "walletBalance": num(wallet_bal), "availableToWithdraw": "", "free": "",
            "locked": "0", "borrowAmount": "0", "accruedInterest": "0", "bonus": "0",
            "totalOrderIM": "0", "totalPositionIM": num(im), "totalPositionMM": "0",
            "unrealisedPnl": num(upnl), "cumRealisedPnl": "0", "availableToBorrow": "",
            "collateralSwitch": True, "marginCollateral": True,
        }],
    }  # fmt: skip
