"""Probe for issue #15 (not part of ``make bench``): what a message chain costs when it arrives
after the machine sat idle, against the same chain sent back to back.

Run: ``.venv/bin/python tests/bench/probe_idle_wake.py [--sends N]``; prints one JSON.

Why: ``bench_live`` sends bar closes back to back (the next close as soon as the last signal's
order is accepted), while a live system gets one close per timeframe and sits idle in between.
Two chains, each three processes long, are timed per send with an idle gap of 0, 20 and 150 ms
before each send (alternated, twice): a byte through three OS pipes (the floor: waking three
processes) and a no-op call through three Ray actors (each forwards to the next and waits).
On this 2-vCPU VM (guest cpuidle driver ``haltpoll``; 2026-12-07): the pipe chain p50 10-50 us
back to back against 360-540 us after 150 ms idle; the Ray chain p50 3.5-3.7 ms back to back
against 10.2-11.2 ms after 150 ms idle (p99 6.6-7.3 -> 15.4-17.1 ms) — about 2 ms more per
Ray hop once its threads have gone to sleep. ``bench_live --close-gap-ms 150`` shows the same
on the live path (p50 48.5 / p99 90.9 ms against ~33 / ~60 back to back).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from cluster.cli_common import reserved_stdout  # noqa: E402
from tests.bench.harness import start_local_ray  # noqa: E402

GAPS_S = (0.0, 0.02, 0.15)


def pcts(xs: list[float]) -> dict[str, float]:
    """p50/p99 in ms of durations in ns."""
    s = sorted(xs)
    return {q: round(s[min(len(s) - 1, int(round(f * (len(s) - 1))))] / 1e6, 3)
            for q, f in (("p50_ms", 0.5), ("p99_ms", 0.99))}  # fmt: skip


def _echo(r: int, w: int) -> None:
    while (b := os.read(r, 1)) and b != b"q":
        os.write(w, b)


def timed(send: Callable[[], Any], gap_s: float, n: int) -> list[float]:
    pause = threading.Event()  # never set: wait() is the idle gap between sends
    xs = []
    for _ in range(n):
        if gap_s:
            pause.wait(gap_s)
        t = time.monotonic_ns()
        send()
        xs.append(time.monotonic_ns() - t)
    return xs


def main(emit: Any) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sends", type=int, default=300, help="sends per (chain, gap) cell")
    args = ap.parse_args()
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    import ray

    pipes = [os.pipe() for _ in range(4)]
    echoes = [mp.Process(target=_echo, args=(pipes[i][0], pipes[i + 1][1]), daemon=True)
              for i in range(3)]  # fmt: skip
    for p in echoes:
        p.start()

    def pipe_send() -> None:
        os.write(pipes[0][1], b"x")
        os.read(pipes[3][0], 1)

    start_local_ray()  # as `fractal live` starts Ray

    @ray.remote(num_cpus=0)
    class Hop:
        def __init__(self, nxt: Any) -> None:
            self.nxt = nxt

        def f(self) -> None:
            if self.nxt is not None:
                ray.get(self.nxt.f.remote())

    head = Hop.remote(Hop.remote(Hop.remote(None)))
    ray.get(head.f.remote())
    cells: dict[str, dict[str, list[float]]] = {"pipe_chain": {}, "ray_chain": {}}
    for _ in range(2):  # alternated: host drift hits every cell alike
        for gap in GAPS_S:
            for name, send in (("pipe_chain", pipe_send),
                               ("ray_chain", lambda: ray.get(head.f.remote()))):  # fmt: skip
                cells[name].setdefault(f"gap_{gap * 1e3:g}ms", []).extend(
                    timed(send, gap, args.sends)
                )
    os.write(pipes[0][1], b"q")
    for p in echoes:
        p.kill()
    ray.shutdown()
    out = {"probe": "idle_wake", "cpus": os.cpu_count(), "hops": 3, "sends_per_cell": 2 * args.sends,
           **{name: {g: pcts(xs) for g, xs in by_gap.items()} for name, by_gap in cells.items()}}  # fmt: skip
    emit(json.dumps(out, indent=1))


if __name__ == "__main__":
    with reserved_stdout() as emit:
        main(emit)
