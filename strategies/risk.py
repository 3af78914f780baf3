"""Portfolio risk rules as pure functions: a proposed entry + the portfolio state -> a decision.

Why a list of small rules over one frozen state: each rule answers one question ("is the
reconciliation clean?", "is there room for another position?") and names itself in the decision,
so the journal records *which* rule blocked a signal. Gates (breakers, drawdown, correlation, ...)
reject; after sizing, the portfolio caps (exposure, leverage, canary, VaR) may shrink or reject the
entry, and a shrunk approval names the cap (``resized:var``). No I/O, no clock: the PortfolioRisk
actor and the portfolio backtest build the state (:mod:`strategies.portfolio_view`) and call
:func:`evaluate`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from strategies.portfolio_risk import PortfolioLimits, correlation_rule, exposure_rule, var_rule
from strategies.sizing import RISK, position_size

Side = Literal["buy", "sell"]


@dataclass(frozen=True)
class Proposal:
    """An entry a strategy asks for: reference price (limit price or the signal bar's close)."""

    symbol: str
    side: Side
    price: float
    stop: float
    target: float | None = None


@dataclass(frozen=True)
class PortfolioState:
    """What the rules may look at. ``positions``: symbol -> signed size on the venue;
    ``pending``: symbols with an entry order in flight (approved, not yet filled or gone);
    ``blocked``: symbols blocked until an operator or a clean reconciliation releases them."""

    equity: float
    positions: dict[str, float] = field(default_factory=dict)
    pending: frozenset[str] = frozenset()
    blocked: frozenset[str] = frozenset()
    reconciled: bool = False
    halted: str | None = None  # reason, when the whole system is HALTED
    breakers: tuple[str, ...] = ()  # tripped circuit breakers (strategies.breakers): no entries
    # venue view of open positions (Executor): entry price and unrealised P&L at the venue's mark
    entries: dict[str, float] = field(default_factory=dict)
    unrealized: dict[str, float] = field(default_factory=dict)
    venue_failures: tuple[int, ...] = ()  # wall ms of recent venue failures (5xx, 429, timeouts)
    # market view (strategies.portfolio_view.with_market): latest closes, per-bar returns on one
    # grid, and the equity peak (persisted by the caller) that ``equity`` is measured against
    marks: dict[str, float] = field(default_factory=dict)
    returns: Mapping[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    peak_equity: float = 0.0
    # venue time (ms) of the account read this view carries (0: unknown): a decision for a bar
    # that closed later asks the Executor for a fresh view (equity and positions as of that bar)
    as_of_ms: int = 0
    # the Executor's sequence number when it took this view (0: unknown). Views carrying the same
    # ``as_of_ms`` differ by what the Executor did in between (an entry sent, acknowledged, a
    # fill polled); PortfolioRisk decides several signals at once and its calls may run out of
    # the order they were sent in, so it keeps the view with the highest (as_of_ms, version)
    version: int = 0
    # entries sent and not filled yet (resting, outcome unknown, or not yet acknowledged):
    # (cloid, symbol, signed notional). The exposure caps count them like open positions, so
    # entries in flight cannot together overshoot a cap that each one alone respects.
    in_flight: tuple[tuple[str, str, float], ...] = ()

    def open_symbols(self) -> set[str]:
        """Symbols that hold or are about to hold a position."""
        return {s for s, q in self.positions.items() if q != 0.0} | set(self.pending)


@dataclass(frozen=True)
class Limits:
    """Configured risk limits (BASE_RISK_PERCENT, MAX_OPEN_POSITIONS, ...)."""

    risk_fraction: float = 0.01
    max_open_positions: int = 3
    max_leverage: float = 2.0  # notional cap as a multiple of equity
    size_step: float = 0.0  # 0: the venue adapter rounds
    max_position_usd: float = 0.0  # canary cap on one entry's notional (MAX_POSITION_USD; 0: off)
    max_drawdown_pct: float = 10.0  # no new position while equity is this far below its peak
    # correlation, VaR and exposure caps; None: off (order-path tests without market data)
    portfolio: PortfolioLimits | None = None


@dataclass(frozen=True)
class Decision:
    """``rule`` names the rule that decided (``approved`` when every rule passed)."""

    approved: bool
    rule: str
    size: float = 0.0
    detail: str = ""


Rule = Callable[[Proposal, PortfolioState, Limits], Decision | None]  # None = this rule passes


def reject(rule: str, detail: str) -> Decision:
    return Decision(approved=False, rule=rule, detail=detail)


def not_halted(p: Proposal, s: PortfolioState, lim: Limits) -> Decision | None:
    """Fail closed: a HALTED system takes no new entries (stops stay on the venue)."""
    return reject("halted", s.halted) if s.halted else None


def breakers_armed(p: Proposal, s: PortfolioState, lim: Limits) -> Decision | None:
    """A tripped circuit breaker blocks new entries; the decision names it (``breaker:<name>``)."""
    if s.breakers:
        return reject(f"breaker:{s.breakers[0]}", f"tripped: {', '.join(s.breakers)}")
    return None


def reconciliation_clean(p: Proposal, s: PortfolioState, lim: Limits) -> Decision | None:
    """No new entry until the journal and the venue agree (failure_modes rule 4)."""
    if s.reconciled:
        return None
    return reject("reconciliation_pending", "journal and venue not reconciled yet")


def symbol_not_blocked(p: Proposal, s: PortfolioState, lim: Limits) -> Decision | None:
    """An unresolved order, an adopted position or an overfill blocks the symbol."""
    if p.symbol in s.blocked:
        return reject("symbol_blocked", f"{p.symbol} is blocked")
    return None


def one_position_per_symbol(p: Proposal, s: PortfolioState, lim: Limits) -> Decision | None:
    """A signal on a symbol that already holds (or is entering) a position is not stacked."""
    if p.symbol in s.pending:
        return reject("entry_in_flight", f"an entry on {p.symbol} is already in flight")
    if s.positions.get(p.symbol, 0.0) != 0.0:
        return reject("position_open", f"{p.symbol} already has a position")
    return None


def max_open_positions(p: Proposal, s: PortfolioState, lim: Limits) -> Decision | None:
    """MAX_OPEN_POSITIONS counts open positions and entries in flight."""
    n = len(s.open_symbols() - {p.symbol})
    if n >= lim.max_open_positions:
        return reject("max_open_positions", f"{n} open of {lim.max_open_positions} allowed")
    return None


def valid_geometry(p: Proposal, s: PortfolioState, lim: Limits) -> Decision | None:
    """The stop must be a positive price on the losing side of the entry."""
    ok = math.isfinite(p.price) and math.isfinite(p.stop) and p.price > 0 and p.stop > 0
    if ok and (p.stop < p.price if p.side == "buy" else p.stop > p.price):
        return None
    return reject("invalid_stop", f"stop {p.stop} vs price {p.price} for a {p.side}")


def positive_equity(p: Proposal, s: PortfolioState, lim: Limits) -> Decision | None:
    if math.isfinite(s.equity) and s.equity > 0:
        return None
    return reject("no_equity", f"equity {s.equity}")


def drawdown_within_limit(p: Proposal, s: PortfolioState, lim: Limits) -> Decision | None:
    """Equity marked to market (open positions included) more than ``max_drawdown_pct`` below
    its peak: no new position (the ``drawdown`` breaker also trips; this gate needs no store)."""
    if s.peak_equity <= 0:
        return None
    dd = (s.peak_equity - s.equity) / s.peak_equity * 100.0
    if dd > lim.max_drawdown_pct:
        return reject("drawdown", f"equity {s.equity:.2f} is {dd:.2f}% below its peak "
                      f"{s.peak_equity:.2f} (limit {lim.max_drawdown_pct}%)")  # fmt: skip
    return None


def open_notional(s: PortfolioState) -> dict[str, float] | None:
    """Signed notional of each open position at its latest close (the entry price without one)
    plus that of the entries in flight; None when a position has neither price (the caps cannot
    be checked: fail closed)."""
    out: dict[str, float] = {}
    for sym, size in s.positions.items():
        px = s.marks.get(sym, s.entries.get(sym))
        if size == 0.0:
            continue
        if px is None or not px > 0:
            return None
        out[sym] = size * px
    for _, sym, notional in s.in_flight:
        out[sym] = out.get(sym, 0.0) + notional
    return out


def correlation_gate(p: Proposal, s: PortfolioState, lim: Limits) -> Decision | None:
    """No new position whose return correlation with an open one (or an entry in flight, taken
    as the same direction) exceeds the limit; a missing history rejects (fail closed)."""
    if lim.portfolio is None:
        return None
    book = open_notional(s)
    if book is None:
        return reject("correlation", "an open position has no price (fail closed)")
    sign = 1.0 if p.side == "buy" else -1.0
    for sym in s.pending - {p.symbol}:
        book.setdefault(sym, sign)
    r = correlation_rule(p.symbol, sign, s.returns, book, lim.portfolio)
    return reject(r.rule, r.detail) if r.rejected else None


DEFAULT_RULES: tuple[Rule, ...] = (
    breakers_armed,
    not_halted,
    reconciliation_clean,
    positive_equity,
    drawdown_within_limit,
    valid_geometry,
    symbol_not_blocked,
    one_position_per_symbol,
    max_open_positions,
    correlation_gate,
)


def portfolio_caps(p: Proposal, s: PortfolioState, lim: Limits, size: float) -> Decision:
    """Exposure, leverage and canary caps, then the VaR limit, on the sized entry: each may
    shrink it (the decision names the last rule that did) or reject it."""
    assert lim.portfolio is not None
    book = open_notional(s)
    if book is None:
        return reject("exposure", "an open position has no price (fail closed)")
    sign = 1.0 if p.side == "buy" else -1.0
    want = sign * size * p.price
    resized_by, detail = "", ""
    caps = exposure_rule(p.symbol, want, s.equity, book, lim.portfolio)
    if caps.rejected:
        return reject(caps.rule, caps.detail)
    if abs(caps.allowed_notional) < abs(want):
        want, resized_by, detail = caps.allowed_notional, caps.rule, caps.detail
    var = var_rule(p.symbol, want, s.equity, book, s.returns, lim.portfolio)
    if var.rejected:
        return reject(var.rule, var.detail)
    if abs(var.allowed_notional) < abs(want):
        want, resized_by, detail = var.allowed_notional, var.rule, var.detail
    qty = abs(want) / p.price
    if lim.size_step > 0:
        qty = math.floor(qty / lim.size_step) * lim.size_step
    if not qty > 0:
        return reject(resized_by or "size_zero", f"resized to nothing ({detail})")
    rule = f"resized:{resized_by}" if resized_by else "approved"
    return Decision(approved=True, rule=rule, size=qty, detail=detail)


def size_for(p: Proposal, s: PortfolioState, lim: Limits) -> float:
    """Risk ``risk_fraction`` of current equity between price and stop, capped by leverage and
    by the canary notional ``max_position_usd`` (a cap, not a rejection: the entry gets smaller)."""
    size = float(
        position_size(
            RISK, s.equity, p.price, p.stop, lim.risk_fraction, 0.0, lim.max_leverage,
            lim.size_step,
        )
    )  # fmt: skip
    if lim.max_position_usd > 0 and size * p.price > lim.max_position_usd:
        size = lim.max_position_usd / p.price
        if lim.size_step > 0:
            size = math.floor(size / lim.size_step) * lim.size_step
    return size


def evaluate(
    p: Proposal, s: PortfolioState, lim: Limits, rules: Sequence[Rule] = DEFAULT_RULES
) -> Decision:
    """The first rule that rejects decides; otherwise the proposal is sized and approved."""
    for rule in rules:
        d = rule(p, s, lim)
        if d is not None and not d.approved:
            return d
    size = size_for(p, s, lim)
    if not size > 0.0:
        return reject("size_zero", "risk sizing gave no quantity")
    if lim.portfolio is not None:
        return portfolio_caps(p, s, lim, size)
    return Decision(approved=True, rule="approved", size=size)
