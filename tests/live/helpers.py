"""Shared helpers of the live tests: a paper venue, condition waits (never bare sleeps)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from actors.messages import OrderIntent, make_cloid
from tests.conftest import MARKET

T = TypeVar("T")


def wait_for(pred: Callable[[], T], timeout_s: float, what: str, every_s: float = 0.2) -> T:
    """Poll ``pred`` until it returns something truthy; fail naming ``what`` after the timeout."""
    tick = threading.Event()
    deadline = time.monotonic() + timeout_s
    while True:
        out = pred()
        if out:
            return out
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        tick.wait(every_s)


def paper(tmp: Path, speed: float = 60.0, symbols: tuple[str, ...] = ("BTC",)) -> Any:
    from actors.venues.paper import PaperExchange

    return PaperExchange(market_dir=MARKET, state_dir=tmp / "paper", symbols=list(symbols),
                         speed=speed)  # fmt: skip


def entry_intent(symbol: str, side: str, size: float, mid: float, tag: str) -> OrderIntent:
    """A market entry with a stop 1 % away and a target 2 % away."""
    g = 1.0 if side == "buy" else -1.0
    sid = f"test:{symbol}:{tag}"
    return OrderIntent(
        source="test", seq=1, intent_id=f"{sid}:entry", cloid=make_cloid("test", symbol, sid, "entry"),
        signal_id=sid, symbol=symbol, side=side, size=size, kind="market",  # type: ignore[arg-type]
        purpose="entry", stop=round(mid * (1 - 0.01 * g)), target=round(mid * (1 + 0.02 * g)),
    )  # fmt: skip


def venue_fill_size(venue: Any, cloid: str) -> float:
    """Total size the venue filled for ``cloid`` (twice the intent's size = a duplicate order)."""
    return sum(f.size for f in venue.fills_since(0) if f.cloid == cloid)


def portfolio_after_restart(executor: Any, timeout_s: float = 120.0) -> Any:
    """The executor's portfolio once Ray has restarted it (calls fail while it restarts)."""
    import ray
    from ray.exceptions import ActorUnavailableError

    def ask() -> Any:
        try:
            return ray.get(executor.portfolio.remote())
        except ActorUnavailableError:
            return None

    return wait_for(ask, timeout_s, "the executor to restart")
