"""Probe for issue #15's next design step (not part of ``make bench``): what one bar close costs
through plain Ray actor calls against a Ray Compiled Graph, on the skeleton of the live path.

Run: ``.venv/bin/python tests/bench/probe_compiled_graph.py [--closes N]``; prints one JSON.

The skeleton has no trading work in it: a close is sent to 12 "runner" actors (one per symbol),
their 12 answers go to one "risk" actor, whose answer goes to one "executor" actor — the shape a
close would take if the live system handled a close as one unit (PortfolioRisk deciding the
close's signals together). Measured: the latency of one close, back to back, both ways; the
machine's CPU per close with the compiled graph; and how busy the cores are while a compiled
graph merely exists (its channel readers poll). Measured on 2 vCPUs (2026-12-07, the embedded
Ray's lean configuration): plain p50 8.8-9.0 / p99 12.1 ms; compiled p50 2.9 / p99 4.3 ms, but
the machine is busy ~6 ms per close and **both cores are 100 % busy while the graph is idle**
(an earlier probe without the lean configuration: plain p99 18-20 ms, 51-54 % busy idle).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from cluster.cli_common import reserved_stdout  # noqa: E402
from tests.bench.harness import start_local_ray  # noqa: E402

SYMBOLS = 12


def pct_ms(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))] * 1e3


def busy_s() -> float:
    import psutil

    t = psutil.cpu_times()
    return float(sum(t)) - t.idle - getattr(t, "iowait", 0.0)


def main(emit: Any) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--closes", type=int, default=600)
    ap.add_argument("--idle-s", type=float, default=5.0)
    args = ap.parse_args()
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    import ray
    from ray.dag import InputNode

    start_local_ray()  # as `fractal live` starts Ray

    @ray.remote(num_cpus=0)
    class Runner:
        def __init__(self, k: int) -> None:
            self.k = k

        def on_bar(self, closes: list[int]) -> tuple[int, int] | None:
            c = closes[self.k]
            return (self.k, c) if c % 10 == self.k % 10 else None

    @ray.remote(num_cpus=0)
    class Risk:
        def decide(self, *signals: Any) -> list[Any]:
            return [s for s in signals if s is not None]

    @ray.remote(num_cpus=0)
    class Executor:
        def place(self, approved: list[Any]) -> int:
            return len(approved)

    runners = [Runner.remote(k) for k in range(SYMBOLS)]  # type: ignore[attr-defined]
    risk = Risk.remote()  # type: ignore[attr-defined]
    executor = Executor.remote()  # type: ignore[attr-defined]

    def close(k: int) -> list[int]:
        return [k + i for i in range(SYMBOLS)]

    def plain(k: int) -> int:
        signals = ray.get([r.on_bar.remote(close(k)) for r in runners])
        return int(ray.get(executor.place.remote(risk.decide.remote(*signals))))

    out: dict[str, Any] = {"probe": "compiled_graph", "cpus": os.cpu_count(),
                           "closes": args.closes, "load_avg_start": os.getloadavg()}  # fmt: skip
    for k in range(50):
        plain(k)
    lat = []
    for k in range(args.closes):
        t0 = time.perf_counter()
        plain(k)
        lat.append(time.perf_counter() - t0)
    out["plain_ms"] = {"p50": pct_ms(lat, 0.5), "p99": pct_ms(lat, 0.99)}

    with InputNode() as inp:
        dag = executor.place.bind(risk.decide.bind(*[r.on_bar.bind(inp) for r in runners]))
    compiled = dag.experimental_compile()
    try:
        for k in range(50):
            ray.get(compiled.execute(close(k)))
        lat = []
        b0 = busy_s()
        for k in range(args.closes):
            t0 = time.perf_counter()
            ray.get(compiled.execute(close(k)))
            lat.append(time.perf_counter() - t0)
        out["compiled_ms"] = {"p50": pct_ms(lat, 0.5), "p99": pct_ms(lat, 0.99)}
        out["compiled_machine_cpu_ms_per_close"] = (busy_s() - b0) / args.closes * 1e3
        time.sleep(1.0)  # the last close's work settles before the idle window
        b0, t0 = busy_s(), time.perf_counter()
        time.sleep(args.idle_s)  # a timed window of nothing: what the idle graph costs
        idle = (busy_s() - b0) / ((time.perf_counter() - t0) * (os.cpu_count() or 1))
        out["cores_busy_fraction_while_idle_with_compiled_graph"] = idle
    finally:
        compiled.teardown()
    ray.shutdown()
    emit(json.dumps(out, indent=1))


if __name__ == "__main__":
    with reserved_stdout() as emit:
        main(emit)
