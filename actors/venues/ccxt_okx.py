"""OKX (v5 API, linear USDT swaps ``BTC-USDT-SWAP``) as one dialect of the CCXT venue.

What differs from Binance once ccxt has unified the rest (read from ccxt's ``okx.py``):
* Sizes are contracts: ccxt's unified ``amount`` for an OKX swap is a number of contracts of
  ``contractSize`` (= the instrument's ``ctVal``) base units; the venue converts both ways.
* Stops and targets are algo orders (``ordType=conditional`` on ``/trade/order-algo``) with
  ``slTriggerPx``/``tpTriggerPx`` and a market execution price (``-1``); the ``clOrdId`` ccxt
  sends becomes the order's ``algoClOrdId`` (ccxt's fixtures show the echo), and ccxt's parser
  only reads ``clOrdId``, so it is copied over here. Looking up,
  listing and cancelling them use the algo endpoints (``order-algo``, ``orders-algo-pending``
  with ``ordType=conditional``, ``cancel-algos``); a fired one names its market order in ``ordId``.
* An order placement is acknowledged without a state (``sCode``/``ordId`` only): the venue looks
  the order up by client id for its outcome.
* Fills (``/trade/fills-history``, last 3 months) come newest first, at most 100 a page; older
  pages are asked for with ``after`` = the oldest ``billId`` seen.
* Equity is the account's ``totalEq`` (USD); ``tdMode`` is ``cross`` (ccxt's default) and the
  position mode ``net_mode`` (one-way), set at start when ``/account/config`` shows another.
"""

from __future__ import annotations

from typing import Any

import ccxt

FILLS_HISTORY_MS = 90 * 86_400_000  # /trade/fills-history serves the last 3 months
_PAGE = 100


def _with_algo_client(o: dict[str, Any]) -> dict[str, Any]:
    """An algo order as ccxt parsed it, with its ``algoClOrdId`` as the client order id."""
    info = o.get("info") or {}
    if not o.get("clientOrderId") and info.get("algoClOrdId"):
        o = {**o, "clientOrderId": info["algoClOrdId"]}
    return o


class OkxDialect:
    name = "okx"
    options: dict[str, Any] = {
        "fetchCurrencies": False,  # /asset/currencies: a funding-account right not needed
        "defaultType": "swap",
        "fetchMarkets": {"types": ["swap"]},  # the linear and inverse swaps only
    }
    ohlcv_page = 100  # /market/history-candles serves at most 100 bars a request
    fills_page = _PAGE
    fills_history_ms = FILLS_HISTORY_MS

    def order_params(self, kind: str, trigger: float | None, post_only: bool) -> dict[str, Any]:
        params: dict[str, Any] = {"tdMode": "cross"}
        if kind == "stop_loss":
            params |= {"stopLossPrice": trigger, "reduceOnly": True}
        elif kind == "take_profit":
            params |= {"takeProfitPrice": trigger, "reduceOnly": True}
        elif post_only:
            params["postOnly"] = True  # ccxt sends ordType post_only
        return params

    def create(self, ex: Any, symbol: str, wire_type: str, side: str, amount: float,
               price: float | None, params: dict[str, Any]) -> Any:  # fmt: skip
        """OKX acknowledges a placement without its state: the venue then looks it up."""
        return ex.create_order(symbol, wire_type, side, amount, price, params)

    def set_leverage(self, ex: Any, leverage: int, symbol: str) -> None:
        ex.set_leverage(leverage, symbol)  # ccxt sends mgnMode cross

    def trade_client_id(self, trade: dict[str, Any]) -> str | None:
        """None: the venue maps a fill's order id to its client id by looking the order up."""
        return None

    def find(self, ex: Any, symbol: str, client: str) -> dict[str, Any] | None:
        """The order with this client id (regular first, then algo); a fired algo order
        reports the outcome of the market order it became."""
        try:
            return ex.fetch_order("", symbol, {"clientOrderId": client})  # type: ignore[no-any-return]
        except ccxt.OrderNotFound:
            pass
        try:
            algo = _with_algo_client(
                ex.fetch_order("", symbol, {"clientOrderId": client, "trigger": True})
            )
        except ccxt.OrderNotFound:
            return None
        child = str((algo.get("info") or {}).get("ordId") or "")
        if algo.get("status") == "closed" and child:
            done = ex.fetch_order(child, symbol)
            return {**algo, "status": done.get("status"), "filled": done.get("filled"),
                    "amount": done.get("amount") or algo.get("amount")}  # fmt: skip
        return algo

    def open_orders(self, ex: Any) -> list[dict[str, Any]]:
        regular = list(ex.fetch_open_orders())
        algo = ex.fetch_open_orders(None, None, None, {"trigger": True, "ordType": "conditional"})
        return regular + [_with_algo_client(o) for o in algo]

    def cancel(self, ex: Any, symbol: str, client: str, trigger: bool) -> None:
        params: dict[str, Any] = {"clientOrderId": client}
        if trigger:
            params["trigger"] = True  # /trade/cancel-algos with algoClOrdId
        ex.cancel_order("", symbol, params)

    def equity(self, balance: dict[str, Any]) -> float:
        data = (balance.get("info") or {})["data"]
        return float(data[0]["totalEq"])

    def set_one_way(self, ex: Any) -> None:
        """``net_mode`` unless the account is in it already (OKX refuses a mode change while
        positions or orders exist, so a restart with a position open must not ask again)."""
        config = ex.privateGetAccountConfig()
        if config["data"][0]["posMode"] != "net_mode":
            ex.set_position_mode(False)

    def trades(self, ex: Any, symbol: str, start: int, end: int) -> list[dict[str, Any]]:
        """Every fill in [start, end]: OKX pages newest first, so page backwards by bill id."""
        out: list[dict[str, Any]] = []
        params: dict[str, Any] = {"until": end}
        while True:
            page = ex.fetch_my_trades(symbol, start, _PAGE, params)
            if not isinstance(page, list):
                raise ValueError("fills page is not a list")
            out.extend(page)
            if len(page) < _PAGE:
                return out
            bills = [int((t.get("info") or {})["billId"]) for t in page]
            oldest = min(bills)
            if "after" in params and oldest >= int(params["after"]):
                raise ValueError("fills pages do not move back in time")
            params = {"until": end, "after": str(oldest)}
