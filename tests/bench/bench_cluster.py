"""Benchmark: the scheduling cost of a real cluster (issue #21; docs/research.md §3-4).

Run: `.venv/bin/python tests/bench/bench_cluster.py [--bars N] [--repeats R]`; prints one JSON
object. The same sweep runs on two clusters of this machine, each started the same way
(``ray.cluster_utils.Cluster`` on 127.0.0.1, tests/cluster/local_cluster.py):

* anchor: one node with 2 CPUs (what the embedded local Ray is);
* cluster: two nodes with 1 CPU each (a head and a worker: two raylets, two object stores,
  the shared OHLCV fetched by the second node from the first).

Both are driven by ``fractal sweep --address`` in a subprocess (the driver a cluster user runs);
throughput is the sweep's own ``variants_per_s`` (the runner's wall time: tasks, transfers and
result rows, without data loading or MLflow). Per cluster: a warm-up sweep first (workers load
the numba cache; reported apart), then ``--repeats`` measured sweeps, each in a fresh data
directory (no finished rows, a cold detector cache). Target: cluster / anchor >= 0.90.
The load average is recorded: on the shared dev VM the absolute figures move with it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

GRID = ["--strategy", "bos_orderblock", "--timeframe", "15m", "--symbol", "BTC",
        "--param", "internal_length=3:10:1", "--param", "rr=1:4:0.5"]  # fmt: skip
WARMUP = ["--strategy", "bos_orderblock", "--timeframe", "15m", "--symbol", "BTC",
          "--param", "internal_length=3:4:1", "--param", "rr=2:3:1"]  # fmt: skip


def _sweep(address: str, data: Path, args: list[str], data_dir: Path) -> dict[str, Any]:
    env = {**os.environ, "FRACTAL_DATA_DIR": str(data_dir)}
    res = subprocess.run(
        [sys.executable, "-m", "cluster.cli", "sweep", *args, "--data", str(data),
         "--address", address, "--top", "0", "--json"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    if res.returncode != 0:
        raise RuntimeError(f"sweep failed ({res.returncode}): {res.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(res.stdout)
    return out


def _layout(name: str, data: Path, work: Path, repeats: int) -> dict[str, Any]:
    from tests.cluster.local_cluster import local_cluster

    t0 = time.monotonic()
    head_cpus, workers = (2, 0) if name == "anchor" else (1, 1)
    with local_cluster(head_cpus=head_cpus) as lc:
        for _ in range(workers):
            lc.add_worker(1)
        up = time.monotonic() - t0
        warm = _sweep(lc.address, data, WARMUP, work / f"{name}-warm")
        runs = [_sweep(lc.address, data, GRID, work / f"{name}-{i}") for i in range(repeats)]
    rates = [r["timing"]["variants_per_s"] for r in runs]
    return {
        "nodes": 1 + workers, "cpus": runs[0]["timing"]["cpus"], "cluster_up_s": up,
        "warmup_wall_s": warm["timing"]["wall_s"], "variants": runs[0]["variants"],
        "tasks": runs[0]["timing"]["tasks"], "variants_per_s": rates,
        "median_variants_per_s": statistics.median(rates),
        "wall_s": [r["timing"]["wall_s"] for r in runs],
        "kernel_s": [r["timing"]["kernel_s"] for r in runs],
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=16000, help="15m bars of the shipped BTC file")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    from tests.research.helpers import write_slice

    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        work = Path(tmp)
        data = write_slice(work / "market", bars=a.bars)
        load0 = os.getloadavg()
        anchor = _layout("anchor", data, work, a.repeats)
        cluster = _layout("cluster", data, work, a.repeats)
        load1 = os.getloadavg()
    ratio = cluster["median_variants_per_s"] / anchor["median_variants_per_s"]
    print(json.dumps({
        "bench": "cluster", "bars": a.bars, "grid": GRID, "repeats": a.repeats,
        "anchor_1node_2cpu": anchor, "cluster_2nodes_1cpu": cluster,
        "ratio_cluster_over_anchor": ratio, "target_ratio_min": 0.90, "meets_target": ratio >= 0.90,
        "loadavg_before": load0, "loadavg_after": load1, "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
