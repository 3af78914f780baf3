"""Circuit breakers in the portfolio backtest: the live trip rules on the backtest's evidence.

Why: a backtest that ignores the breakers the live system applies overstates what live would
have traded (after a 10 % drawdown live takes no new position until a human resumes). The trip
rules are the pure functions of :mod:`strategies.breakers` with the same
:class:`~strategies.breakers.Thresholds` (from settings), fed as the live
:class:`actors.risk_core.RiskCore` feeds them:

* ``drawdown``: equity marked to market at each close vs its running peak;
* ``loss_streak``: consecutive losing round trips (net of fees);
* ``volatility``: each symbol's newest-bar ATR vs the median ATR of its baseline bars.

``exchange_failures`` cannot happen in a backtest (there is no exchange to fail). No human
resumes a breaker in a backtest, so a tripped breaker stays tripped to the end of the run (live
needs the two-step ``fractal breaker resume``/``confirm``); the trips are listed with their time,
breaker and values in the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from strategies import breakers as b
from strategies.portfolio_view import BarHistory, volatility


@dataclass(frozen=True)
class BreakerTrip:
    """One breaker that tripped at the close of bar ``time_ms``, why, and its evidence."""

    time_ms: int
    name: str
    reason: str
    values: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        return {"time_ms": self.time_ms, "breaker": self.name, "reason": self.reason,
                "values": dict(self.values)}  # fmt: skip


@dataclass
class BacktestBreakers:
    """The breakers' state over one run: armed until tripped, then tripped to the end."""

    thresholds: b.Thresholds
    trips: list[BreakerTrip] = field(default_factory=list)

    @property
    def tripped(self) -> tuple[str, ...]:
        """Tripped names in the live store's order (the rule names the first one)."""
        names = {t.name for t in self.trips}
        return tuple(n for n in b.ALL_BREAKERS if n in names)

    def check(self, time_ms: int, peak: float, equity_marked: float | None,
              histories: Mapping[str, BarHistory], closed: Sequence[tuple[int, float]],
              ) -> list[BreakerTrip]:  # fmt: skip
        """Trip what the evidence at the close of ``time_ms`` says; returns the new trips.
        ``histories``: each symbol's bars up to this close (those with a bar at it);
        ``closed``: ``(close ms, pnl)`` of every round trip so far; ``equity_marked`` None: no
        usable equity (live skips the drawdown check then)."""
        th = self.thresholds
        found: list[b.Trip] = []
        if equity_marked is not None:
            t = b.drawdown_trip([peak, equity_marked], th)
            found += [t] if t is not None else []
        for sym, h in histories.items():
            v = volatility(h, th.atr_period, th.atr_baseline_bars)
            t = b.volatility_trip(v[0], v[1], th) if v is not None else None
            if t is not None:
                found.append(t.model_copy(update={"reason": f"{sym}: {t.reason}"}))
        t = b.loss_streak_since(closed, -1, th)
        found += [t] if t is not None else []
        new: list[BreakerTrip] = []
        for t in found:
            if t.name not in self.tripped and t.name not in {n.name for n in new}:
                new.append(BreakerTrip(time_ms, t.name, t.reason, dict(t.values)))
        self.trips += new
        return new
