"""PortfolioRisk's decision logic without Ray: the market view it keeps, the equity peak, the
decision on a signal and the automatic circuit-breaker trips.

Why apart from the actor: the portfolio backtest decides with the same pure rules
(:mod:`strategies.risk`, :mod:`strategies.portfolio_view`), and a test runs one bar stream
through both this class and the backtest and compares every decision. The actor only moves
messages: bars from the DataFeed in, decisions and trips out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from strategies import breakers as b
from strategies import risk as rules
from strategies.portfolio_view import BarHistory, marked_equity, volatility, with_market
from strategies.risk import Decision, Limits, PortfolioState, Proposal

KEEP_BARS = 5000  # per symbol: > any window the settings allow over the feed's history


class RiskCore:
    """The bars seen so far per symbol, the persisted equity peak, and the rules."""

    def __init__(self, limits: Limits, thresholds: b.Thresholds, tf_ms: int, bar_ms: int | None,
                 peak: float = 0.0) -> None:  # fmt: skip
        self.limits, self.thresholds = limits, thresholds
        self.tf_ms = tf_ms
        self.bar_ms = bar_ms or tf_ms
        if self.bar_ms % tf_ms:
            raise ValueError(f"correlation bar size {self.bar_ms} ms is not a multiple of the "
                             f"feed timeframe {tf_ms} ms")  # fmt: skip
        self.peak = peak
        self.histories: dict[str, BarHistory] = {}

    # ----- market view -----------------------------------------------------------------------
    def newest(self) -> dict[str, int]:
        return {s: int(h.time_ms[-1]) for s, h in self.histories.items() if len(h)}

    def add_bars(self, rows: dict[str, list[tuple[int, float, float, float]]]) -> list[str]:
        """Append closed bars (each once, in order); returns the symbols that got a new bar."""
        grown = []
        for sym, new in rows.items():
            last = self.newest().get(sym, -1)
            new = [r for r in new if r[0] > last]
            if not new:
                continue
            add = BarHistory.of(new)
            old = self.histories.get(sym)
            if old is not None:
                add = BarHistory(*(np.concatenate([getattr(old, f), getattr(add, f)])[-KEEP_BARS:]
                                   for f in ("time_ms", "high", "low", "close")))  # fmt: skip
            self.histories[sym] = add
            grown.append(sym)
        return grown

    def marked(self, s: PortfolioState) -> float:
        """Equity marked to the latest closes (open positions included)."""
        marks = {k: float(h.close[-1]) for k, h in self.histories.items() if len(h)}
        return marked_equity(PortfolioState(equity=s.equity, positions=s.positions,
                                            entries=s.entries, unrealized=s.unrealized,
                                            marks=marks))  # fmt: skip

    def observe_equity(self, s: PortfolioState) -> float | None:
        """Mark the equity and raise the peak; None when there is no usable equity yet."""
        if not (math.isfinite(s.equity) and s.equity > 0):
            return None
        eq = self.marked(s)
        self.peak = max(self.peak, eq)
        return eq

    # ----- decisions ---------------------------------------------------------------------------
    def decide(self, p: Proposal, s: PortfolioState, bar_time_ms: int,
               rule_set: Sequence[rules.Rule] = rules.DEFAULT_RULES) -> Decision:  # fmt: skip
        """The rules on the state marked at the signal's bar (its close is the newest data)."""
        window = self.limits.portfolio.correlation_window if self.limits.portfolio else 1
        view = with_market(s, p.symbol, self.histories, bar_time_ms, self.tf_ms, self.bar_ms,
                           window, self.peak)  # fmt: skip
        if s.equity > 0:
            self.peak = view.peak_equity
        return rules.evaluate(p, view, self.limits, rule_set)

    # ----- automatic circuit breakers ----------------------------------------------------------
    def equity_trips(self, s: PortfolioState, now_ms: int) -> list[b.Trip]:
        """``drawdown`` (marked equity vs the peak) and ``exchange_failures`` (wall ms)."""
        out = []
        eq = self.observe_equity(s)
        if eq is not None:
            t = b.drawdown_trip([self.peak, eq], self.thresholds)
            if t is not None:
                out.append(t)
        t = b.exchange_failures_trip(s.venue_failures, now_ms, self.thresholds)
        if t is not None:
            out.append(t)
        return out

    def volatility_trips(self, symbols: Sequence[str]) -> list[b.Trip]:
        """``volatility`` for each symbol whose newest bar's ATR is above the multiple of its
        baseline (symbols without enough history are not judged; their entries fail closed)."""
        out = []
        th = self.thresholds
        for sym in symbols:
            h = self.histories.get(sym)
            v = volatility(h, th.atr_period, th.atr_baseline_bars) if h is not None else None
            if v is None:
                continue
            t = b.volatility_trip(v[0], v[1], th)
            if t is not None:
                out.append(t.model_copy(update={"reason": f"{sym}: {t.reason}"}))
        return out

    def loss_streak_trip(self, trades: Sequence[tuple[int, float]], after_ms: float
                         ) -> b.Trip | None:  # fmt: skip
        return b.loss_streak_since(trades, int(after_ms), self.thresholds)
