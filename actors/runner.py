"""StrategyRunner actor (one per symbol): the streaming SMC state and the strategy kernel.

Why it asks the feed for history: Ray reruns the constructor on restart and restores nothing, so
a runner starts empty; on its first bar (and on any gap) it replays the feed's kept history
through :class:`strategies.live.StrategyStream` — the same kernel the backtest runs — and only
then handles the new bar. Bars are deduplicated by time (a duplicated or replayed bar is a
no-op); ``backfilled`` bars update the state but never produce a signal (failure_modes F9).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from actors.messages import Bar, Signal, Trace, make_signal_id, stamp
from actors.outbox import SignalOutbox
from strategies import registry
from strategies.live import N_BAR_COLS
from strategies.signals import LIMIT, STOP

log = logging.getLogger(__name__)
KINDS = {LIMIT: "limit", STOP: "stop"}
# rows of detector/signal history a live runner keeps readable: memory stays flat on an endless
# feed (older bars are dropped once no detector or kernel can read them; signals are unchanged)
LIVE_MAX_ROWS = 2048


class StrategyRunner:
    def __init__(
        self,
        symbol: str,
        timeframe: str,
        strategy: str,
        params: dict[str, Any],
        feed: Any,
        risk: Any,
    ) -> None:
        module = registry.get(strategy)
        self.symbol, self.timeframe, self.strategy = symbol, timeframe, strategy
        self.stream = module.stream(module.Params.model_validate(params), max_rows=LIVE_MAX_ROWS)
        self.feed = feed  # handles, or names resolved lazily (both are created after the runners)
        self.outbox = SignalOutbox(risk)  # a RunnerGroup gives its runners one shared outbox
        self.last_ms: int | None = None
        self.signals = 0
        self.last_signal: str | None = None  # signal id of the newest signal (tests, monitoring)
        self.source = f"runner:{strategy}:{symbol}"

    def on_bar(self, bar: Bar, trace: Trace | None = None) -> Signal | None:
        """Handle one closed bar; returns the signal it produced (sent to PortfolioRisk without
        waiting). ``trace``: hop timestamps, forwarded with the signal (benchmarks)."""
        signal, trace = self.step(bar, trace)
        if signal is not None:
            self.outbox.send([(signal, trace)])
        return signal

    def on_bars(self, bars: Sequence[Bar], trace: Trace | None = None) -> list[Signal | None]:
        """The bars of one publication, in order (the DataFeed's one message per runner actor
        and bar close); their signals go to PortfolioRisk as one message."""
        return publish(self.step, self.outbox, bars, trace)

    def step(self, bar: Bar, trace: Trace | None = None) -> tuple[Signal | None, Trace | None]:
        """One closed bar into the state: the signal it produced (not sent) and its trace."""
        trace = stamp(trace, "runner_in")
        if bar.symbol != self.symbol or bar.timeframe != self.timeframe:
            raise ValueError(
                f"runner {self.symbol} {self.timeframe} got {bar.symbol} {bar.timeframe}"
            )
        if self.last_ms is not None and bar.time_ms <= self.last_ms:
            return None, trace  # duplicate or replay: already in the state
        tf = bar.time_ms - (self.last_ms if self.last_ms is not None else bar.time_ms)
        if self.last_ms is None or tf > self._tf_ms():
            self._catch_up(bar.time_ms)
        row = self.stream.update(bar.time_ms, bar.open, bar.high, bar.low, bar.close, bar.volume)
        self.last_ms = bar.time_ms
        if row["entry"] == 0 or bar.backfilled:
            return None, trace
        signal = self._signal(bar, row)
        self.signals += 1
        self.last_signal = signal.signal_id
        return signal, trace

    def ping(self) -> int:
        """Liveness probe: this actor's wall clock, ms (queued behind its other messages, so a
        stuck actor stops answering)."""
        return time.time_ns() // 1_000_000

    def state(self, symbol: str | None = None) -> dict[str, Any]:
        """This runner's counters (``symbol``, if given, must be this runner's: the probe a
        :class:`actors.runner_group.RunnerGroup` answers per symbol)."""
        if symbol is not None and symbol != self.symbol:
            raise ValueError(f"runner {self.symbol} asked for the state of {symbol}")
        return {"symbol": self.symbol, "bars": self.stream.n, "last_ms": self.last_ms,
                "signals": self.signals, "last_signal": self.last_signal}  # fmt: skip

    def _tf_ms(self) -> int:
        from actors.feed import TF_MS

        return TF_MS[self.timeframe]

    def _feed(self) -> Any:
        if isinstance(self.feed, str):
            import ray

            try:
                self.feed = ray.get_actor(self.feed)
            except ValueError:  # no feed (a benchmark driving bars itself): no history
                return None
        return self.feed

    def _catch_up(self, before_ms: int) -> None:
        """Replay the feed's history between the last bar seen and ``before_ms`` (no signals)."""
        import ray

        feed = self._feed()
        if feed is None:
            return
        for b in ray.get(feed.history_bars.remote(self.symbol, self.last_ms, before_ms)):
            self.stream.update(b.time_ms, b.open, b.high, b.low, b.close, b.volume)
            self.last_ms = b.time_ms

    def _signal(self, bar: Bar, row: dict[str, Any]) -> Signal:
        i = self.stream.n - 1 - getattr(self.stream, "base", 0)  # row held for this bar
        values = self.stream.x[i, N_BAR_COLS:]
        reasons = {c: float(v) for c, v in zip(self.stream.spec.columns, values, strict=True)
                   if np.isfinite(v) and v != 0.0}  # fmt: skip
        reasons["close"] = bar.close
        sid = make_signal_id(self.strategy, self.symbol, self.timeframe, bar.time_ms)
        price = row["entry_price"]
        return Signal(
            source=self.source, seq=bar.time_ms // self._tf_ms(), signal_id=sid,
            strategy=self.strategy, symbol=self.symbol, bar_time_ms=bar.time_ms,
            side="buy" if row["entry"] > 0 else "sell",
            kind=KINDS.get(row["entry_kind"], "market"),  # type: ignore[arg-type]
            price=None if math.isnan(price) else price, stop=row["stop"],
            target=None if math.isnan(row["target"]) else row["target"], reasons=reasons,
        )  # fmt: skip


def publish(
    step: Callable[[Bar, Trace | None], tuple[Signal | None, Trace | None]],
    outbox: SignalOutbox,
    bars: Sequence[Bar],
    trace: Trace | None,
) -> list[Signal | None]:
    """``step`` over a publication's bars in order, then their signals to PortfolioRisk in one
    message. A bar that fails is logged and answered None and the rest still run (in a group,
    one symbol's failure must not drop the others')."""
    out: list[Signal | None] = []
    signals: list[tuple[Signal, Trace | None]] = []
    for bar in bars:
        try:
            signal, hops = step(bar, trace)
        except Exception:  # noqa: BLE001 - logged with its traceback; the batch goes on
            log.exception("%s bar %d failed in its runner", bar.symbol, bar.time_ms)
            signal, hops = None, None
        out.append(signal)
        if signal is not None:
            signals.append((signal, hops))
    outbox.send(signals)
    return out
