"""A real multi-node Ray cluster on 127.0.0.1 for the cluster scenarios (tests and benchmark).

Why ``ray.cluster_utils.Cluster`` and not ``ray start`` processes: every node it starts is a
``Node`` object of this process, so a node is killed by its own pids (``remove_node``) and the
whole cluster by ``shutdown`` (a reaper also kills them if this process dies), never by
``ray stop``, which would kill every Ray on the machine, other sessions' included.

The environment is set before Ray is imported and is inherited by every Ray process and job:
* ``RAY_TMPDIR``: sessions, sockets and Ray's "current cluster" file live under this run's own
  directory, so no other ``ray.init()`` on the machine discovers (and joins) this cluster;
* ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``: every node binds 127.0.0.1 (Ray then refuses a
  ``ray start --address`` join, which only the CLI checks: ``Cluster`` adds nodes directly);
* ``RAY_AUTH_MODE=disabled``: a throwaway cluster; Ray 2.60's token auth otherwise needs the
  token on every client (docs/research.md §4);
* ``RAY_raylet_start_wait_time_s``: a node on a loaded machine may need more than Ray's 30 s.

Scenarios run in a subprocess of pytest (tests/cluster/scenarios.py): the test session's own
Ray (tests/conftest.py ``ray_session``) is one per process, and a driver of this cluster needs
a process of its own.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NODE_STORE_BYTES = 200 * 2**20  # per node; the sweeps here pass a few MB


def cluster_env(ray_tmp: Path) -> dict[str, str]:
    """The variables every process of a test cluster (and its drivers and jobs) runs with."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        "RAY_TMPDIR": str(ray_tmp),
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_AUTH_MODE": "disabled",
        # the raylet must register within 30 s by default: not on 2 cores shared by a test run
        "RAY_raylet_start_wait_time_s": "180",
        "RAY_DISABLE_USAGE_STATS": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),  # jobs run `python` of the venv
        "PYTHONPATH": str(PROJECT_ROOT),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalCluster:
    cluster: Any
    head: Any
    workers: list[Any] = field(default_factory=list)
    dashboard_url: str | None = None
    _added: int = 0

    @property
    def address(self) -> str:
        return str(self.cluster.address)

    def add_worker(self, num_cpus: int = 1, **resources: float) -> Any:
        # nodes on one machine share the session directory: each needs its own runtime-env
        # directory, or a node's runtime-env agent garbage-collects the job's working_dir files
        # that another node (the head, running the job's driver) is still using
        self._added += 1
        node = self.cluster.add_node(
            num_cpus=num_cpus, resources=resources or None, object_store_memory=NODE_STORE_BYTES,
            node_ip_address="127.0.0.1", runtime_env_dir_name=f"runtime_resources_{self._added}",
        )  # fmt: skip
        self.workers.append(node)
        return node

    def kill(self, node: Any) -> None:
        """SIGKILL the node's processes (raylet, object store, its workers): a node failure."""
        self.cluster.remove_node(node, allow_graceful=False)
        self.workers.remove(node)

    def pids(self) -> list[int]:
        out: list[int] = []
        for node in (self.head, *self.workers):
            for infos in node.all_processes.values():
                out.extend(i.process.pid for i in infos if i.process is not None)
        return out


@contextmanager
def local_cluster(
    head_cpus: int = 0, dashboard: bool = False, **head_resources: float
) -> Iterator[LocalCluster]:
    """A head on 127.0.0.1 (``head_cpus`` CPUs, optional dashboard for ``ray job submit``);
    add workers with ``add_worker``. Every process is stopped, and the Ray directory removed,
    on the way out. The directory is short (``/tmp/rcXXXXXXXX``): Ray's unix sockets live
    under it and a socket path may not exceed 107 bytes."""
    ray_tmp = Path(tempfile.mkdtemp(prefix="rc"))
    (ray_tmp / "ray").mkdir()
    os.environ.update(cluster_env(ray_tmp))
    from ray.cluster_utils import Cluster

    head_args: dict[str, Any] = {
        "num_cpus": head_cpus, "resources": head_resources or None,
        "object_store_memory": NODE_STORE_BYTES, "node_ip_address": "127.0.0.1",
        "include_dashboard": dashboard, "temp_dir": str(ray_tmp / "ray"),
        # the agent's HTTP port (job submission) defaults to 52365: any other Ray may hold it
        "dashboard_agent_listen_port": free_port(),
    }  # fmt: skip
    url = None
    if dashboard:
        port = free_port()
        head_args.update(dashboard_host="127.0.0.1", dashboard_port=port)
        url = f"http://127.0.0.1:{port}"
    cluster = None
    try:
        cluster = Cluster(initialize_head=True, head_node_args=head_args)
        yield LocalCluster(cluster, cluster.head_node, dashboard_url=url)
    finally:
        import ray

        ray.shutdown()
        if cluster is not None:
            cluster.shutdown()
        shutil.rmtree(ray_tmp, ignore_errors=True)
