"""Run a list of variants on Ray: shared inputs put once, batched tasks, rows appended as
batches finish, finished variants skipped, Ctrl-C keeps what finished.

Batch size comes from the measured per-variant cost (``NS_PER_BAR``: signals + one engine
pass with the equity record, ≈ 15-25 ns per bar on the 2-core dev VM for the SMC strategies;
``NS_PER_BAR_FUSED`` for sma_cross in the fused grid kernel):
a task should run ≈ ``TASK_SECONDS`` so Ray's 1-6 ms per task stays far below 1 %, with at
least ``MIN_BATCH`` variants when the sweep is big enough, and never fewer tasks than cores.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from research.backtest.config import BacktestConfig
from research.backtest.runner import metrics_from_stats
from research.sweep import batch
from research.sweep.detector_cache import cache_key
from research.sweep.plan import Variant
from research.sweep.results import RETURNS_COLUMN, ResultsStore

NS_PER_BAR = 20.0
NS_PER_BAR_FUSED = 4.0  # sma_cross in the fused grid kernel, one thread
TASK_SECONDS = 3.0
MIN_BATCH = 100


class SweepError(ValueError):
    """A variant failed on bad input (e.g. risk sizing without stops): exit code 2."""


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; the finished batches are kept."""

    def __init__(self, computed: int) -> None:
        super().__init__(f"interrupted after {computed} variants")
        self.computed = computed


@dataclass
class RunStats:
    computed: int = 0
    skipped: int = 0
    tasks: int = 0
    wall_seconds: float = 0.0
    kernel_seconds: float = 0.0  # summed over tasks (evaluation + detection)
    kernel_cpu_seconds: float = 0.0  # the same tasks' CPU time (what an idle machine would take)
    detect_seconds: float = 0.0
    cache_hits: int = 0  # detector matrices read from the disk cache
    cache_misses: int = 0  # detector matrices computed
    detector_sets: int = 0  # distinct (dataset, detector parameters) needed this run
    cpus: int = 1
    worker_peak_rss_mb: float = 0.0  # the largest peak RSS of one task
    extra: dict[str, Any] = field(default_factory=dict)

    def add_detection(self, info: dict[str, Any]) -> None:
        """Count one detector matrix (read from the cache or computed)."""
        self.kernel_seconds += info["seconds"]
        self.kernel_cpu_seconds += info.get("cpu_seconds", 0.0)
        self.detect_seconds += info["seconds"]
        self.cache_hits += info["hit"]
        self.cache_misses += not info["hit"]
        self.worker_peak_rss_mb = max(self.worker_peak_rss_mb, info.get("peak_rss_mb", 0.0))


def _ns_per_bar(strategy: str, detector: Any) -> float:
    """Measured per-variant cost per bar of the path batch.evaluate takes."""
    return NS_PER_BAR_FUSED if strategy == "sma_cross" and detector is None else NS_PER_BAR


def batch_size(n_bars: int, group: int, cpus: int, ns_per_bar: float = NS_PER_BAR) -> int:
    """Variants per task for a group of ``group`` variants on ``n_bars`` bars: about
    ``TASK_SECONDS`` of work (at least ``MIN_BATCH`` variants), split so that every round of
    tasks fills every core (10 tasks on 2 cores, not 7 with the last one alone)."""
    per = max(math.ceil(TASK_SECONDS / (ns_per_bar * 1e-9 * max(n_bars, 1))), MIN_BATCH)
    rounds = math.ceil(group / (cpus * per))
    return max(1, math.ceil(group / (cpus * rounds)))


def _ordered(strategy: str, members: list[Variant]) -> list[Variant]:
    """sma_cross variants sorted by (slow, fast): a task then computes the SMA rows of a
    slice of the slow windows, not of all of them (each task computes the rows it uses)."""
    if strategy != "sma_cross":
        return members
    return sorted(members, key=lambda v: (v.params.get("slow", 0), v.params.get("fast", 0)))


def _rows(
    variants: Sequence[Variant], out: dict[str, Any], strategy: str, config: BacktestConfig
) -> pd.DataFrame:
    recs = []
    cash = config.initial_cash
    costs = config.costs
    for v, st, rets in zip(variants, out["stats"], out["period_returns"], strict=True):
        ds = v.dataset
        met = metrics_from_stats(st, cash, ds.bars, float(ds.arrays["ppy"]))
        rec: dict[str, Any] = {
            "variant": v.index, "variant_id": v.id, "strategy": strategy,
            "symbol": ds.symbol, "timeframe": ds.timeframe, "dataset": ds.digest[:16],
            "source": ds.source, "bars": ds.bars, "ppy": float(ds.arrays["ppy"]),
        }  # fmt: skip
        rec.update({f"param_{k}": val for k, val in v.params.items()})
        rec.update(
            {"taker_fee": costs.taker_fee, "maker_fee": costs.maker_fee,
             "slippage_bps": costs.slippage_bps, "funding": costs.funding,
             "sizing": config.sizing, "leverage": config.leverage, "cash": cash,
             "risk_percent": config.risk_percent}
        )  # fmt: skip
        rec.update(met)
        rec["trades"] = int(met["trade_count"])
        rec[RETURNS_COLUMN] = np.asarray(rets, dtype=np.float64)
        recs.append(rec)
    return pd.DataFrame(recs)


def _cause(err: Exception) -> Exception:
    return getattr(err, "cause", None) or err


def run_variants(
    strategy: str,
    variants: Sequence[Variant],
    config: BacktestConfig,
    store: ResultsStore,
    cache_dir: Path | None,
    progress: bool = True,
    on_batch: Callable[[int], None] | None = None,
) -> RunStats:
    """Compute every variant not yet in ``store``; rows are appended batch by batch."""
    import ray
    from ray.exceptions import RayTaskError
    from tqdm import tqdm

    from research.sweep import tasks

    t0 = time.perf_counter()
    finished = store.finished_ids()
    todo = list({v.id: v for v in variants if v.id not in finished}.values())
    stats = RunStats(skipped=len({v.id for v in variants}) - len(todo))
    stats.cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    if not todo:
        stats.wall_seconds = time.perf_counter() - t0
        return stats
    cdir = str(cache_dir) if cache_dir is not None else None
    ds_refs: dict[str, Any] = {}
    groups: dict[tuple[str, Any], list[Variant]] = defaultdict(list)
    for v in todo:
        if v.dataset.digest not in ds_refs:
            ds_refs[v.dataset.digest] = ray.put(v.dataset.arrays)
        groups[(v.dataset.digest, v.detector)].append(v)
    inflight: dict[Any, list[Variant]] = {}
    detect_infos: list[Any] = []
    for (digest, det), members in groups.items():
        ds = members[0].dataset
        members = _ordered(strategy, members)
        data = ds_refs[digest]
        periods = batch.periods_for(ds.bars)
        size = batch_size(ds.bars, len(members), stats.cpus, _ns_per_bar(strategy, det))
        chunks = [members[i : i + size] for i in range(0, len(members), size)]
        jobs = [batch.Job(strategy, [v.params for v in c], config, periods) for c in chunks]
        if det is None:
            for c, job in zip(chunks, jobs, strict=True):
                inflight[tasks.evaluate_task.remote(job, data, None)] = c
            continue
        stats.detector_sets += 1
        det_params, columns = json.loads(det[0]), list(det[1])
        detection = tasks.Detection(
            cdir, cache_key(ds.candles_digest, det_params, columns), det_params, columns
        )
        if len(chunks) == 1:
            inflight[tasks.detect_evaluate_task.remote(jobs[0], data, detection)] = chunks[0]
            continue
        refs: Any = tasks.detect_task.remote(data, detection)  # num_returns=2
        x_ref, info_ref = refs
        detect_infos.append(info_ref)
        for c, job in zip(chunks, jobs, strict=True):
            inflight[tasks.evaluate_task.remote(job, data, x_ref)] = c
    stats.tasks = len(inflight) + len(detect_infos)
    bar = tqdm(
        total=len(variants), initial=stats.skipped, unit="variant", file=sys.stderr,
        disable=not progress, dynamic_ncols=True, smoothing=0.1,
    )  # fmt: skip
    try:
        while inflight:
            done, _ = ray.wait(list(inflight), num_returns=1)
            for ref in done:
                members = inflight.pop(ref)
                try:
                    out = ray.get(ref)
                except RayTaskError as err:
                    raise SweepError(f"{strategy}: {_cause(err)}") from None
                store.append(_rows(members, out, strategy, config))
                stats.computed += len(members)
                stats.kernel_seconds += out["seconds"]
                stats.kernel_cpu_seconds += out["cpu_seconds"]
                stats.worker_peak_rss_mb = max(stats.worker_peak_rss_mb, out["peak_rss_mb"])
                if "detect" in out:
                    stats.add_detection(out["detect"])
                bar.update(len(members))
                if on_batch is not None:
                    on_batch(stats.computed)
        for info in ray.get(detect_infos):
            stats.add_detection(info)
    except KeyboardInterrupt:
        for ref in inflight:
            ray.cancel(ref, force=True)
        raise SweepInterrupted(stats.computed) from None
    except BaseException:
        for ref in inflight:
            ray.cancel(ref, force=True)
        raise
    finally:
        bar.close()
        stats.wall_seconds = time.perf_counter() - t0
    return stats
