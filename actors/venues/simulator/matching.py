"""Order-book liquidity and price-time matching (pure logic, no I/O).

The book of a coin is the outside market (a synthetic ladder around the replayed price, or a
scripted ladder set by a test) plus the simulator's own resting limit orders. A taker walks the
opposite side best price first; at one price outside liquidity comes before users' orders.
Consumed outside liquidity stays consumed until the price moves (synthetic) or the test sets
a new ladder (scripted), so partial fills and "no liquidity" can be produced on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

from actors.venues.simulator.numbers import round_px, tick_at
from actors.venues.simulator.orders import Order

EPS = 1e-12


@dataclass
class Level:
    px: float
    sz: float
    order: Order | None = None  # None = outside liquidity


class ExternalBook:
    """Outside liquidity of one coin."""

    def __init__(
        self,
        sz_decimals: int,
        levels: int = 20,
        step_bps: float = 1.0,
        level_usd: float = 250_000.0,
    ):
        self.sz_decimals = sz_decimals
        self.n_levels = levels
        self.step = step_bps / 10_000
        self.level_usd = level_usd
        self.scripted = False
        self.bids: list[list[float]] = []
        self.asks: list[list[float]] = []
        self._mid: float | None = None

    def reprice(self, mid: float) -> None:
        """Rebuild the synthetic ladder around `mid` (no-op for a scripted book or same price)."""
        if self.scripted or mid == self._mid or mid <= 0:
            return
        self._mid = mid
        tick = tick_at(mid, self.sz_decimals)
        bids: list[list[float]] = []
        asks: list[list[float]] = []
        for i in range(self.n_levels):
            off = max(mid * self.step * (i + 0.5), tick * (i + 1))
            bpx = round_px(_floor_to(mid - off, tick), self.sz_decimals)
            apx = round_px(_ceil_to(mid + off, tick), self.sz_decimals)
            for side, px in ((bids, bpx), (asks, apx)):
                if px > 0 and (not side or side[-1][0] != px):
                    side.append([px, self._level_size(px)])
        self.bids, self.asks = bids, asks

    def _level_size(self, px: float) -> float:
        q = 10.0**-self.sz_decimals
        return max(q, round(self.level_usd / px / q) * q)

    def set_script(self, bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> None:
        for px, sz in list(bids) + list(asks):
            if px <= 0 or sz <= 0:
                raise ValueError(f"book levels need positive price and size, got ({px}, {sz})")
        self.scripted = True
        self.bids = [[float(p), float(s)] for p, s in sorted(bids, key=lambda x: -x[0])]
        self.asks = [[float(p), float(s)] for p, s in sorted(asks, key=lambda x: x[0])]

    def clear_script(self) -> None:
        self.scripted = False
        self._mid = None

    def mid(self) -> float | None:
        if self.bids and self.asks:
            return (self.bids[0][0] + self.asks[0][0]) / 2
        if self.bids:
            return self.bids[0][0]
        if self.asks:
            return self.asks[0][0]
        return None

    def consume(self, is_bid_side: bool, px: float, sz: float) -> None:
        side = self.bids if is_bid_side else self.asks
        for lvl in side:
            if lvl[0] == px:
                lvl[1] -= sz
                break
        side[:] = [lvl for lvl in side if lvl[1] > EPS]


def _floor_to(x: float, tick: float) -> float:
    return int(x / tick + 1e-9) * tick


def _ceil_to(x: float, tick: float) -> float:
    n = int(x / tick - 1e-9)
    return (n + 1) * tick if n * tick < x - 1e-9 * tick else n * tick


def opposite_levels(book: ExternalBook, resting: list[Order], taker_is_buy: bool) -> list[Level]:
    """Liquidity a taker on `taker_is_buy` side can hit, in priority order."""
    outside = book.asks if taker_is_buy else book.bids
    levels = [Level(px, sz) for px, sz in outside]
    users = [o for o in resting if o.is_buy != taker_is_buy and not o.is_trigger]
    users.sort(key=lambda o: o.timestamp)
    levels += [Level(o.limit_px, o.sz, o) for o in users]
    if taker_is_buy:
        levels.sort(key=lambda lv: (lv.px, lv.order is not None))
    else:
        levels.sort(key=lambda lv: (-lv.px, lv.order is not None))
    return levels


def crosses(px: float, is_buy: bool, limit_px: float) -> bool:
    return px <= limit_px + EPS if is_buy else px >= limit_px - EPS


def walk(
    levels: list[Level], is_buy: bool, limit_px: float, sz: float
) -> list[tuple[Level, float]]:
    """Fills (level, size) for a taker of `sz` limited at `limit_px`."""
    out: list[tuple[Level, float]] = []
    left = sz
    for lv in levels:
        if left <= EPS or not crosses(lv.px, is_buy, limit_px):
            break
        take = min(left, lv.sz)
        if take > EPS:
            out.append((lv, take))
            left -= take
    return out


def aggregate(levels: list[Level], depth: int = 20) -> list[dict]:
    """l2Book side: levels merged by price, best first, at most `depth`."""
    merged: dict[float, list[float]] = {}
    order: list[float] = []
    for lv in levels:
        if lv.px not in merged:
            merged[lv.px] = [0.0, 0]
            order.append(lv.px)
        merged[lv.px][0] += lv.sz
        merged[lv.px][1] += 1
    return [{"px": px, "sz": merged[px][0], "n": int(merged[px][1])} for px in order[:depth]]
