"""Small builders for unit tests of the pure venue core."""

from __future__ import annotations

import numpy as np

from actors.venues.simulator.actions import OrderSpec, parse_order
from actors.venues.simulator.engine import Venue
from actors.venues.simulator.market import Bars, CoinData, Market

USER = "0x" + "a" * 40
OTHER = "0x" + "b" * 40
T0 = 1_753_142_400_000  # an exact hour
MIN = 60_000


def synthetic_market(closes: list[float], funding: float = 0.0001, coin: str = "BTC") -> Market:
    """1m bars starting at T0 with the given closes (high/low 0.1 % around open/close)."""
    n = len(closes)
    c = np.array(closes, float)
    o = np.concatenate([[c[0]], c[:-1]])
    bars = Bars(
        t=T0 + MIN * np.arange(n, dtype=np.int64),
        o=o,
        h=np.maximum(o, c) * 1.001,
        low=np.minimum(o, c) * 0.999,
        c=c,
        v=np.ones(n),
    )
    hours = T0 + 3_600_000 * np.arange(0, n // 60 + 2, dtype=np.int64)
    data = CoinData(coin, {"1m": bars}, hours, np.full(len(hours), funding))
    return Market({coin: data})


def order_wire(
    asset: int = 0,
    is_buy: bool = True,
    px: str = "100000",
    sz: str = "0.01",
    tif: str = "Gtc",
    reduce_only: bool = False,
    cloid: str | None = None,
    trigger: dict | None = None,
) -> dict:
    w: dict = {"a": asset, "b": is_buy, "p": px, "s": sz, "r": reduce_only}
    w["t"] = {"trigger": trigger} if trigger else {"limit": {"tif": tif}}
    if cloid:
        w["c"] = cloid
    return w


def order_spec(**kw: object) -> OrderSpec:
    """A parsed order (what the engine takes) from order_wire's arguments."""
    return parse_order(order_wire(**kw))  # type: ignore[arg-type]


def scripted_venue(usdc: float = 10_000.0) -> Venue:
    """BTC with a scripted book 100000/100010, no replay."""
    from actors.venues.simulator.ticks import set_book

    v = Venue(None, ["BTC", "ETH"], T0, {USER: usdc, OTHER: usdc})
    set_book(v, "BTC", [(100000, 1.0), (99990, 2.0)], [(100010, 1.0), (100020, 2.0)])
    set_book(v, "ETH", [(3000, 10.0)], [(3001, 10.0)])
    v.events.clear()
    return v
