"""A partial live graph for order-path tests: paper venue, StateKeeper, Executor (+ PortfolioRisk)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.live.helpers import paper


@dataclass
class Graph:
    paper: Any
    spec: Any
    keeper: Any
    alerter: Any
    executor: Any
    venue: Any  # the test's own client on the same account (to check the venue's book)

    def mid(self, symbol: str = "BTC") -> float:
        return float(self.venue._mid(symbol))


@contextmanager
def order_graph(tmp: Path, spec_update: dict[str, Any] | None = None, speed: float = 60.0,
                **executor_kw: Any) -> Iterator[Graph]:  # fmt: skip
    import ray

    from actors.alerter import Alerter
    from actors.executor import Executor
    from actors.keeper import StateKeeper
    from actors.venues.factory import make_venue

    with paper(tmp, speed=speed) as px:
        spec = px.spec.model_copy(update=spec_update or {})
        alerter = ray.remote(Alerter).options(num_cpus=0).remote()
        keeper = (
            ray.remote(StateKeeper)
            .options(num_cpus=0, max_concurrency=4)
            .remote(tmp / "data", 3600.0)
        )
        executor = (
            ray.remote(Executor)
            .options(num_cpus=0, max_concurrency=4, max_restarts=2, max_task_retries=0)
            .remote(spec, keeper, alerter, **executor_kw)
        )
        venue = make_venue(px.spec)
        try:
            ray.get(executor.portfolio.remote())
            yield Graph(px, spec, keeper, alerter, executor, venue)
        finally:
            for h, stop in ((executor, "stop"), (keeper, "close")):
                with contextlib.suppress(Exception):  # the actor may be one a test killed
                    ray.get(getattr(h, stop).remote(), timeout=30)
            for h in (executor, keeper, alerter):
                ray.kill(h, no_restart=True)
            venue.close()
