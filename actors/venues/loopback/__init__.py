"""A loopback exchange on 127.0.0.1 that ccxt talks to in the venue's own formats (today:
Binance USDⓈ-M, Bybit v5 and OKX v5; see the README section "Exchanges through ccxt").
``run_loopback(exchange, ...)`` is the entry point tests use; ``server.engine`` moves prices,
``server.inject`` arms faults.
"""

from actors.venues.loopback.server import LoopbackServer, run_loopback

__all__ = ["LoopbackServer", "run_loopback"]
