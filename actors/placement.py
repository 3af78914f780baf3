"""Where the live actors run on a Ray cluster, and how long they live.

Why these choices (README "From one machine to a cluster"):

* The StateKeeper owns the journal (SQLite under ``data_dir``): one writer, on one disk. Every
  actor that reads or writes ``data_dir`` (Executor, PortfolioRisk's breaker states, the Alerter's
  outbox) and the DataFeed they depend on run on the node that carries the custom resource
  ``state_resource`` (``ray start --resources '{"fractal_state": 1}'`` on that node). They ask
  for a sliver of it, so the resource marks the node without limiting how many actors fit.
* StrategyRunners hold only rebuildable state (the streaming SMC state, replayed from the
  DataFeed's history after a restart) and are the CPU-heavy part: ``SPREAD`` puts them on
  different nodes, and when a node dies Ray restarts them (``max_restarts``) on a live one.
  They ask ``runner_cpus`` (a tenth of a CPU) so they never land on a head started with
  ``--num-cpus 0`` (GCS, dashboard and the state actors only), and a sliver of
  ``runner_resource`` when the cluster has such nodes (``fractal_live`` on the on-demand nodes
  of cluster/ray/*.yaml), so they never land on a spot research worker.
  A replayed signal carries the same signal id and cloid, so PortfolioRisk and the Executor
  (against the journal) turn it into no second order.
* ``detached``: the actors outlive the driver (named, in the driver's Ray namespace), so a
  laptop that disconnects does not stop trading; ``LiveSystem.stop`` (Ctrl-C in `fractal
  live`) still stops them.

The default (embedded local Ray) places nothing and ties the actors to the driver.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

STATE_RESOURCE = "fractal_state"
RUNNER_RESOURCE = "fractal_live"
STATE_SHARE = 0.001  # of the node's one unit: marks the node, never limits the actor count
STATE_ROLES = frozenset({"alerter", "keeper", "executor", "risk", "feed", "confirm"})


@dataclass(frozen=True)
class Placement:
    """Ray options per actor role; the default is the single-process layout."""

    detached: bool = False
    state_resource: str | None = None
    spread_runners: bool = False
    runner_cpus: float = 0.0
    runner_resource: str | None = None
    # StrategyRunners per actor process: 0 = every symbol in one RunnerGroup (one process and
    # one message per bar close instead of one per symbol: on one machine that halves the CPU
    # of a bar close, issue #15), 1 = an actor per symbol (a crash restarts one symbol; the
    # cluster layout, whose runners spread over nodes), k = groups of k (actors.runner_group)
    runners_per_actor: int = 0

    def __post_init__(self) -> None:
        if self.runners_per_actor < 0:
            raise ValueError(f"runners_per_actor must be >= 0, got {self.runners_per_actor}")

    def runner_groups(self, symbols: Sequence[T]) -> list[tuple[T, ...]]:
        """``symbols`` cut into the groups that share a runner actor, in order."""
        k = self.runners_per_actor or max(len(symbols), 1)
        return [tuple(symbols[i : i + k]) for i in range(0, len(symbols), k)]

    @classmethod
    def cluster(
        cls, state_resource: str = STATE_RESOURCE, runner_resource: str | None = None
    ) -> Placement:
        """The multi-node layout: state on the resource's node, runners spread, detached."""
        return cls(detached=True, state_resource=state_resource, spread_runners=True,
                   runner_cpus=0.1, runner_resource=runner_resource, runners_per_actor=1)  # fmt: skip

    def options(self, role: str) -> dict[str, Any]:
        """Extra ``.options(...)`` for an actor of ``role`` (``runner`` or a STATE_ROLES name)."""
        out: dict[str, Any] = {}
        if self.detached:
            out["lifetime"] = "detached"
        if role == "runner":
            if self.spread_runners:
                out["scheduling_strategy"] = "SPREAD"
            if self.runner_cpus:
                out["num_cpus"] = self.runner_cpus
            if self.runner_resource:
                out["resources"] = {self.runner_resource: STATE_SHARE}
        elif role in STATE_ROLES:
            if self.state_resource:
                out["resources"] = {self.state_resource: STATE_SHARE}
        else:
            raise ValueError(f"unknown actor role {role!r}")
        return out
