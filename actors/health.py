"""Heartbeats of the live system: which actors answer, the last bar per symbol, the websocket
state — written through the StateKeeper so the read-only dashboard and the daily report can show
them, and so the run's ``last_seen_ms`` proves uptime (:mod:`actors.state.uptime`).

Why probes from the driver and not a timer in every actor: a probe is answered from the actor's
own mailbox, so an actor that is dead, restarting or stuck behind a message stops answering —
exactly what "alive" must mean — and the actors stay thin. Probes never block the driver: each
round collects the answers that arrived since the previous one (``ray.wait`` with no timeout) and
sends a new probe only to actors that answered, so a hung actor holds one probe, not a pile.
An actor's heartbeat is the time the driver sent the newest probe it answered (one clock, the
driver's: no skew between the machines of a cluster).
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
HEARTBEAT_S = 10.0  # default probe and write period (wall seconds)
# Ray restarts a dead actor every time (actors.system.MAX_RESTARTS); this many restarts of one
# actor within the window is a crash loop (a bar or a state that kills it on every start) and
# the driver stops the system, as a supervisor's restart intensity would
CRASH_LOOP_RESTARTS = 5
CRASH_LOOP_WINDOW_S = 600.0


def ray_record(handle: Any) -> tuple[int, str] | None:
    """(restarts so far, state) of an actor from Ray's GCS actor table, or None if Ray cannot
    tell. Why the GCS table: Ray's public state API needs the Ray dashboard, which the live
    system does not start."""
    try:
        from ray._private.state import state

        row = state.actor_table(handle._actor_id.hex())
        return (int(row["NumRestarts"]), str(row["State"])) if row else None
    except Exception:  # an older or newer Ray: no restart accounting, probes still work
        return None


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def targets(system: Any) -> dict[str, tuple[Any, str]]:
    """Every live actor by its display name, with the method that answers its probe."""
    out: dict[str, tuple[Any, str]] = {"DataFeed": (system.feed, "health")}
    out.update({f"StrategyRunner {s}": (h, "ping") for s, h in sorted(system.runners.items())})
    out.update({"PortfolioRisk": (system.risk, "ping"), "Executor": (system.executor, "ping"),
                "StateKeeper": (system.keeper, "ping"), "Alerter": (system.alerter, "ping")})  # fmt: skip
    return out


class HealthMonitor:
    """Call :meth:`tick` often (the driver loop); it probes and writes every ``interval_s``."""

    def __init__(
        self,
        system: Any,
        run_id: int,
        interval_s: float = HEARTBEAT_S,
        clock: Callable[[], int] = wall_ms,
        record: Callable[[Any], tuple[int, str] | None] = ray_record,
        loop_restarts: int = CRASH_LOOP_RESTARTS,
        loop_window_s: float = CRASH_LOOP_WINDOW_S,
    ) -> None:
        self.keeper = system.keeper
        self.run_id = run_id
        self.interval_s = interval_s
        self.clock = clock
        self.targets = targets(system)
        self.pending: dict[str, tuple[Any, int]] = {}  # name -> (probe ref, sent wall ms)
        self.last_ok: dict[str, int] = {}
        self.errors: dict[str, str] = {}
        self.feed: dict[str, Any] = {}
        self._write: Any = None  # the previous heartbeat write, while in flight
        self._due = 0.0
        self.record, self.loop_restarts, self.loop_window_s = record, loop_restarts, loop_window_s
        self.restarts: dict[str, int] = {}  # Ray's restart count per actor, as last read
        self._restarted: dict[str, deque[int]] = {}  # clock ms of the restarts seen, per actor
        self.dead: dict[str, str] = {}  # actors Ray will not restart (its table says DEAD)

    def start(self, wait_s: float = 5.0) -> HealthMonitor:
        """First probes, waited for up to ``wait_s`` so the first heartbeat names every actor."""
        import ray

        self._probe()
        refs = [ref for ref, _ in self.pending.values()]
        ray.wait(refs, num_returns=len(refs), timeout=wait_s)
        self.tick(force=True)
        return self

    def tick(self, force: bool = False) -> bool:
        """Collect answers, write the heartbeat, probe again — when due. True if it wrote."""
        now = time.monotonic()
        if not force and now < self._due:
            return False
        self._due = now + self.interval_s
        self._collect()
        self._count_restarts()
        written = self._record()
        self._probe()
        return written

    def payload(self) -> dict[str, Any]:
        """The snapshot written (plain JSON values)."""
        actors = {
            name: {"last_ms": self.last_ok.get(name), "error": self.errors.get(name),
                   "probe_sent_ms": self.pending[name][1] if name in self.pending else None,
                   "restarts": self.restarts.get(name)}
            for name in self.targets
        }  # fmt: skip
        return {
            "time_ms": self.clock(), "interval_s": self.interval_s, "actors": actors,
            "venue_ms": self.feed.get("venue_ms"), "last_bar_ms": self.feed.get("last_bar_ms", {}),
            "streams": self.feed.get("streams", {}), "silence_s": self.feed.get("silence_s"),
        }  # fmt: skip

    def stop_reason(self) -> str | None:
        """Why the driver must stop the live system now, or None: an actor Ray will not restart
        (dead for good), or one in a crash loop (``loop_restarts`` restarts within
        ``loop_window_s``). Running on with either would trade blind on part of the system."""
        for name, why in sorted(self.dead.items()):
            return f"{name} is dead and will not be restarted ({why})"
        for name, seen in sorted(self._restarted.items()):
            if len(seen) >= self.loop_restarts:
                return (f"{name} restarted {len(seen)} times within {self.loop_window_s:g} s "
                        "(a crash loop)")  # fmt: skip
        return None

    # ----- internals ----------------------------------------------------------------------------
    def _count_restarts(self) -> None:
        now = self.clock()
        for name, (handle, _) in self.targets.items():
            rec = self.record(handle)
            if rec is None:
                continue
            count, state = rec
            if state == "DEAD":
                self.dead[name] = f"Ray's actor table says DEAD after {count} restarts"
            seen = self._restarted.setdefault(name, deque())
            seen.extend([now] * max(0, count - self.restarts.get(name, count)))
            while seen and now - seen[0] > self.loop_window_s * 1000:
                seen.popleft()
            self.restarts[name] = count

    def _collect(self) -> None:
        import ray

        for name, (ref, sent) in list(self.pending.items()):
            ready, _ = ray.wait([ref], timeout=0)
            if not ready:
                continue  # still no answer: its heartbeat ages
            del self.pending[name]
            try:
                answer = ray.get(ref)
            except Exception as exc:  # dead or restarting actor: say so, probe again
                self.errors[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                continue
            self.errors.pop(name, None)
            if isinstance(answer, dict):  # the feed's health report
                self.feed = answer
            self.last_ok[name] = sent

    def _probe(self) -> None:
        for name, (handle, method) in self.targets.items():
            if name not in self.pending:
                try:
                    self.pending[name] = (getattr(handle, method).remote(), self.clock())
                except Exception as exc:  # a handle that cannot even take a call
                    self.errors[name] = f"{type(exc).__name__}: {exc}"

    def _record(self) -> bool:
        """Hand the snapshot to the StateKeeper (the only writer); one write in flight at most,
        so a stuck keeper shows up as a stale heartbeat, not as a queue of writes."""
        import ray

        if self._write is not None:
            ready, _ = ray.wait([self._write], timeout=0)
            if not ready:
                log.warning("health: the StateKeeper has not written the previous heartbeat")
                return False
            try:
                ray.get(self._write)
            except Exception as exc:
                log.warning("health: heartbeat write failed: %s", exc)
        data = self.payload()
        self._write = self.keeper.record_heartbeat.remote(
            self.run_id, data["time_ms"], data["venue_ms"], json.dumps(data)
        )
        return True

    def close(self, wait_s: float = 5.0) -> None:
        """A last heartbeat with fresh answers (the stop is recorded by the run's end): the
        outstanding probes are waited for up to ``wait_s``, then the write."""
        import ray

        refs = [ref for ref, _ in self.pending.values()]
        if refs:
            ray.wait(refs, num_returns=len(refs), timeout=wait_s)
        self.tick(force=True)
        if self._write is not None:
            ray.wait([self._write], timeout=5.0)
