"""The one place that starts or joins Ray, for `fractal sweep` and `fractal live` alike.

``--address`` takes three forms:

* none (default): an embedded local Ray, started for this process (no dashboard: -0.95 GB RSS,
  docs/research.md §3). It is started with ``address="local"`` so a cluster that happens to run
  on the machine (Ray records the last ``ray start`` in ``/tmp/ray/ray_current_cluster``) is never
  joined by surprise. Inside ``ray job submit`` (``RAY_ADDRESS`` set by the job) the job's
  cluster is used instead: that is what submitting a job means.
* ``auto``: the cluster started on this machine with ``ray start`` (Ray's own discovery).
* ``HOST:PORT``: the head's GCS port (``ray start --head --port``). The port is probed with a
  plain TCP connect first, so an unreachable head fails in ``timeout_s``, not after Ray's own
  minute of retries.

If this process already runs Ray (a test session, a notebook), that instance is reused: Ray is
started once per process, never per sweep. Ray's log lines go to stderr at WARNING and worker
output is not forwarded, so a command's stdout stays machine-readable.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from dataclasses import dataclass
from typing import Any

# Ray's own bookkeeping that only its dashboard, state API or a profiler reads: task events,
# metrics, the timeline, event-loop stats. The embedded Ray has no dashboard, so nothing reads
# them, yet every actor call paid for them. Measured on the live path (issue #15, bench_live,
# five alternated pairs on 2 vCPUs): bar close -> order accepted p99 65.7 -> 59.0 ms (median of
# the pairs; every pair better, by 2.7-8.4 ms), a no-op actor call's p99 2.2 -> 1.6 ms, ~3 ms
# less CPU per live close. A cluster keeps its own configuration (its dashboard reads them).
EMBEDDED_SYSTEM_CONFIG: dict[str, Any] = {
    "event_stats": False,
    "task_events_report_interval_ms": 0,
    "enable_metrics_collection": False,
    "enable_timeline": False,
}
HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})$")
CONNECT_TIMEOUT_S = 10.0


class RayStartError(RuntimeError):
    """The embedded Ray could not start (the machine, not the user: exit code 1)."""


class RayAddressError(RayStartError):
    """A bad or unreachable ``--address`` (the user's input: exit code 2)."""


@dataclass(frozen=True)
class Address:
    """A parsed ``--address``: ``kind`` is ``local``, ``job``, ``auto`` or ``remote``."""

    kind: str
    target: str | None = None  # what ray.init(address=...) receives
    host: str | None = None
    port: int | None = None

    @property
    def joins_cluster(self) -> bool:
        return self.kind != "local"


def parse_address(text: str | None, environ: dict[str, str] | None = None) -> Address:
    """``None``/``local`` -> embedded (or the job's cluster), ``auto``, or ``HOST:PORT``."""
    env = os.environ if environ is None else environ
    value = (text or "").strip()
    if value in ("", "local"):
        job = env.get("RAY_ADDRESS", "").strip()
        if value == "" and job:  # running as a `ray job submit` entrypoint (or told so)
            m = HOST_PORT.match(job.removeprefix("ray://"))
            if m is None:  # e.g. "auto": Ray resolves it
                return Address("job", job)
            return Address("job", m.group(0), m.group("host").strip("[]"), int(m.group("port")))
        return Address("local", "local")
    if value == "auto":
        return Address("auto", "auto")
    return _remote(value)


def _remote(value: str) -> Address:
    m = HOST_PORT.match(value)
    if m is None or not 0 < int(m.group("port")) < 65536:
        hint = "auto or HOST:PORT (the head's GCS port, e.g. 10.0.0.5:6379)"
        raise RayAddressError(f"--address {value!r} is not {hint}")
    return Address("remote", value, m.group("host").strip("[]"), int(m.group("port")))


def probe(addr: Address, timeout_s: float) -> None:
    """Fail fast, naming the address, when nothing listens at HOST:PORT."""
    if addr.host is None or addr.port is None:
        return
    try:
        with socket.create_connection((addr.host, addr.port), timeout=timeout_s):
            pass
    except OSError as err:
        raise RayAddressError(
            f"no Ray head reachable at {addr.target} within {timeout_s:g} s ({err}); "
            "start one with `ray start --head --port PORT` or check the address"
        ) from None


def init_kwargs(addr: Address, num_cpus: int | None, namespace: str | None) -> dict[str, Any]:
    """``ray.init`` arguments: an embedded Ray has no dashboard and none of the bookkeeping
    only a dashboard reads (:data:`EMBEDDED_SYSTEM_CONFIG`); a cluster is joined as it is."""
    kwargs: dict[str, Any] = {
        "address": addr.target,
        "namespace": namespace,
        "log_to_driver": False,
        "logging_level": logging.WARNING,
        "configure_logging": True,
    }
    if not addr.joins_cluster:
        kwargs["include_dashboard"] = False
        kwargs["_system_config"] = dict(EMBEDDED_SYSTEM_CONFIG)
        if num_cpus is not None:
            kwargs["num_cpus"] = num_cpus
    return kwargs


def ensure_ray(
    address: str | None = None,
    num_cpus: int | None = None,
    namespace: str | None = None,
    timeout_s: float = CONNECT_TIMEOUT_S,
) -> Any:
    """Start or join Ray once for this process and return the ``ray`` module.

    ``num_cpus`` sizes an embedded Ray only (a cluster has its own resources). ``namespace``
    is where named actors live: the live system's detached actors are found by name there.
    """
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    addr = parse_address(address)
    import ray

    if ray.is_initialized():
        return ray
    probe(addr, timeout_s)
    kwargs = init_kwargs(addr, num_cpus, namespace)
    for attempt in (1, 2):
        try:
            ray.init(**kwargs)
            return ray
        except Exception as err:  # noqa: BLE001 - Ray raises bare Exception on a startup timeout
            # the raylet must register within a fixed 30 s; on an overloaded machine a second
            # attempt (binaries and libraries now in the page cache) usually makes it
            ray.shutdown()
            if addr.joins_cluster:
                where = addr.target or "auto"
                raise RayAddressError(f"cannot join the Ray cluster at {where}: {err}") from None
            if attempt == 2 or "timed out during startup" not in str(err):
                raise RayStartError(f"cannot start a local Ray instance: {err}") from None
    return ray


def cpu_count() -> int:
    """CPUs Ray may schedule on (at least 1)."""
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", 1)))
