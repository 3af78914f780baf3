"""OKX v5 reply shapes for the loopback: instruments, orders, algo orders, fills, positions.

Why a table of our own: OKX swaps trade in contracts of ``ctVal`` base units with their own lot
(``lotSz``), minimum (``minSz``) and tick (``tickSz``); these are OKX's published values for the
USDT swaps (2025). Prices are the shipped Binance candles (the loopback tests the protocol, not
OKX's price history). Field names follow OKX's documentation and ccxt's static fixtures.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from actors.venues.loopback.engine import Engine, Fill, Order


@dataclass(frozen=True)
class Inst:
    """One OKX swap's rules (strings, as OKX publishes them)."""

    tick: str
    lot: str  # contracts
    min_sz: str  # contracts
    ct_val: str  # base units per contract
    lever: int


INSTRUMENTS: dict[str, Inst] = {  # OKX /public/instruments?instType=SWAP, 2025
    "BTC": Inst("0.1", "0.01", "0.01", "0.01", 100),
    "ETH": Inst("0.01", "0.01", "0.01", "0.1", 100),
    "BNB": Inst("0.01", "0.01", "0.01", "0.01", 50),
    "SOL": Inst("0.01", "0.01", "0.01", "1", 50),
    "XRP": Inst("0.0001", "0.01", "0.01", "100", 75),
}
ORDER_STATE = {"new": "live", "partially_filled": "partially_filled", "filled": "filled",
               "canceled": "canceled", "expired": "canceled", "rejected": "canceled",
               "triggered": "filled"}  # fmt: skip
ALGO_STATE = {"new": "live", "partially_filled": "live", "triggered": "effective",
              "canceled": "canceled", "expired": "order_failed", "rejected": "order_failed",
              "filled": "effective"}  # fmt: skip


def okx_rules(engine: Engine) -> None:
    """The engine's markets on OKX's rules: lot and minimum in base units (contracts x ctVal),
    OKX's tick, and no notional floor (OKX has none; ``minSz`` is the floor)."""
    for s, m in engine.markets.items():
        i = INSTRUMENTS[s]
        ct = Decimal(i.ct_val)
        m.rules = replace(m.rules, tick=i.tick, step=str(Decimal(i.lot) * ct),
                          min_qty=str(Decimal(i.min_sz) * ct), max_leverage=i.lever)  # fmt: skip
        m.min_notional = Decimal(0)


def inst_id(symbol: str) -> str:
    return f"{symbol}-USDT-SWAP"


def dec(x: float | None) -> str:
    """A float as OKX prints it: plain decimal, no exponent, no trailing zeros."""
    if x is None:
        return ""
    if x == 0:
        return "0"
    d = Decimal(repr(float(x))).normalize()
    return format(d, "f")


def contracts(engine: Engine, symbol: str, qty: float) -> str:
    """Base units as contracts (exact on the lot grid)."""
    ct = Decimal(INSTRUMENTS[symbol].ct_val)
    return format((Decimal(repr(float(qty))) / ct).normalize(), "f")


def px(engine: Engine, symbol: str, price: float | None) -> str:
    if not price:
        return ""
    tick = engine.markets[symbol].tick
    return format(((Decimal(repr(price)) / tick).to_integral_value() * tick).normalize(), "f")


def instrument(engine: Engine, symbol: str) -> dict[str, Any]:
    i = INSTRUMENTS[symbol]
    return {
        "alias": "", "baseCcy": "", "category": "1", "ctMult": "1", "ctType": "linear",
        "ctVal": i.ct_val, "ctValCcy": symbol, "expTime": "", "instFamily": f"{symbol}-USDT",
        "instId": inst_id(symbol), "instType": "SWAP", "lever": str(i.lever),
        "listTime": "1611916828000", "lotSz": i.lot, "maxIcebergSz": "100000000",
        "maxLmtAmt": "20000000", "maxLmtSz": "100000000", "maxMktAmt": "", "maxMktSz": "12000",
        "maxStopSz": "12000", "maxTriggerSz": "100000000", "maxTwapSz": "100000000",
        "minSz": i.min_sz, "optType": "", "quoteCcy": "", "ruleType": "normal",
        "settleCcy": "USDT", "state": "live", "stk": "", "tickSz": i.tick, "uly": f"{symbol}-USDT",
    }  # fmt: skip


def _child_of(engine: Engine, o: Order) -> Order | None:
    """The algo order ``o`` was fired from (its market order shares the client id)."""
    parent = engine.orders.get(engine.by_client.get(o.client_id, -1))
    return parent if parent is not None and parent.oid != o.oid else None


def order(engine: Engine, o: Order) -> dict[str, Any]:
    """``/trade/order`` (and pending/history) for a regular order or a fired stop's market
    order (whose ``clOrdId`` is empty; ``algoId``/``algoClOrdId`` name the stop)."""
    s = o.symbol
    parent = _child_of(engine, o)
    typ = "post_only" if o.post_only else o.kind
    return {
        "accFillSz": contracts(engine, s, o.filled), "algoClOrdId": parent.client_id if parent else "",
        "algoId": str(parent.oid) if parent else "", "attachAlgoClOrdId": "", "attachAlgoOrds": [],
        "avgPx": dec(o.avg_price) if o.filled else "", "cTime": str(o.time_ms), "cancelSource": "",
        "category": "normal", "ccy": "", "clOrdId": "" if parent else o.client_id,
        "fee": dec(-sum(f.fee for f in engine.fills if f.oid == o.oid)), "feeCcy": "USDT",
        "fillPx": "", "fillSz": "0", "fillTime": "", "instId": inst_id(s), "instType": "SWAP",
        "isTpLimit": "false", "lever": str(engine.leverage(s)), "ordId": str(o.oid),
        "ordType": typ, "pnl": "0", "posSide": "net", "px": px(engine, s, o.price),
        "pxType": "", "pxUsd": "", "pxVol": "", "quickMgnType": "", "rebate": "0",
        "rebateCcy": "USDT", "reduceOnly": "true" if o.reduce_only else "false",
        "side": o.side, "slOrdPx": "", "slTriggerPx": "", "slTriggerPxType": "", "source": "",
        "state": ORDER_STATE[o.status], "stpId": "", "stpMode": "cancel_maker",
        "sz": contracts(engine, s, o.qty), "tag": "", "tdMode": "cross", "tgtCcy": "",
        "tpOrdPx": "", "tpTriggerPx": "", "tpTriggerPxType": "", "tradeId": "",
        "uTime": str(o.update_ms),
    }  # fmt: skip


def algo(engine: Engine, o: Order) -> dict[str, Any]:
    """``/trade/order-algo`` (and pending/history) for a conditional (stop/target) order."""
    s = o.symbol
    trig = px(engine, s, o.trigger)
    stop = o.kind == "stop"
    return {
        "activePx": "", "actualPx": "", "actualSide": ("sl" if stop else "tp") if o.child_oid else "",
        "actualSz": "", "algoClOrdId": o.client_id, "algoId": str(o.oid), "amendPxOnTriggerType": "0",
        "attachAlgoOrds": [], "cTime": str(o.time_ms), "callbackRatio": "", "callbackSpread": "",
        "ccy": "", "clOrdId": "", "closeFraction": "", "failCode": "", "instId": inst_id(s),
        "instType": "SWAP", "last": "", "lever": str(engine.leverage(s)), "moveTriggerPx": "",
        "ordId": str(o.child_oid) if o.child_oid else "",
        "ordIdList": [str(o.child_oid)] if o.child_oid else [], "ordPx": "",
        "ordType": "conditional", "posSide": "net", "pxLimit": "", "pxSpread": "", "pxVar": "",
        "quickMgnType": "", "reduceOnly": "true" if o.reduce_only else "false",
        "side": o.side, "slOrdPx": "-1" if stop else "", "slTriggerPx": trig if stop else "",
        "slTriggerPxType": "last" if stop else "", "state": ALGO_STATE[o.status],
        "sz": contracts(engine, s, o.qty), "szLimit": "", "tag": "", "tdMode": "cross",
        "tgtCcy": "", "timeInterval": "", "tpOrdPx": "" if stop else "-1",
        "tpTriggerPx": "" if stop else trig, "tpTriggerPxType": "" if stop else "last",
        "triggerPx": "", "triggerPxType": "", "triggerTime": str(o.update_ms) if o.child_oid else "",
        "uTime": str(o.update_ms),
    }  # fmt: skip


def fill(engine: Engine, f: Fill) -> dict[str, Any]:
    parent = _child_of(engine, engine.orders[f.oid])
    return {
        "billId": str(f.tid), "clOrdId": "" if parent else f.client_id, "execType": "M" if f.maker else "T",
        "fee": dec(-f.fee), "feeCcy": "USDT", "fillIdxPx": "", "fillMarkPx": "",
        "fillPnl": dec(f.realized), "fillPx": dec(f.price), "fillSz": contracts(engine, f.symbol, f.qty),
        "fillTime": str(f.time_ms), "instId": inst_id(f.symbol), "instType": "SWAP",
        "ordId": str(f.oid), "posSide": "net", "side": f.side, "subType": "1", "tag": "",
        "tradeId": str(f.tid), "ts": str(f.time_ms),
    }  # fmt: skip


def position(engine: Engine, symbol: str) -> dict[str, Any]:
    p = engine.account.positions[symbol]
    mark = engine.mark(symbol)
    lev = engine.leverage(symbol)
    notional = abs(p.qty) * mark
    return {
        "adl": "1", "availPos": "", "avgPx": dec(p.entry), "cTime": str(engine.now()),
        "ccy": "USDT", "deltaBS": "", "deltaPA": "", "fee": "", "fundingFee": "", "gammaBS": "",
        "gammaPA": "", "imr": dec(notional / lev), "instId": inst_id(symbol), "instType": "SWAP",
        "interest": "", "last": dec(mark), "lever": str(lev), "liab": "", "liabCcy": "",
        "liqPenalty": "0", "liqPx": "", "margin": "", "markPx": dec(mark), "mgnMode": "cross",
        "mgnRatio": "", "mmr": dec(notional * 0.004), "notionalUsd": dec(notional),
        "optVal": "", "pendingCloseOrdLiabVal": "", "pnl": "0", "pos": contracts(engine, symbol, p.qty),
        "posCcy": "", "posId": str(abs(hash(symbol)) % 10**12), "posSide": "net",
        "realizedPnl": "0", "thetaBS": "", "thetaPA": "", "tradeId": "", "uTime": str(engine.now()),
        "upl": dec(engine.upnl(symbol)), "uplRatio": "0", "usdPx": "", "vegaBS": "", "vegaPA": "",
    }  # fmt: skip


def balance(engine: Engine) -> dict[str, Any]:
    e = engine
    upl = sum(e.upnl(s) for s in e.account.positions)
    eq = e.account.wallet + upl
    imr = sum(abs(p.qty) * e.mark(s) / e.leverage(s) for s, p in e.account.positions.items())
    now = str(e.now())
    return {
        "adjEq": dec(eq), "borrowFroz": "", "details": [{
            "availBal": dec(eq - imr), "availEq": dec(eq - imr), "borrowFroz": "",
            "cashBal": dec(e.account.wallet), "ccy": "USDT", "crossLiab": "", "disEq": dec(eq),
            "eq": dec(eq), "eqUsd": dec(eq), "fixedBal": "0", "frozenBal": dec(imr),
            "imr": dec(imr), "interest": "", "isoEq": "0", "isoLiab": "", "isoUpl": "0",
            "liab": "", "maxLoan": "", "mgnRatio": "", "mmr": "", "notionalLever": "",
            "ordFrozen": "0", "stgyEq": "0", "twap": "0", "uTime": now, "upl": dec(upl),
            "uplLiab": "",
        }],
        "imr": dec(imr), "isoEq": "0", "mgnRatio": "", "mmr": "", "notionalUsd": "",
        "ordFroz": "0", "totalEq": dec(eq), "uTime": now, "upl": dec(upl),
    }  # fmt: skip
