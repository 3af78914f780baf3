"""RunnerGroup actor: the StrategyRunners of several symbols in one process.

Why: every symbol still has its own :class:`~actors.runner.StrategyRunner` (its own streaming
state, dedupe, catch-up and signals), but a Ray actor per symbol costs a process per symbol —
~250 MB resident each, and on a small machine the bar close of 12 symbols then wakes 12
processes that compete for the cores with the order path (issue #15: the DataFeed's 12 sends and
the 12 wake-ups were a third of each close's CPU). A group takes one message per bar close
(:meth:`on_bars`) and runs its symbols one after the other (each takes tens of microseconds).

What a group gives up is process isolation: a crash of the process restarts every symbol in it
(each rebuilds from the DataFeed's history on its next bar, as a lone runner does). An error in
one symbol's bar is caught and logged per symbol: the others of the batch still run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actors.messages import Bar, Signal, Trace
from actors.outbox import SignalOutbox
from actors.runner import StrategyRunner, publish


class RunnerGroup:
    """One actor hosting a StrategyRunner per symbol; the same probes as a lone runner."""

    runner_class: type[StrategyRunner] = StrategyRunner  # what each symbol runs (benchmarks)

    def __init__(
        self,
        plans: Sequence[tuple[str, str, dict[str, Any]]],
        timeframe: str,
        feed: Any,
        risk: Any,
    ) -> None:
        if not plans:
            raise ValueError("a runner group needs at least one symbol")
        self.runners = {
            symbol: self.runner_class(symbol, timeframe, strategy, params, feed, risk)
            for symbol, strategy, params in plans
        }
        self.outbox = SignalOutbox(risk)  # a close's signals of every symbol: one message
        for runner in self.runners.values():
            runner.outbox = self.outbox

    def on_bar(self, bar: Bar, trace: Trace | None = None) -> Signal | None:
        """One symbol's closed bar (what a lone runner's ``on_bar`` does)."""
        return self._runner(bar).on_bar(bar, trace)

    def on_bars(self, bars: Sequence[Bar], trace: Trace | None = None) -> list[Signal | None]:
        """The bars of one publication (a bar close of several symbols), in order; their
        signals go to PortfolioRisk as one message. A bar that fails is logged and answered
        None, and the others still run (isolation per symbol)."""
        return publish(lambda b, t: self._runner(b).step(b, t), self.outbox, bars, trace)

    def _runner(self, bar: Bar) -> StrategyRunner:
        runner = self.runners.get(bar.symbol)
        if runner is None:
            raise ValueError(f"runner group of {sorted(self.runners)} got a {bar.symbol} bar")
        return runner

    def state(self, symbol: str | None = None) -> dict[str, Any]:
        """One symbol's runner state, or every symbol's by symbol."""
        if symbol is not None:
            return self.runners[symbol].state()
        return {s: r.state() for s, r in self.runners.items()}

    def ping(self) -> int:
        return next(iter(self.runners.values())).ping()
