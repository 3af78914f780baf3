"""What differs between the CCXT exchanges once ccxt has unified the rest.

Binance USDⓈ-M keeps conditional orders (stops, targets) on a separate algo API with its own
client id field (``clientAlgoId``) and statuses; its ``userTrades`` carry no client id and take
at most a 7-day window. Each dialect says how to send, find, list and cancel one order kind.
The venue (``ccxt_venue.py``) calls only the :class:`CcxtDialect` methods below for anything
that differs, so adding an exchange is one dialect module plus one line in ``DIALECTS``
(Bybit: :mod:`actors.venues.ccxt_bybit`, OKX: :mod:`actors.venues.ccxt_okx`).
"""

from __future__ import annotations

from typing import Any, Protocol

import ccxt

from actors.venues.ccxt_bybit import BybitDialect
from actors.venues.ccxt_okx import OkxDialect

FILLS_WINDOW_MS = 7 * 86_400_000 - 1  # userTrades windows (Binance: at most 7 days)
FILLS_HISTORY_MS = 180 * 86_400_000  # Binance serves userTrades of the last 6 months only


class CcxtDialect(Protocol):
    """What the CCXT venue asks of one exchange (all calls run inside ``mapped``)."""

    name: str
    options: dict[str, Any]
    ohlcv_page: int
    fills_page: int
    fills_history_ms: int  # how far back the venue serves fills

    def order_params(self, kind: str, trigger: float | None, post_only: bool) -> dict[str, Any]: ...
    def create(self, ex: Any, symbol: str, wire_type: str, side: str, amount: float,
               price: float | None, params: dict[str, Any]) -> Any: ...  # fmt: skip
    def find(self, ex: Any, symbol: str, client: str) -> dict[str, Any] | None: ...
    def open_orders(self, ex: Any) -> list[dict[str, Any]]: ...
    def cancel(self, ex: Any, symbol: str, client: str, trigger: bool) -> None: ...
    def equity(self, balance: dict[str, Any]) -> float: ...
    def set_one_way(self, ex: Any) -> None: ...
    def set_leverage(self, ex: Any, leverage: int, symbol: str) -> None: ...
    def trades(self, ex: Any, symbol: str, since: int, until: int) -> list[dict[str, Any]]: ...
    def trade_client_id(self, trade: dict[str, Any]) -> str | None: ...


class BinanceDialect:
    name = "binanceusdm"
    options: dict[str, Any] = {
        "fetchCurrencies": False,  # the spot wallet endpoint: not needed, needs extra rights
        "defaultType": "swap",
        "warnOnFetchOpenOrdersWithoutSymbol": False,
    }
    ohlcv_page = 1000
    fills_page = 1000
    fills_history_ms = FILLS_HISTORY_MS

    def order_params(self, kind: str, trigger: float | None, post_only: bool) -> dict[str, Any]:
        params: dict[str, Any] = {"newOrderRespType": "RESULT"}
        if kind == "stop_loss":
            params |= {"stopLossPrice": trigger, "reduceOnly": True}
        elif kind == "take_profit":
            params |= {"takeProfitPrice": trigger, "reduceOnly": True}
        elif post_only:
            params["postOnly"] = True  # ccxt sends timeInForce GTX
        return params

    def create(self, ex: Any, symbol: str, wire_type: str, side: str, amount: float,
               price: float | None, params: dict[str, Any]) -> Any:  # fmt: skip
        """The placed order as ccxt parses the reply (Binance answers with the full order)."""
        return ex.create_order(symbol, wire_type, side, amount, price, params)

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

    def set_leverage(self, ex: Any, leverage: int, symbol: str) -> None:
        ex.set_leverage(leverage, symbol)

    def trades(self, ex: Any, symbol: str, since: int, until: int) -> list[dict[str, Any]]:
        """Every fill in [since, until] (one window of at most 7 days), paged by time."""
        out: list[dict[str, Any]] = []
        while True:
            page = ex.fetch_my_trades(symbol, since, self.fills_page, {"until": until})
            if not isinstance(page, list):
                raise ccxt.BadResponse(f"fetch_my_trades {symbol}: not a list")
            out.extend(page)
            if len(page) < self.fills_page:
                return out
            newest = max(int(t.get("timestamp") or 0) for t in page)
            if newest <= since:
                raise ccxt.ExchangeError(f"more than {self.fills_page} fills at one "
                                         "millisecond; cannot page")  # fmt: skip
            since = newest  # the same ms again: duplicates are dropped by trade id

    def trade_client_id(self, trade: dict[str, Any]) -> str | None:
        """None: Binance's userTrades carry no client id (the venue looks the order up)."""
        return None


DIALECTS: dict[str, CcxtDialect] = {
    "binanceusdm": BinanceDialect(),
    "bybit": BybitDialect(),
    "okx": OkxDialect(),
}
