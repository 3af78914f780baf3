"""The Ray remote functions of a sweep (thin: the work is in batch.py and detector_cache.py).

Each task takes one CPU and runs numba on one thread: the task count fills the cores, and a
task that spawned its own threads would only contend with its neighbours.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import ray

from research.sweep import batch, detector_cache

CACHE_CAP_BYTES = int(float(os.environ.get("FRACTAL_DETECTOR_CACHE_GB", "4")) * 2**30)
# a one-variant group's matrix is written only when small: at 1M bars it is ~100 MB, and
# writing one per variant of a sweep whose every variant has its own detector parameters
# would cost more disk time than detecting again
SOLO_WRITE_BYTES = 32 * 2**20


def _task_start() -> None:
    """One numba thread; the process's peak-RSS mark restarted, so each task reports its own."""
    import numba

    numba.set_num_threads(1)
    batch.reset_peak_rss()


def _prune(cache_dir: Path | None) -> None:
    """Keep the disk cache under its cap, oldest entries first (races with a neighbour's
    prune are harmless: a vanished file is simply skipped)."""
    if cache_dir is None or not cache_dir.is_dir():
        return
    entries = []
    for p in cache_dir.glob("*.npy"):
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        entries.append((st.st_mtime, st.st_size, p))
    total = sum(e[1] for e in entries)
    for _, size, p in sorted(entries):
        if total <= CACHE_CAP_BYTES:
            break
        p.unlink(missing_ok=True)
        total -= size


@dataclass(frozen=True)
class Detection:
    """Where one detector matrix comes from: its cache key, parameters and columns."""

    cache_dir: str | None
    key: str
    params: Mapping[str, Any]
    columns: Sequence[str]


def _matrix(
    data: Mapping[str, Any], det: Detection, solo: bool = False
) -> tuple[np.ndarray, dict[str, Any]]:
    cdir = Path(det.cache_dir) if det.cache_dir else None
    ohlc = (data["open"], data["high"], data["low"], data["close"])
    size = data["close"].shape[0] * (len(ohlc) + len(det.columns)) * 8
    write = not solo or size <= SOLO_WRITE_BYTES
    x, info = detector_cache.load_or_compute(
        cdir, det.key, data["det_bars"], ohlc, det.params, det.columns, write
    )
    if not info["hit"]:
        _prune(cdir)
    info["peak_rss_mb"] = batch.peak_rss_mb()
    return x, info


@ray.remote(num_cpus=1, num_returns=2)
def detect_task(data: Mapping[str, Any], det: Detection) -> tuple[np.ndarray, dict[str, Any]]:
    """The detector matrix for one (dataset, detector parameters), into the object store."""
    _task_start()
    return _matrix(data, det)


@ray.remote(num_cpus=1)
def evaluate_task(job: batch.Job, data: Mapping[str, Any], x: np.ndarray | None) -> dict[str, Any]:
    """A batch of variants on a shared (object-store) detector matrix, or none."""
    _task_start()
    return batch.evaluate(job, data, x)


@ray.remote(num_cpus=1)
def detect_evaluate_task(job: batch.Job, data: Mapping[str, Any], det: Detection) -> dict[str, Any]:
    """Detection and a small batch in one task: a group that fits one batch never sends its
    matrix (8 bytes x bars x columns) through the object store."""
    _task_start()
    x, info = _matrix(data, det, solo=len(job.params) == 1)
    out = batch.evaluate(job, data, x)
    out["detect"] = info
    return out
