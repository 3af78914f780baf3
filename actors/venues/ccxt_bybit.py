"""Bybit v5 linear USDT perpetuals (unified trading account) through ccxt's ``bybit``.

What differs from Binance, as ccxt's ``bybit.py`` sends and parses it:
* ``/v5/order/create`` answers with ``{orderId, orderLinkId}`` only, so the placed order is read
  back by its client id (``orderLinkId``: at most 36 of ``[A-Za-z0-9_-]``; ours are 32 hex).
* Stops and targets are conditional orders on the same order API: ``stopLossPrice`` /
  ``takeProfitPrice`` become ``orderType=Market`` + ``triggerPrice`` + ``triggerDirection`` +
  ``reduceOnly``; they keep their order id and client id when they fire and end ``Filled``.
* ``/v5/order/realtime`` lists open orders of every kind (paged by cursor, at most 50) and, asked
  by ``orderLinkId``, answers for recent orders of any status; older ones are in
  ``/v5/order/history``.
* ``/v5/execution/list`` is newest first, at most 100 a page by cursor, 7-day windows, and
  names ``orderLinkId`` and the realised PnL (``execPnl``) on every fill.
* Equity is ``totalEquity`` of the UNIFIED wallet; classic (non-UTA) accounts are refused.
* "Not modified" answers at start are success: 110025 (position mode) and 110043 (leverage).
"""

from __future__ import annotations

import re
from typing import Any

import ccxt

NOT_MODIFIED_MODE = "110025"  # Position mode is not modified
NOT_MODIFIED_LEVERAGE = "110043"  # Set leverage not modified
DUPLICATE_LINK_ID = "110072"  # OrderLinkedID is duplicate
LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")  # Bybit's orderLinkId rule
MAX_PAGES = 1000  # a cursor that never ends is a venue fault, not an endless loop


def _cursor(page: list[dict[str, Any]]) -> str | None:
    """ccxt attaches the reply's ``nextPageCursor`` to the raw first row, which may sit anywhere
    once ccxt has sorted the parsed rows."""
    for row in page:
        cursor = (row.get("info") or {}).get("nextPageCursor")
        if cursor:
            return str(cursor)
    return None


class BybitDialect:
    name = "bybit"
    options: dict[str, Any] = {
        "defaultType": "swap",
        "defaultSubType": "linear",
        "defaultSettle": "USDT",
        "fetchMarkets": {"types": ["linear"]},  # spot/inverse/option markets are not traded
    }
    ohlcv_page = 1000  # /v5/market/kline: limit [1, 1000]
    fills_page = 100  # /v5/execution/list: limit [1, 100]
    fills_history_ms = 180 * 86_400_000  # read at most 6 months back (as for Binance)
    orders_page = 50  # /v5/order/realtime and /history: limit [1, 50]

    def order_params(self, kind: str, trigger: float | None, post_only: bool) -> dict[str, Any]:
        params: dict[str, Any] = {"positionIdx": 0}  # one-way mode
        if kind == "stop_loss":
            params |= {"stopLossPrice": trigger, "reduceOnly": True}
        elif kind == "take_profit":
            params |= {"takeProfitPrice": trigger, "reduceOnly": True}
        elif post_only:
            params["postOnly"] = True  # ccxt sends timeInForce PostOnly
        return params

    def create(self, ex: Any, symbol: str, wire_type: str, side: str, amount: float,
               price: float | None, params: dict[str, Any]) -> Any:  # fmt: skip
        """Send, then read the order back by its client id (the reply carries ids only)."""
        client = str(params["clientOrderId"])
        if not LINK_ID.fullmatch(client):  # refused before anything is sent
            raise ccxt.InvalidOrder(f"client id {client!r} is not a Bybit orderLinkId "
                                    "(at most 36 of A-Z a-z 0-9 - _)")  # fmt: skip
        try:
            ack = ex.create_order(symbol, wire_type, side, amount, price, params)
        except ccxt.InvalidOrder as exc:
            if DUPLICATE_LINK_ID in str(exc):  # it exists: the caller must look it up
                raise ccxt.DuplicateOrderId(str(exc)) from None
            raise
        if not isinstance(ack, dict) or ack.get("clientOrderId") != client or not ack.get("id"):
            raise ccxt.BadResponse(f"create_order acknowledged {ack!r:.120}")
        found = self.find(ex, symbol, client)
        if found is None:
            raise ccxt.BadResponse(f"order {client} acknowledged but not found by its client id")
        return found

    def _one(self, rows: Any, client: str) -> dict[str, Any] | None:
        if not isinstance(rows, list):
            raise ccxt.BadResponse("order list is not a list")
        hits = [o for o in rows if isinstance(o, dict) and o.get("clientOrderId") == client]
        return hits[0] if hits else None

    def find(self, ex: Any, symbol: str, client: str) -> dict[str, Any] | None:
        """The order with this client id, open or conditional (realtime), else closed (history)."""
        link = {"orderLinkId": client}
        got = self._one(ex.fetch_open_orders(symbol, None, None, link), client)
        if got is None:
            got = self._one(ex.fetch_canceled_and_closed_orders(symbol, None, None, link), client)
        return got

    def open_orders(self, ex: Any) -> list[dict[str, Any]]:
        """Every open order (limits and untriggered conditionals) of the USDT-settled account."""
        out: list[dict[str, Any]] = []
        params: dict[str, Any] = {"settleCoin": "USDT"}
        for _ in range(MAX_PAGES):
            page = ex.fetch_open_orders(None, None, self.orders_page, params)
            if not isinstance(page, list):
                raise ccxt.BadResponse("open orders are not a list")
            out.extend(page)
            cursor = _cursor(page)
            if cursor is None or len(page) < self.orders_page:
                return out
            params = {"settleCoin": "USDT", "cursor": cursor}
        raise ccxt.BadResponse(f"open orders: more than {MAX_PAGES} pages")

    def cancel(self, ex: Any, symbol: str, client: str, trigger: bool) -> None:
        ex.cancel_order(None, symbol, {"orderLinkId": client})  # conditional or not: one API

    def equity(self, balance: dict[str, Any]) -> float:
        rows = ((balance.get("info") or {}).get("result") or {}).get("list") or []
        for row in rows:
            if isinstance(row, dict) and row.get("accountType") == "UNIFIED":
                return float(row["totalEquity"])
        raise ValueError("no UNIFIED wallet in the reply: the Bybit account must be a unified "
                         "trading account (UTA)")  # fmt: skip

    def set_one_way(self, ex: Any) -> None:
        """One-way mode for USDT perps; first refuse a classic (non-UTA) account clearly."""
        _, uta = ex.is_unified_enabled()
        if not uta:
            raise ccxt.BadRequest("the Bybit account is not a unified trading account (UTA); "
                                  "upgrade it on bybit.com, classic accounts are not supported")  # fmt: skip
        try:
            ex.set_position_mode(False)
        except ccxt.ExchangeError as exc:
            if NOT_MODIFIED_MODE not in str(exc):
                raise

    def set_leverage(self, ex: Any, leverage: int, symbol: str) -> None:
        try:
            ex.set_leverage(leverage, symbol)
        except ccxt.ExchangeError as exc:
            if NOT_MODIFIED_LEVERAGE not in str(exc):
                raise

    def trades(self, ex: Any, symbol: str, since: int, until: int) -> list[dict[str, Any]]:
        """Every fill in [since, until] (one window of at most 7 days), paged by cursor; each
        fill's realised PnL is put where the venue reads it (``info.closedPnl``)."""
        out: list[dict[str, Any]] = []
        params: dict[str, Any] = {"until": until}
        for _ in range(MAX_PAGES):
            page = ex.fetch_my_trades(symbol, since, self.fills_page, params)
            if not isinstance(page, list):
                raise ccxt.BadResponse(f"fetch_my_trades {symbol}: not a list")
            for t in page:
                info = t.get("info") if isinstance(t, dict) else None
                if isinstance(info, dict) and "execPnl" in info:
                    info["closedPnl"] = info["execPnl"]
            out.extend(page)
            cursor = _cursor(page)
            if cursor is None or len(page) < self.fills_page:
                return out
            params = {"until": until, "cursor": cursor}
        raise ccxt.BadResponse(f"fetch_my_trades {symbol}: more than {MAX_PAGES} pages")

    def trade_client_id(self, trade: dict[str, Any]) -> str | None:
        """Bybit names the order's client id on each fill ("" for an order without one)."""
        link = (trade.get("info") or {}).get("orderLinkId")
        return str(link) if link is not None else None
