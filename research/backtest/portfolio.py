"""A multi-symbol portfolio backtest that decides every entry with the live risk rules.

Why its own loop and not N single-symbol runs: correlation, VaR, drawdown on marked equity and
the exposure caps are properties of the whole book, so the symbols must share one clock, one
cash balance and one decision function. That function is the live one: the state is assembled
by :func:`strategies.portfolio_view.with_market` and judged by :func:`strategies.risk.evaluate`
(the same calls :class:`actors.risk_core.RiskCore` makes; tests/backtest/test_portfolio_parity.py
runs one bar stream through both and compares every decision).

Timing (DESIGN.md "Causality"): a signal at the close of bar ``t`` is judged on bars up to and
including ``t``; an approved market entry fills at the open of ``t + 1``, a limit entry rests
for bar ``t + 1`` only (the live Executor's one-bar TTL). Stops and targets trigger intrabar
(both touched in one bar: the stop, conservatively); fees, slippage and funding apply.

Circuit breakers (:mod:`research.backtest.portfolio_breakers`): after each close the live trip
rules judge the marked equity, the closed round trips and each symbol's ATR; a tripped breaker
rejects every later entry (rule ``breaker:<name>``, as live) and, in a backtest where no human
resumes, stays tripped to the end. ``thresholds=None`` turns them off (research comparisons).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from research.backtest.costs import CostModel
from research.backtest.portfolio_breakers import BacktestBreakers, BreakerTrip
from strategies.breakers import Thresholds
from strategies.portfolio_view import BarHistory, marked_equity, with_market
from strategies.risk import Decision, Limits, PortfolioState, Proposal
from strategies.risk import evaluate as evaluate_rules
from strategies.signals import LIMIT, STOP, Signals

FloatArray = npt.NDArray[np.float64]
LIVE_DEFAULTS = Thresholds()  # frozen: the live breakers' default thresholds


@dataclass(frozen=True)
class SymbolData:
    """One symbol's bars (open times ms, OHLC), signals and per-bar funding rates."""

    time_ms: npt.NDArray[np.int64]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    signals: Signals
    funding: FloatArray | None = None

    def history(self) -> BarHistory:
        return BarHistory(self.time_ms, self.high, self.low, self.close)


@dataclass(frozen=True)
class PortfolioDecision:
    """One judged signal: the inputs the rules saw and what they decided."""

    time_ms: int
    proposal: Proposal
    state: PortfolioState  # before the market view (what the Executor would report)
    decision: Decision


@dataclass
class _Open:
    size: float  # signed
    entry: float
    stop: float
    target: float
    fee: float  # paid at entry


@dataclass
class PortfolioResult:
    equity_ms: list[int] = field(default_factory=list)
    equity: list[float] = field(default_factory=list)  # marked to market at each close
    decisions: list[PortfolioDecision] = field(default_factory=list)
    trades: list[dict[str, float | str]] = field(default_factory=list)
    states: list[tuple[int, PortfolioState]] | None = None  # per bar, when recorded (tests)
    fees: float = 0.0
    funding: float = 0.0
    breaker_trips: list[BreakerTrip] = field(default_factory=list)

    def summary(self, initial_cash: float) -> dict[str, Any]:
        eq = np.asarray(self.equity) if self.equity else np.asarray([initial_cash])
        peak = np.maximum.accumulate(eq)
        pnl = [float(t["pnl"]) for t in self.trades]
        rules = Counter(d.decision.rule for d in self.decisions)
        return {
            "final_equity": float(eq[-1]), "total_return": float(eq[-1] / initial_cash - 1),
            "max_drawdown": float(np.max((peak - eq) / peak)) if eq.size else 0.0,
            "trade_count": len(pnl), "win_rate": float(np.mean([p > 0 for p in pnl])) if pnl else 0.0,
            "fees_paid": self.fees, "funding_paid": self.funding,
            "signals": len(self.decisions), "approved": sum(d.decision.approved for d in self.decisions),
            "decisions_by_rule": dict(sorted(rules.items())),
            "breaker_trips": [t.as_dict() for t in self.breaker_trips],
        }  # fmt: skip


class PortfolioBacktest:
    """Run with :meth:`run`; ``bar_ms`` is the correlation bar size (a multiple of the bars').
    ``thresholds``: the circuit breakers' (default: the live defaults; None: no breakers)."""

    def __init__(self, data: Mapping[str, SymbolData], limits: Limits, tf_ms: int,
                 bar_ms: int | None = None, costs: CostModel | None = None,
                 initial_cash: float = 10_000.0, record_states: bool = False,
                 thresholds: Thresholds | None = LIVE_DEFAULTS) -> None:  # fmt: skip
        self.data = dict(data)
        self.limits = limits
        self.tf_ms, self.bar_ms = tf_ms, bar_ms or tf_ms
        self.costs = costs or CostModel()
        self.cash = self.initial_cash = initial_cash
        self.peak = 0.0
        self.open: dict[str, _Open] = {}
        self.pending: dict[
            str, tuple[float, int, float, float, float]
        ] = {}  # size, kind, px, stop, tgt
        self.result = PortfolioResult(states=[] if record_states else None)
        self.breakers = BacktestBreakers(thresholds) if thresholds is not None else None
        self._closed: list[tuple[int, float]] = []  # (close ms, pnl) of each round trip
        self._now = 0
        self._hist = {s: d.history() for s, d in self.data.items()}
        self._index = {
            s: {int(t): i for i, t in enumerate(d.time_ms)} for s, d in self.data.items()
        }

    # ----- the decision function shared with live --------------------------------------------
    def state(self) -> PortfolioState:
        """What the Executor would report: cash (realised P&L net of costs) as the equity, the
        positions with their entry prices, entries in flight, a clean reconciliation."""
        return PortfolioState(
            equity=self.cash, positions={s: o.size for s, o in self.open.items()},
            entries={s: o.entry for s, o in self.open.items()}, pending=frozenset(self.pending),
            reconciled=True, breakers=self.breakers.tripped if self.breakers else (),
        )  # fmt: skip

    def decide(self, p: Proposal, s: PortfolioState, time_ms: int) -> Decision:
        window = self.limits.portfolio.correlation_window if self.limits.portfolio else 1
        view = with_market(s, p.symbol, self._hist, time_ms, self.tf_ms, self.bar_ms, window,
                           self.peak)  # fmt: skip
        if s.equity > 0:
            self.peak = view.peak_equity
        return evaluate_rules(p, view, self.limits)

    def observe(self, time_ms: int) -> float:
        """Equity marked at the closes of ``time_ms``; raises the peak (as live does on every
        portfolio view)."""
        state = self.state()
        if self.result.states is not None:
            self.result.states.append((time_ms, state))
        marks = {k: float(h.close[n - 1]) for k, h in self._hist.items()
                 if (n := int(np.searchsorted(h.time_ms, time_ms, side="right")))}  # fmt: skip
        eq = marked_equity(replace(state, marks=marks))
        self.peak = max(self.peak, eq)
        return eq

    # ----- simulation ----------------------------------------------------------------------------
    def run(self) -> PortfolioResult:
        times = np.unique(np.concatenate([d.time_ms for d in self.data.values()]))
        for t in times.tolist():
            self._now = t
            rows = {s: self._index[s].get(t) for s in self.data}
            for s, i in rows.items():
                if i is not None:
                    self._on_open(s, i)
            for s, i in rows.items():
                if i is not None:
                    self._intrabar(s, i)
            eq = self.observe(t)
            self.result.equity_ms.append(t)
            self.result.equity.append(eq)
            self._check_breakers(t, eq, [s for s, i in rows.items() if i is not None])
            for s, i in rows.items():
                if i is not None:
                    self._on_close(s, i, t)
        return self.result

    def _check_breakers(self, t: int, eq: float, symbols: list[str]) -> None:
        """The live trip rules at the close of ``t`` (symbols: those with a bar at it)."""
        if self.breakers is None:
            return
        hist = {s: self._hist[s].upto(t) for s in symbols}
        usable = eq if self.cash > 0 else None  # as RiskCore.observe_equity
        new = self.breakers.check(t, self.peak, usable, hist, self._closed)
        self.result.breaker_trips += new
        if new:
            self.pending.clear()  # live cancels the resting entries on a trip
            if self.breakers.thresholds.close_positions:  # BREAKER_CLOSE_POSITIONS
                for s in list(self.open):
                    i = self._index[s].get(t)
                    if i is not None:
                        px = float(self.data[s].close[i])
                        self._close(s, self._slip(px, -np.sign(self.open[s].size)), "breaker",
                                    self.costs.taker_fee)  # fmt: skip

    def _slip(self, px: float, side: float) -> float:
        return px * (1 + side * self.costs.slippage_bps / 1e4)

    def _on_open(self, s: str, i: int) -> None:
        d = self.data[s]
        o = self.open.get(s)
        if o is not None and d.funding is not None and d.funding[i] != 0.0:
            paid = o.size * d.open[i] * d.funding[i]  # longs pay a positive rate
            self.cash -= paid
            self.result.funding += paid
        sig = d.signals
        if (
            o is not None
            and i > 0
            and (sig.exit_long[i - 1] if o.size > 0 else sig.exit_short[i - 1])
        ):
            self._close(s, self._slip(d.open[i], -np.sign(o.size)), "exit", self.costs.taker_fee)
        pend = self.pending.pop(s, None)
        if pend is None or s in self.open:
            return
        size, kind, px, stop, target = pend
        side = float(np.sign(size))
        if kind == LIMIT:
            if not (d.low[i] <= px if side > 0 else d.high[i] >= px):
                return  # one bar, then canceled (the live Executor's TTL)
            fill, fee = min(px, d.open[i]) if side > 0 else max(px, d.open[i]), self.costs.maker_fee
        elif kind == STOP:
            if not (d.high[i] >= px if side > 0 else d.low[i] <= px):
                return
            fill = self._slip(max(px, d.open[i]) if side > 0 else min(px, d.open[i]), side)
            fee = self.costs.taker_fee
        else:
            fill, fee = self._slip(d.open[i], side), self.costs.taker_fee
        self._pay(abs(size) * fill * fee)
        self.open[s] = _Open(size, fill, stop, target, abs(size) * fill * fee)

    def _intrabar(self, s: str, i: int) -> None:
        d, o = self.data[s], self.open.get(s)
        if o is None:
            return
        long = o.size > 0
        hit_stop = d.low[i] <= o.stop if long else d.high[i] >= o.stop
        hit_tgt = np.isfinite(o.target) and (
            d.high[i] >= o.target if long else d.low[i] <= o.target
        )
        if hit_stop:  # gapped through: the open, worse than the stop
            px = min(o.stop, d.open[i]) if long else max(o.stop, d.open[i])
            self._close(s, self._slip(px, -1.0 if long else 1.0), "stop", self.costs.taker_fee)
        elif hit_tgt:
            px = max(o.target, d.open[i]) if long else min(o.target, d.open[i])
            self._close(s, px, "target", self.costs.maker_fee)

    def _on_close(self, s: str, i: int, t: int) -> None:
        sig = self.data[s].signals
        side = int(sig.entry[i])
        if side == 0 or s in self.open or s in self.pending:
            return
        close = float(self.data[s].close[i])
        kind = int(sig.entry_kind[i])
        ref = float(sig.entry_price[i]) if kind in (LIMIT, STOP) else close
        p = Proposal(s, "buy" if side > 0 else "sell", ref, float(sig.stop[i]),
                     None if np.isnan(sig.target[i]) else float(sig.target[i]))  # fmt: skip
        state = self.state()
        dec = self.decide(p, state, t)
        self.result.decisions.append(PortfolioDecision(t, p, state, dec))
        if dec.approved:
            self.pending[s] = (side * dec.size, kind, ref, p.stop,
                               np.nan if p.target is None else p.target)  # fmt: skip

    def _pay(self, fee: float) -> None:
        self.cash -= fee
        self.result.fees += fee

    def _close(self, s: str, px: float, why: str, fee_rate: float) -> None:
        o = self.open.pop(s)
        gross = o.size * (px - o.entry)
        fee = abs(o.size) * px * fee_rate
        self.cash += gross
        self._pay(fee)
        self.result.trades.append({"symbol": s, "side": "long" if o.size > 0 else "short",
                                   "entry": o.entry, "exit": px, "size": abs(o.size),
                                   "pnl": gross - fee - o.fee, "why": why,
                                   "closed_ms": self._now})  # fmt: skip
        self._closed.append((self._now, gross - fee - o.fee))
