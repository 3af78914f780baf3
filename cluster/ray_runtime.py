"""The one place that starts or joins Ray (research sweeps now, the live system later).

``address=None`` starts an embedded local Ray (no dashboard: -0.95 GB RSS, docs/research.md §3);
``"auto"`` or ``HOST:PORT`` joins a running cluster. If this process already runs Ray (a test
session, a notebook), that instance is reused: Ray is started once per process, never per sweep.
Ray's own log lines go to stderr at WARNING, and worker output is not forwarded, so a command's
stdout stays machine-readable.
"""

from __future__ import annotations

import logging
import os
from typing import Any


class RayStartError(RuntimeError):
    """Ray could not be started or joined (the message names the address)."""


def ensure_ray(address: str | None = None, num_cpus: int | None = None) -> Any:
    """Start or join Ray once for this process and return the ``ray`` module."""
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    import ray

    if ray.is_initialized():
        return ray
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.WARNING,
        "configure_logging": True,
    }
    if address:
        kwargs.pop("include_dashboard")
        kwargs["address"] = address
    elif num_cpus is not None:
        kwargs["num_cpus"] = num_cpus
    for attempt in (1, 2):
        try:
            ray.init(**kwargs)
            return ray
        except Exception as err:  # noqa: BLE001 - Ray raises bare Exception on a startup timeout
            # the raylet must register within a fixed 30 s; on an overloaded machine a second
            # attempt (binaries and libraries now in the page cache) usually makes it
            ray.shutdown()
            if attempt == 2 or address or "timed out during startup" not in str(err):
                where = address or "a local instance"
                raise RayStartError(f"cannot start or join Ray at {where}: {err}") from None
    return ray


def cpu_count() -> int:
    """CPUs Ray may schedule on (at least 1)."""
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", 1)))
