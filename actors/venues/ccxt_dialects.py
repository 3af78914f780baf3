"""What differs between the CCXT exchanges once ccxt has unified the rest.

Binance USDⓈ-M keeps conditional orders (stops, targets) on a separate algo API with its own
client id field (``clientAlgoId``) and statuses; its ``userTrades`` carry no client id and take
at most a 7-day window. Each dialect says how to send, find, list and cancel one order kind.
Binance is here, OKX in :mod:`actors.venues.ccxt_okx`; the factory refuses the others with a
clear error.
"""

from __future__ import annotations

from typing import Any, Protocol

import ccxt

from actors.venues.ccxt_okx import OkxDialect

FILLS_WINDOW_MS = 7 * 86_400_000 - 1  # userTrades windows (Binance: at most 7 days)
FILLS_HISTORY_MS = 180 * 86_400_000  # Binance serves userTrades of the last 6 months only


class Dialect(Protocol):
    """What the venue asks of an exchange's dialect (optional: ``trades``, ``fills_history_ms``)."""

    name: str
    options: dict[str, Any]
    ohlcv_page: int
    fills_page: int

    def order_params(self, kind: str, trigger: float | None, post_only: bool) -> dict[str, Any]: ...
    def find(self, ex: Any, symbol: str, client: str) -> dict[str, Any] | None: ...
    def open_orders(self, ex: Any) -> list[dict[str, Any]]: ...
    def cancel(self, ex: Any, symbol: str, client: str, trigger: bool) -> None: ...
    def equity(self, balance: dict[str, Any]) -> float: ...
    def set_one_way(self, ex: Any) -> None: ...


class BinanceDialect:
    name = "binanceusdm"
    options: dict[str, Any] = {
        "fetchCurrencies": False,  # the spot wallet endpoint: not needed, needs extra rights
        "defaultType": "swap",
        "warnOnFetchOpenOrdersWithoutSymbol": False,
    }
    ohlcv_page = 1000
    fills_page = 1000

    def order_params(self, kind: str, trigger: float | None, post_only: bool) -> dict[str, Any]:
        params: dict[str, Any] = {"newOrderRespType": "RESULT"}
        if kind == "stop_loss":
            params |= {"stopLossPrice": trigger, "reduceOnly": True}
        elif kind == "take_profit":
            params |= {"takeProfitPrice": trigger, "reduceOnly": True}
        elif post_only:
            params["postOnly"] = True  # ccxt sends timeInForce GTX
        return params

    def find(self, ex: Any, symbol: str, client: str) -> dict[str, Any] | None:
        """The order with this client id on either API (regular first, then algo)."""
        try:
            return ex.fetch_order("", symbol, {"clientOrderId": client})  # type: ignore[no-any-return]
        except ccxt.OrderNotFound:
            pass
        try:
            algo = ex.fetch_order("", symbol, {"clientOrderId": client, "trigger": True})
        except ccxt.OrderNotFound:
            return None
        child = str((algo.get("info") or {}).get("actualOrderId") or "")
        if algo.get("status") == "closed" and child:
            # a fired trigger: its outcome is the market order it became
            done = ex.fetch_order(child, symbol)
            return {**algo, "status": done.get("status"), "filled": done.get("filled"),
                    "amount": done.get("amount") or algo.get("amount")}  # fmt: skip
        return algo  # type: ignore[no-any-return]

    def open_orders(self, ex: Any) -> list[dict[str, Any]]:
        return list(ex.fetch_open_orders()) + list(ex.fetch_open_orders(None, None, None,
                                                                       {"trigger": True}))  # fmt: skip

    def cancel(self, ex: Any, symbol: str, client: str, trigger: bool) -> None:
        params: dict[str, Any] = {"clientOrderId": client}
        if trigger:
            params["trigger"] = True
        ex.cancel_order("", symbol, params)

    def equity(self, balance: dict[str, Any]) -> float:
        info = balance.get("info") or {}
        return float(info["totalMarginBalance"])

    def set_one_way(self, ex: Any) -> None:
        try:
            ex.set_position_mode(False)
        except ccxt.OperationRejected as exc:
            if "-4059" not in str(exc):  # "No need to change position side."
                raise


DIALECTS: dict[str, Dialect] = {
    "binanceusdm": BinanceDialect(),
    "okx": OkxDialect(),
}
