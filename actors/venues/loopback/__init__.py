"""Loopback servers that speak Binance USDⓈ-M, Bybit v5 and OKX v5 on 127.0.0.1 for ccxt.

See README.md in this folder. ``run_loopback(exchange, ...)`` is the entry point tests use.
"""

from actors.venues.loopback.server import LoopbackServer, run_loopback

__all__ = ["LoopbackServer", "run_loopback"]
