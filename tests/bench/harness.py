"""Timing helpers shared by the benchmark scripts (docs/research.md §12: GC off while timing,
median / min / IQR of repeated calls, peak RSS of the measuring process)."""

from __future__ import annotations

import gc
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any


def rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    """Run ``fn`` ``repeat`` times with GC off during each call."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        gc.enable()
    q = statistics.quantiles(times, n=4) if len(times) >= 2 else [times[0]] * 3
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "iqr_s": q[2] - q[0],
        "runs": repeat,
    }


def start_local_ray(num_cpus: int = 2) -> None:
    """The one embedded Ray of a benchmark, configured as ``fractal live`` starts it (no
    dashboard, none of its bookkeeping: ``cluster.ray_runtime.EMBEDDED_SYSTEM_CONFIG``)."""
    import ray

    from cluster.ray_runtime import EMBEDDED_SYSTEM_CONFIG

    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
             _system_config=dict(EMBEDDED_SYSTEM_CONFIG))  # fmt: skip
