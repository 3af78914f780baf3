"""The paper live system across the nodes of a test cluster; the node of a StrategyRunner dies.

Run by tests/cluster/scenarios.py (its own process, connected to the cluster as the driver).
Observed, not asserted here (tests/cluster/test_two_nodes.py asserts): where each actor ran
before and after, the runner's state across the restart, every journal intent and venue fill.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.cluster.local_cluster import PROJECT_ROOT, LocalCluster

SYMBOLS = ("BTC", "ETH")
SPEED = 7200.0  # a 15m bar every 0.125 s of wall time


def node_of(handle: Any) -> tuple[str, str, int]:
    """(node id, state, restarts) of an actor, from the GCS actor table."""
    import ray

    info = ray._private.state.actors(actor_id=handle._actor_id.hex())
    return info["Address"]["NodeID"], info["State"], int(info["NumRestarts"])


def run_live_scenario(lc: LocalCluster, work: Path) -> dict[str, Any]:
    from cluster.cli_live import LIVE_NAMESPACE
    from cluster.ray_runtime import ensure_ray

    ray = ensure_ray(lc.address, namespace=LIVE_NAMESPACE)
    from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError

    from actors import system
    from actors.placement import Placement
    from strategies.risk import Limits
    from tests.cluster.scenarios import wait_until
    from tests.live.helpers import paper

    out: dict[str, Any] = {"head": lc.head.node_id, "workers": [n.node_id for n in lc.workers]}
    t0 = time.monotonic()
    with paper(work, speed=SPEED, symbols=SYMBOLS) as px:
        cfg = system.LiveConfig(
            spec=px.spec, data_dir=work / "data",
            symbols=tuple(system.SymbolPlan(s, "liquidity_sweep") for s in SYMBOLS),
            timeframe="15m", limits=Limits(risk_fraction=0.01, max_open_positions=3,
                                           max_leverage=2.0),
            warmup_bars=600, snapshot_s=2.0, reconcile_s=5.0, poll_s=0.1,
            placement=Placement.cluster(),
        )  # fmt: skip
        live = system.start(cfg)
        stopped = False
        try:
            out["started_s"] = time.monotonic() - t0
            out["state_nodes"] = {n: node_of(h)[0] for n, h in (
                ("keeper", live.keeper), ("executor", live.executor), ("risk", live.risk),
                ("feed", live.feed), ("alerter", live.alerter))}  # fmt: skip
            out["runner_nodes_before"] = {s: node_of(h)[0] for s, h in live.runners.items()}
            out["detached"] = ray._private.state.actors(
                actor_id=live.keeper._actor_id.hex())["IsDetached"]  # fmt: skip

            def kinds() -> list[str]:
                return [e.kind for e in ray.get(live.alerter.since.remote(0))[0]]

            wait_until(lambda: "order_filled" in kinds(), 300, "a first order", every_s=0.2)
            runner = live.runners["BTC"]
            victim_id = node_of(runner)[0]
            before = ray.get(runner.state.remote())
            victim = next(n for n in lc.workers if n.node_id == victim_id)
            lc.kill(victim)
            killed_at = time.monotonic()
            out["killed_node"] = victim_id
            out["state_before"] = before

            def resumed() -> dict[str, Any] | None:
                try:
                    st = ray.get(runner.state.remote(), timeout=10)
                except (RayActorError, ActorUnavailableError, GetTimeoutError):
                    return None
                # handled bars newer than before the kill (it rebuilt from the feed's history)
                return (
                    st
                    if st["last_ms"] and st["last_ms"] > before["last_ms"] + 8 * 900_000
                    else None
                )

            out["state_after"] = wait_until(resumed, 240, "the runner to resume", every_s=0.5)
            out["resumed_after_s"] = time.monotonic() - killed_at
            out["runner_after"] = node_of(runner)
            out["runner_nodes_after"] = {s: node_of(h)[0] for s, h in live.runners.items()}
            out["orders_before_stop"] = kinds().count("order_filled")
            out.update(_disconnect_and_stop(lc, wait_until))
            stopped = True
        finally:
            if not stopped:
                live.stop()
        out.update(_orders(px.spec, work / "data" / "state" / "journal.sqlite"))
    return out


def _disconnect_and_stop(lc: LocalCluster, wait_until: Any) -> dict[str, Any]:
    """The driver disconnects: the detached actors trade on; a new driver finds them by name
    and `fractal live --address ... --stop-running` stops them."""
    import ray

    from cluster.cli_live import LIVE_NAMESPACE
    from cluster.ray_runtime import ensure_ray

    last = ray.get(ray.get_actor("fractal-runner-ETH").state.remote())["last_ms"]
    ray.shutdown()
    ray = ensure_ray(lc.address, namespace=LIVE_NAMESPACE)  # another driver, later
    eth = ray.get_actor("fractal-runner-ETH")
    wait_until(lambda: ray.get(eth.state.remote())["last_ms"] > last, 120,
               "bars handled while no driver was connected", every_s=0.2)  # fmt: skip
    named = sorted(ray.util.list_named_actors())
    res = subprocess.run(
        [sys.executable, "-m", "cluster.cli", "live", "--address", lc.address, "--stop-running"],
        capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT,
    )  # fmt: skip
    return {"named_while_disconnected": named, "stop_running": [res.returncode, res.stdout[-800:],
            res.stderr[-2000:]], "named_after_stop": sorted(ray.util.list_named_actors())}  # fmt: skip


def _orders(spec: Any, journal: Path) -> dict[str, Any]:
    from actors.venues.factory import make_venue

    venue = make_venue(spec)
    try:
        fills = [(f.cloid, f.size) for f in venue.fills_since(0)]
    finally:
        venue.close()
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
        intents = db.execute("SELECT cloid, signal_id, purpose, size FROM intents").fetchall()
    return {"intents": intents, "venue_fills": fills}
