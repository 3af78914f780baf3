"""Cluster scenarios on a real multi-node Ray on 127.0.0.1, run in their own process.

``python -m tests.cluster.scenarios OUT.json WORK_DIR PHASE...`` starts one cluster (head without
CPUs, the ``fractal_state`` resource and, for ``ray job submit``, the dashboard; two 1-CPU
workers), runs the phases in order and writes what each observed to OUT.json (an exception is
recorded per phase, so one failing phase does not hide the others). Every Ray process is stopped
by its pid on the way out (tests/cluster/local_cluster.py).

Phases:
* ``job``: the sweep of ``SWEEP_ARGS`` submitted with ``ray job submit --working-dir``;
* ``kill``: the sweep of ``KILL_ARGS`` run with ``fractal sweep --address``; the first worker
  node is SIGKILLed as soon as the first batch is on disk, and a replacement node joins;
* ``live``: the paper live system on the cluster; the node hosting the BTC StrategyRunner is
  SIGKILLed once an order was placed; the runner must come back on another node and go on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cluster.local_cluster import PROJECT_ROOT, LocalCluster, local_cluster

STRATEGY_ARGS = ["--strategy", "bos_orderblock", "--timeframe", "15m", "--symbol", "BTC"]
SWEEP_ARGS = [*STRATEGY_ARGS, "--param", "internal_length=3:6:1", "--param", "rr=2:3:1"]
# many detector groups = many tasks: work is certainly left when the first batch lands
KILL_ARGS = [*STRATEGY_ARGS, "--param", "internal_length=3:10:1", "--param",
             "swing_length=20:60:10", "--param", "rr=2:3:1"]  # fmt: skip
SLICE_BARS = 3000
TIMEOUT_S = 600.0


def wait_until(pred: Callable[[], Any], timeout_s: float, what: str, every_s: float = 0.05) -> Any:
    """Poll ``pred`` until truthy (a condition wait, never a fixed sleep)."""
    tick = threading.Event()
    deadline = time.monotonic() + timeout_s
    while True:
        out = pred()
        if out:
            return out
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
        tick.wait(every_s)


def code_version() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         cwd=PROJECT_ROOT, timeout=30)  # fmt: skip
    return out.stdout.strip() or "unknown"


def sweep_env(data_dir: Path) -> dict[str, str]:
    return {"FRACTAL_DATA_DIR": str(data_dir), "FRACTAL_CODE_VERSION": code_version(),
            "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip


# ----- job: `ray job submit -- python -m cluster.cli sweep ...` ---------------------------------
def phase_job(lc: LocalCluster, work: Path, data: Path) -> dict[str, Any]:
    data_dir = work / "job-data"
    runtime_env = {"env_vars": sweep_env(data_dir),
                   "excludes": ["/data/", "mlruns/"]}  # fmt: skip
    cmd = ["ray", "job", "submit", "--address", str(lc.dashboard_url), "--submission-id",
           "fractal-sweep-job", "--working-dir", str(PROJECT_ROOT), "--runtime-env-json",
           json.dumps(runtime_env), "--", "python", "-m", "cluster.cli", "sweep", *SWEEP_ARGS,
           "--data", str(data), "--json"]  # fmt: skip

    def submit() -> subprocess.CompletedProcess[str] | None:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
        if "No available agent" in res.stderr:  # the head's job agent is still starting
            return None
        return res

    t0 = time.monotonic()
    res = wait_until(submit, 180, "the head's job agent to accept a job", every_s=1.0)
    summary = _summary(data_dir)
    return {"returncode": res.returncode, "succeeded": "succeeded" in res.stdout + res.stderr,
            "log_tail": _tail(res.stdout + res.stderr), "seconds": time.monotonic() - t0,
            "data_dir": str(data_dir), "summary": summary}  # fmt: skip


def _tail(log: str) -> str:
    """The first traceback of a job's log (else its end): Ray appends its own lines after it."""
    at = log.find("Traceback")
    return log[at : at + 4000] if at >= 0 else log[-3000:]


def _summary(data_dir: Path) -> dict[str, Any] | None:
    found = sorted((data_dir / "sweeps").glob("*/summary.json"))
    return json.loads(found[0].read_text()) if found else None


# ----- kill: `fractal sweep --address` with a worker node killed mid-sweep ----------------------
def phase_kill(lc: LocalCluster, work: Path, data: Path) -> dict[str, Any]:
    data_dir = work / "kill-data"
    env = {**os.environ, **sweep_env(data_dir)}
    cmd = [sys.executable, "-m", "cluster.cli", "sweep", *KILL_ARGS, "--data", str(data),
           "--address", lc.address, "--json"]  # fmt: skip
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        parts = lambda: sorted((data_dir / "sweeps").glob("*/parts/part-*.parquet"))  # noqa: E731
        first = wait_until(lambda: parts() or proc.poll() is not None, TIMEOUT_S, "a first batch")
        if proc.poll() is not None:
            raise RuntimeError(f"the sweep ended before any batch: {proc.communicate()[1][-2000:]}")
        victim = lc.workers[0]
        lc.kill(victim)  # SIGKILL its raylet, object store and workers
        killed_at = time.monotonic() - t0
        rows_at_kill = _rows(parts())
        lc.add_worker(1)  # the autoscaler's replacement for a lost spot node
        out, err = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    try:
        summary = json.loads(out) if proc.returncode == 0 else None
    except json.JSONDecodeError as err:
        raise RuntimeError(f"stdout is not one JSON document ({err}):\n{out[-3000:]}") from None
    return {"returncode": proc.returncode, "stderr_tail": err[-3000:], "first_parts": len(first),
            "rows_at_kill": rows_at_kill, "killed_at_s": killed_at, "part_rows": _rows(parts()),
            "part_ids": _ids(parts()), "seconds": time.monotonic() - t0,
            "data_dir": str(data_dir), "summary": summary}  # fmt: skip


def _rows(paths: list[Path]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.read_metadata(p).num_rows for p in paths)


def _ids(paths: list[Path]) -> list[str]:
    import pyarrow.parquet as pq

    return [
        i for p in paths for i in pq.read_table(p, columns=["variant_id"]).column(0).to_pylist()
    ]


# ----- live: the paper system across nodes, the node of a runner killed -------------------------
def phase_live(lc: LocalCluster, work: Path, data: Path) -> dict[str, Any]:
    from tests.cluster.live_scenario import run_live_scenario

    return run_live_scenario(lc, work / "live")


PHASES: dict[str, Callable[[LocalCluster, Path, Path], dict[str, Any]]] = {
    "job": phase_job, "kill": phase_kill, "live": phase_live,
}  # fmt: skip


def main(out_path: Path, work: Path, phases: list[str]) -> None:
    from tests.research.helpers import write_slice

    data = write_slice(work / "market", bars=SLICE_BARS)
    results: dict[str, Any] = {}
    t0 = time.monotonic()
    with local_cluster(head_cpus=0, dashboard="job" in phases, fractal_state=1) as lc:
        lc.add_worker(1)
        lc.add_worker(1)
        results["cluster_up_s"] = time.monotonic() - t0
        for name in phases:
            try:
                results[name] = PHASES[name](lc, work, data)
            except Exception:  # recorded: the test of that phase fails with it
                results[name] = {"error": traceback.format_exc()[-4000:]}
            out_path.write_text(json.dumps(results, default=str))
    results["total_s"] = time.monotonic() - t0
    out_path.write_text(json.dumps(results, default=str))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
