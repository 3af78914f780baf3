"""Signals from StrategyRunners to PortfolioRisk: one message per publication, bounded.

Why one message: the signals of one bar close are decided together (PortfolioRisk.on_signals:
one wait for the close's account view, the decisions in order, the approved entries handed to
the Executor in one call), so the 2nd and 3rd signal of a close no longer queue behind the
first's whole path (issue #15). A RunnerGroup shares one outbox among its symbols.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actors.messages import Signal, Trace, stamp

MAX_UNDECIDED = 8  # messages sent to PortfolioRisk and not decided yet; beyond: back-pressure


class SignalOutbox:
    def __init__(self, risk: Any) -> None:
        self.risk = risk  # a handle, or a name resolved lazily (PortfolioRisk starts later)
        self._undecided: list[Any] = []  # ObjectRefs of on_signal(s) calls not answered yet

    def send(self, signals: Sequence[tuple[Signal, Trace | None]]) -> None:
        """Hand ``signals`` (one publication's, in order) to PortfolioRisk without waiting."""
        if not signals:
            return
        risk = self._risk()
        if risk is None:
            return
        if len(signals) == 1:
            signal, trace = signals[0]
            ref = risk.on_signal.remote(signal, stamp(trace, "runner_out"))
        else:
            traces = [stamp(t, "runner_out") for _, t in signals]
            ref = risk.on_signals.remote([s for s, _ in signals], traces)
        self._undecided.append(ref)
        self._throttle()

    def _throttle(self) -> None:
        """Back-pressure: never more than MAX_UNDECIDED messages queued at PortfolioRisk (which
        itself waits on the Executor); a fast replay then slows to what the venue takes
        instead of queueing signals without bound. A live feed (a bar per symbol per
        timeframe) never reaches the bound."""
        import ray

        _, self._undecided = ray.wait(self._undecided, num_returns=len(self._undecided),
                                      timeout=0)  # fmt: skip
        if len(self._undecided) > MAX_UNDECIDED:
            _, self._undecided = ray.wait(self._undecided,
                                          num_returns=len(self._undecided) - MAX_UNDECIDED)  # fmt: skip

    def _risk(self) -> Any:
        if isinstance(self.risk, str):  # by name: PortfolioRisk is created after the runners
            import ray

            self.risk = ray.get_actor(self.risk)
        return self.risk
