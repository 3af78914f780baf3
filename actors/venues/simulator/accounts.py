"""Accounts: USDC cash, perp positions, fees, funding, margin and liquidation (pure logic).

Why the cash + positions model: the venue reports accountValue = cash + unrealised PnL and
totalRawUsd = accountValue - sum(szi * mark) (checked against the recorded clearinghouseState),
so keeping cash (deposits + realised PnL - fees + funding) makes every reported figure derivable.
Isolated positions carry their own margin (`iso_margin`, taken from cross at open) and are
liquidated on their own; everything else shares the cross account value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TAKER_FEE = 0.00045
MAKER_FEE = 0.00015
EPS = 1e-12


@dataclass
class Position:
    szi: float = 0.0
    entry_px: float = 0.0
    cum_all: float = 0.0
    cum_open: float = 0.0
    cum_change: float = 0.0
    iso_margin: float = 0.0  # USDC allocated to an isolated position (0 for cross)


@dataclass
class Account:
    address: str
    usdc: float
    positions: dict[str, Position] = field(default_factory=dict)
    leverage: dict[str, tuple[str, int]] = field(default_factory=dict)

    def lev(self, coin: str, max_leverage: int) -> tuple[str, int]:
        """Default leverage is cross at min(20, maxLeverage), as on the venue."""
        return self.leverage.get(coin, ("cross", min(20, max_leverage)))

    def isolated(self, coin: str) -> bool:
        return self.leverage.get(coin, ("cross", 0))[0] == "isolated"

    def szi(self, coin: str) -> float:
        p = self.positions.get(coin)
        return p.szi if p else 0.0


@dataclass
class FillResult:
    start_position: float
    closed_pnl: float
    direction: str
    fee: float


def direction(start: float, signed_sz: float) -> str:
    """The venue's `dir` label for a fill moving the position from `start` by `signed_sz`."""
    end = start + signed_sz
    if start > EPS and end < -EPS:
        return "Long > Short"
    if start < -EPS and end > EPS:
        return "Short > Long"
    if signed_sz > 0:
        return "Close Short" if start < -EPS else "Open Long"
    return "Close Long" if start > EPS else "Open Short"


def apply_fill(
    acct: Account,
    coin: str,
    is_buy: bool,
    px: float,
    sz: float,
    fee_rate: float,
    leverage: int | None = None,
) -> FillResult:
    """Book a fill: realise PnL on the closed part, average the entry on the opened part.

    For an isolated coin the opened part allocates notional / leverage of margin and the
    closed part releases its pro-rata share.
    """
    pos = acct.positions.setdefault(coin, Position())
    signed = sz if is_buy else -sz
    start = pos.szi
    closed_pnl = 0.0
    opened = abs(signed)
    if start * signed < 0:  # reducing (maybe flipping)
        closing = min(abs(signed), abs(start))
        closed_pnl = (px - pos.entry_px) * closing * (1 if start > 0 else -1)
        pos.iso_margin *= (abs(start) - closing) / abs(start)
        opened = abs(signed) - closing
        new_szi = start + (closing if signed > 0 else -closing)
        if abs(new_szi) < EPS:
            new_szi = 0.0
        if opened > EPS:
            new_szi = opened if signed > 0 else -opened
            pos.entry_px = px
            pos.cum_open = 0.0
        pos.szi = new_szi
    else:
        total = abs(start) + abs(signed)
        pos.entry_px = (pos.entry_px * abs(start) + px * abs(signed)) / total
        pos.szi = start + signed
    if opened > EPS and acct.isolated(coin):
        pos.iso_margin += opened * px / (leverage or acct.leverage[coin][1])
    if start == 0.0:
        pos.cum_open = 0.0
    pos.cum_change = 0.0 if abs(pos.szi) < EPS else pos.cum_change
    fee = px * sz * fee_rate
    acct.usdc += closed_pnl - fee
    if abs(pos.szi) < EPS:
        acct.positions.pop(coin, None)
    return FillResult(start, closed_pnl, direction(start, signed), fee)


def apply_funding(acct: Account, coin: str, oracle_px: float, rate: float) -> float:
    """Hourly funding: payment = -szi * oraclePx * rate (longs pay when the rate is positive)."""
    pos = acct.positions.get(coin)
    if pos is None:
        return 0.0
    payment = -pos.szi * oracle_px * rate
    acct.usdc += payment
    if acct.isolated(coin):
        pos.iso_margin += payment
    pos.cum_all -= payment
    pos.cum_open -= payment
    pos.cum_change -= payment
    return payment


def unrealized(pos: Position, mark: float) -> float:
    return (mark - pos.entry_px) * pos.szi


def account_value(acct: Account, marks: dict[str, float]) -> float:
    """Total value, cross and isolated together (marginSummary.accountValue)."""
    return acct.usdc + sum(unrealized(p, marks[c]) for c, p in acct.positions.items())


def cross_value(acct: Account, marks: dict[str, float]) -> float:
    """Cross account value: cash minus isolated allocations plus cross unrealised PnL."""
    value = acct.usdc
    for c, p in acct.positions.items():
        value += -p.iso_margin if acct.isolated(c) else unrealized(p, marks[c])
    return value


def position_margin(
    acct: Account, coin: str, marks: dict[str, float], max_lev: dict[str, int]
) -> float:
    """marginUsed of one position: initial margin (cross) or its equity (isolated)."""
    p = acct.positions[coin]
    if acct.isolated(coin):
        return p.iso_margin + unrealized(p, marks[coin])
    return abs(p.szi) * marks[coin] / acct.lev(coin, max_lev[coin])[1]


def margin_used(
    acct: Account, marks: dict[str, float], max_lev: dict[str, int], cross_only: bool = False
) -> float:
    return sum(
        position_margin(acct, c, marks, max_lev)
        for c in acct.positions
        if not (cross_only and acct.isolated(c))
    )


def maintenance_margin(
    acct: Account, marks: dict[str, float], max_lev: dict[str, int], cross_only: bool = True
) -> float:
    """Maintenance rate is 1 / (2 * maxLeverage) of the position value."""
    return sum(
        abs(p.szi) * marks[c] / (2 * max_lev[c])
        for c, p in acct.positions.items()
        if not (cross_only and acct.isolated(c))
    )


def liquidatable_coins(
    acct: Account, marks: dict[str, float], max_lev: dict[str, int]
) -> list[str]:
    """Positions to liquidate now: every cross one when cross value < cross maintenance, and
    each isolated one whose equity fell below its own maintenance."""
    out = []
    cross = [c for c in acct.positions if not acct.isolated(c)]
    if cross and cross_value(acct, marks) < maintenance_margin(acct, marks, max_lev):
        out += cross
    for c, p in acct.positions.items():
        if acct.isolated(c):
            maint = abs(p.szi) * marks[c] / (2 * max_lev[c])
            if p.iso_margin + unrealized(p, marks[c]) < maint:
                out.append(c)
    return out


def is_liquidatable(acct: Account, marks: dict[str, float], max_lev: dict[str, int]) -> bool:
    return bool(liquidatable_coins(acct, marks, max_lev))


def liquidation_px(
    acct: Account, coin: str, marks: dict[str, float], max_lev: dict[str, int]
) -> float | None:
    """Mark of `coin` at which its margin meets maintenance (other marks held fixed)."""
    pos = acct.positions.get(coin)
    if pos is None:
        return None
    s, m = pos.szi, marks[coin]
    r = 1.0 / (2 * max_lev[coin])
    denom = s - abs(s) * r
    if abs(denom) < EPS:
        return None
    if acct.isolated(coin):
        px = (s * pos.entry_px - pos.iso_margin) / denom
    else:
        av0 = cross_value(acct, marks)
        m_other = maintenance_margin(acct, marks, max_lev) - abs(s) * m * r
        px = (m_other - av0 + s * m) / denom
    return px if px > 0 else None
