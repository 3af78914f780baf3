"""Start and stop the live actor graph (DESIGN.md "Live message flow").

Why here and not in ``cluster``: the graph (who holds whose handle, creation order, restart and
retry options) is part of the live system; ``cluster`` only passes configuration in. Creation
order follows the dependencies: Alerter, StateKeeper, Executor (rebuilds and reconciles),
PortfolioRisk, one StrategyRunner per symbol, then the DataFeed, which starts publishing.
Every actor is named in the system's namespace and has ``max_restarts`` set: Ray reruns the
constructor, which rebuilds from the journal and the venue. ``Executor.submit`` places orders and
is never retried (``max_task_retries=0``). The StateKeeper, Executor, DataFeed and PortfolioRisk
are threaded (``max_concurrency``): each guards its own state with a lock, and a call that waits
(a venue read, the fresh view a signal needs) does not hold the others up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actors.crash import CrashPlan
from actors.placement import Placement
from actors.venues.ccxt_spec import CcxtSpec
from actors.venues.factory import VenueSpec
from strategies.breakers import Thresholds
from strategies.risk import Limits

log = logging.getLogger(__name__)
# Ray restarts a dead actor process every time (-1): its budget counts over the actor's whole
# life, and a 24/7 system that had run out of it after three crashes in a month would go on
# running with one actor dead for good (the 7-day soak found exactly that: its fourth runner
# kill left BTC without a runner). A constructor that raises is not restarted by Ray, and a
# crash loop is the driver's to stop (actors.health.HealthMonitor.stop_reason).
MAX_RESTARTS = -1
# every handler except the Executor's is idempotent (dedupe by key, bar time or signal id), so a
# call in flight when its actor died is re-run on the restarted actor instead of being lost
RETRIES = {"max_task_retries": 3}


@dataclass(frozen=True)
class SymbolPlan:
    symbol: str
    strategy: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LiveConfig:
    """Everything the graph needs, resolved by ``cluster`` (actors read no environment)."""

    spec: VenueSpec | CcxtSpec
    data_dir: Path
    symbols: tuple[SymbolPlan, ...]
    timeframe: str
    limits: Limits
    warmup_bars: int = 1000
    snapshot_s: float = 60.0
    backup_keep_days: int = 7
    reconcile_s: float = 60.0
    poll_s: float = 0.5
    feed_silence_s: float = 30.0
    auto_confirm: bool = False
    crash: CrashPlan | None = None
    telegram: Any = None  # actors.alerts.sink.TelegramAlertConfig: alerts also go to Telegram
    thresholds: Thresholds | None = None  # circuit breakers (None: the defaults)
    correlation_timeframe: str | None = None  # bar size of the correlation/VaR returns
    placement: Placement = field(default_factory=Placement)  # where on a cluster, how long


@dataclass
class LiveSystem:
    """Handles of the running actors."""

    config: LiveConfig
    alerter: Any
    keeper: Any
    executor: Any
    risk: Any
    runners: dict[str, Any]
    feed: Any
    desk: Any | None

    def stop(self, timeout_s: float = 30.0) -> None:
        """Clean stop: feed first (no new bars), executor loop, final state flush, then kill."""
        import ray

        for name, call in (("feed", lambda: self.feed.stop.remote()),
                           ("executor", lambda: self.executor.stop.remote()),
                           ("keeper", lambda: self.keeper.close.remote())):  # fmt: skip
            try:
                ray.get(call(), timeout=timeout_s)
            except Exception as exc:  # keep stopping the rest
                log.error("stopping %s: %s", name, exc)
        for h in (self.feed, *dict.fromkeys(self.runners.values()), self.risk, self.executor, self.keeper,
                  self.alerter, self.desk):  # fmt: skip
            if h is not None:
                ray.kill(h, no_restart=True)


def start_runners(
    symbols: tuple[SymbolPlan, ...], timeframe: str, namespace_prefix: str = "fractal",
    placement: Placement | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Create the runners first: loading (or, with a cold cache, compiling) the strategy kernels
    takes seconds to a minute, and needs no venue, so it happens before a paper clock runs.
    Returns each symbol's actor: its own StrategyRunner, or the RunnerGroup hosting it
    (``placement.runners_per_actor``; the handle is then shared by the group's symbols)."""
    import ray

    from actors.runner import StrategyRunner
    from actors.runner_group import RunnerGroup

    place = placement or Placement()
    opts: dict[str, Any] = {"max_restarts": MAX_RESTARTS, "num_cpus": 0, **RETRIES}
    opts.update(place.options("runner"))
    feed, risk = f"{namespace_prefix}-feed", f"{namespace_prefix}-risk"
    out: dict[str, Any] = {}
    handle: Any
    for group in place.runner_groups(symbols):
        name = f"{namespace_prefix}-runner-{'+'.join(p.symbol for p in group)}"
        if len(group) == 1:
            p = group[0]
            handle = ray.remote(StrategyRunner).options(**opts, name=name).remote(
                p.symbol, timeframe, p.strategy, p.params, feed, risk)  # fmt: skip
        else:
            plans = [(p.symbol, p.strategy, p.params) for p in group]
            handle = ray.remote(RunnerGroup).options(**opts, name=name).remote(
                plans, timeframe, feed, risk)  # fmt: skip
        out.update((p.symbol, handle) for p in group)
    return out


def wait_ready(runners: dict[str, Any]) -> None:
    import ray

    ray.get([r.state.remote() for r in set(runners.values())])


def start(
    config: LiveConfig, namespace_prefix: str = "fractal", runners: dict[str, Any] | None = None
) -> LiveSystem:
    """Create the actors (Ray must be initialised) and return their handles once all are up."""
    import ray

    from actors.alerter import Alerter
    from actors.confirm import ConfirmDesk
    from actors.executor import MAX_CONCURRENCY as EXECUTOR_CONCURRENCY
    from actors.executor import Executor
    from actors.feed import DataFeed
    from actors.keeper import StateKeeper
    from actors.risk import MAX_CONCURRENCY as RISK_CONCURRENCY
    from actors.risk import PortfolioRisk

    p = namespace_prefix
    opts: dict[str, Any] = {"max_restarts": MAX_RESTARTS, "num_cpus": 0, **RETRIES}
    opts.update(config.placement.options("keeper"))  # the same for every state-node role
    if runners is None:
        runners = start_runners(config.symbols, config.timeframe, p, config.placement)
    alerter = (
        ray.remote(Alerter).options(**opts, name=f"{p}-alerter").remote(telegram=config.telegram)
    )
    keeper = (
        ray.remote(StateKeeper)
        .options(**opts, max_concurrency=4, name=f"{p}-keeper")
        .remote(config.data_dir, config.snapshot_s, config.backup_keep_days)
    )
    desk = None
    confirm = config.spec.network == "mainnet" and not config.auto_confirm
    if confirm:
        desk = (
            ray.remote(ConfirmDesk).options(**opts, max_concurrency=4, name=f"{p}-confirm").remote()
        )
    executor: Any = ray.remote(Executor).options(
        **{**opts, "max_task_retries": 0}, max_concurrency=EXECUTOR_CONCURRENCY,
        name=f"{p}-executor"
    ).remote(
        config.spec, keeper, alerter, f"{p}-risk", desk, confirm, config.crash, config.poll_s,
        config.reconcile_s,
    )  # fmt: skip
    from actors.feed import TF_MS

    risk: Any = (
        ray.remote(PortfolioRisk)
        .options(**opts, max_concurrency=RISK_CONCURRENCY, name=f"{p}-risk")
        .remote(config.limits, executor, keeper, alerter, data_dir=config.data_dir,
                thresholds=config.thresholds, feed=f"{p}-feed", tf_ms=TF_MS[config.timeframe],
                correlation_bar_ms=TF_MS[config.correlation_timeframe or config.timeframe])
    )  # fmt: skip
    wait_ready(runners)
    ray.get([risk.portfolio.remote(), executor.attach.remote(f"{p}-risk")])
    feed: Any = ray.remote(DataFeed).options(**opts, max_concurrency=4, name=f"{p}-feed").remote(
        config.spec, [s.symbol for s in config.symbols], config.timeframe, config.warmup_bars,
        runners, alerter, config.feed_silence_s, executor=executor,
    )  # fmt: skip
    ray.get(feed.stats.remote())  # warm-up back-filled, streams subscribed
    return LiveSystem(config, alerter, keeper, executor, risk, runners, feed, desk)
