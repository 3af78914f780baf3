"""A real multi-node Ray on 127.0.0.1: `ray job submit` of a sweep, a worker node killed
mid-sweep, the live paper system losing the node of a StrategyRunner.

Why a subprocess (tests/cluster/scenarios.py) and not the session's Ray: this process already
runs the session-wide local Ray (``ray_session``, one per process); a driver of another cluster
needs its own process. One cluster serves the scenarios of the selected tests (a cluster costs
20-60 s to start on this 2-core machine); the scenario host stops every Ray process it started by
pid, and this test kills the host's process group if it overruns.

`make test` runs the kill and live scenarios (a sweep on the cluster through `--address` equal to
the local sweep, a worker node lost mid-sweep, a runner's node lost live); the `ray job submit`
scenario is `slow` (`make test-all`): its job runs from an uploaded copy of the checkout and
numba's cache is keyed by source path, so the kernels compile again for the job (the phase takes
50-100 s here), while the kill scenario already checks a sweep run on this cluster against the
local sweep, row for row.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.cluster.local_cluster import PROJECT_ROOT
from tests.cluster.scenarios import KILL_ARGS, SWEEP_ARGS, code_version
from tests.research.helpers import sweep

SCENARIO_TIMEOUT_S = 1200
# test -> the scenario phase it asserts on (tests/cluster/scenarios.py PHASES)
PHASE_OF = {
    "test_ray_job_submit_sweep_equals_the_local_sweep": "job",
    "test_a_worker_node_killed_mid_sweep_loses_and_repeats_no_variant": "kill",
    "test_live_runner_moves_off_a_dead_node_without_a_duplicate_order": "live",
}


@pytest.fixture(scope="module")
def scenario(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    # only the phases of this module's selected tests (`-m "not slow"` deselects the job test)
    selected = {item.name for item in request.session.items
                if getattr(item, "module", None) is request.module}  # fmt: skip
    phases = [phase for test, phase in PHASE_OF.items() if test in selected]
    assert phases, "the scenario fixture is used by no selected test"
    work = tmp_path_factory.mktemp("cluster")
    out = work / "out.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.cluster.scenarios", str(out), str(work), *phases],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own process group: killed as one if it overruns
    )  # fmt: skip
    try:
        log, _ = proc.communicate(timeout=SCENARIO_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        log, _ = proc.communicate()
    assert out.exists(), f"the scenario host wrote nothing (exit {proc.returncode}):\n{log[-4000:]}"
    res: dict[str, Any] = json.loads(out.read_text())
    res["work"] = work
    res["host_log"] = log[-4000:]
    return res


def _phase(scenario: dict[str, Any], name: str) -> dict[str, Any]:
    ph = scenario.get(name)
    assert ph is not None, f"phase {name} did not run:\n{scenario['host_log']}"
    assert "error" not in ph, ph["error"]
    return ph  # type: ignore[no-any-return]


def _local(args: list[str], data: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The same sweep on the session's embedded local Ray (this test's own data dir)."""
    monkeypatch.setenv("FRACTAL_CODE_VERSION", code_version())
    code, out, err = sweep(*args, "--data", str(data))
    assert code == 0 and out is not None, err
    return out


def _mlflow(summary: dict[str, Any]) -> dict[str, Any]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(summary["tracking_uri"])
    parent = client.get_run(summary["mlflow_run_id"])
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'"
    )
    timing = {"variants_per_s"}
    return {
        "params": parent.data.params,
        "metrics": {k: v for k, v in parent.data.metrics.items() if k not in timing},
        "artifacts": sorted(f.path for f in client.list_artifacts(parent.info.run_id)),
        "children": sorted(
            (
                c.data.params["rank"],
                tuple(sorted(c.data.params.items())),
                tuple(sorted(c.data.metrics.items())),
            )
            for c in children
        ),  # fmt: skip
    }


def _table(summary: dict[str, Any]) -> pd.DataFrame:
    return pd.read_parquet(summary["results"]).sort_values("variant_id").reset_index(drop=True)


@pytest.mark.slow  # make test-all: see the module docstring
@pytest.mark.usefixtures("ray_session")
def test_ray_job_submit_sweep_equals_the_local_sweep(
    scenario: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _phase(scenario, "job")
    assert job["returncode"] == 0 and job["succeeded"], job["log_tail"]
    remote = job["summary"]
    assert remote is not None, job["log_tail"]
    local = _local(SWEEP_ARGS, scenario["work"] / "market" / "hyperliquid_BTCUSDC_15m.csv.gz",
                   monkeypatch)  # fmt: skip
    assert remote["variants"] == local["variants"] == remote["computed"] > 0
    assert remote["timing"]["cpus"] == 2  # the two workers' CPUs, the head has none
    pd.testing.assert_frame_equal(_table(remote), _table(local))
    for k in ("sweep_id", "dsr", "pbo", "psr", "best", "verdict"):
        assert remote[k] == local[k], k
    assert _mlflow(remote) == _mlflow(local)


@pytest.mark.usefixtures("ray_session")
def test_a_worker_node_killed_mid_sweep_loses_and_repeats_no_variant(
    scenario: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    kill = _phase(scenario, "kill")
    assert kill["returncode"] == 0, kill["stderr_tail"]
    s = kill["summary"]
    # killed mid-sweep: work was left for the surviving and the replacement node
    assert 0 < kill["rows_at_kill"] < s["variants"]
    ids = kill["part_ids"]
    assert len(ids) == len(set(ids)) == s["variants"] == s["rows"]  # none twice, none missing
    local = _local(KILL_ARGS, scenario["work"] / "market" / "hyperliquid_BTCUSDC_15m.csv.gz",
                   monkeypatch)  # fmt: skip
    assert sorted(ids) == sorted(_table(local)["variant_id"])
    pd.testing.assert_frame_equal(_table(s), _table(local))


def test_live_runner_moves_off_a_dead_node_without_a_duplicate_order(
    scenario: dict[str, Any],
) -> None:
    live = _phase(scenario, "live")
    head, workers = live["head"], set(live["workers"])
    # placement: every state actor on the node owning the journal, runners spread on workers
    assert set(live["state_nodes"].values()) == {head}
    before = live["runner_nodes_before"]
    assert set(before.values()) <= workers and len(set(before.values())) == len(before)
    assert live["detached"]
    # the BTC runner's node died; Ray restarted the runner on a live node and it went on
    node, state, restarts = live["runner_after"]
    assert live["killed_node"] == before["BTC"] and node not in (live["killed_node"], head)
    assert state == "ALIVE" and restarts >= 1
    assert live["state_after"]["last_ms"] > live["state_before"]["last_ms"]
    # the driver disconnected: the detached actors traded on; --stop-running stopped them
    assert "fractal-keeper" in live["named_while_disconnected"]
    code, stdout, stderr = live["stop_running"]
    assert code == 0, stderr
    assert live["named_after_stop"] == []
    # no duplicate order: one intent per (signal, purpose), no cloid filled beyond its intent
    intents = live["intents"]
    assert intents, "no order was placed"
    assert not [k for k, n in Counter((sid, p) for _, sid, p, _ in intents if sid).items() if n > 1]
    size = {cloid: sz for cloid, _, _, sz in intents}
    filled: dict[str, float] = defaultdict(float)
    for cloid, sz in live["venue_fills"]:
        if cloid is not None:
            filled[cloid] += sz
    for cloid, total in filled.items():
        # the venue rounds to its lot size (< 0.1 % here); a second order would double the fill
        assert cloid in size and total <= size[cloid] * 1.001, (cloid, total, size.get(cloid))
