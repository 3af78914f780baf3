"""Benchmark: research sweeps on local Ray (issue #16; docs/research.md §2, §5, §11, §12).

Run: `.venv/bin/python tests/bench/bench_sweep.py [--bars N] ...`; prints one JSON object.
Full size (the targets): `--bars 1000000` (default) with 10 detector sets x 100 strategy sets
of bos_orderblock (<= 120 s end to end), 1,000 variants with their own detector parameters
(<= 600 s), Ray overhead <= 10 % (wall x cpus / summed task kernel time - 1), the 1,000-pair
sma_cross grid through the sweep runner against vectorbt in chunks of 100 (>= 100x the
bar-variants/s at <= 1 GB peak), and Optuna ask/tell trials/s with the journal storage (>= 40).
The sma section times vectorbt twice: `vectorbt_pipeline` is research.md §2's chunked anchor
(vectorbt computes its own MAs and crossings, simulates, counts: the job the runner does;
tests/bench/vbt_pipeline.py) and gives `ratio_vs_pipeline`, the figure the target is stated
against; `vectorbt_chunk` hands vectorbt our precomputed signals and times only its simulation
(`ratio_bar_variants_per_s`: a stricter lower bound, reported beside it).
A reduced run (`--bars 100000 --det-sets 2 --own 20 --vbt-variants 50`) checks the harness.

Protocol: one data set (seed-42 random walk, sha256 recorded) for every section; Ray started
once and timed apart; a small warm-up sweep first (numba cache loads in the workers) reported
apart; every sweep runs in a fresh data directory (cold detector cache, no finished rows) with
MLflow on for the bos sections (end to end) and off for the sma runner section (the runner is
what is compared); vectorbt runs in a fresh subprocess (peak RSS = its ru_maxrss). The load
average is recorded: on the shared dev VM the absolute seconds move with it, the ratios less.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

START_MS = 1_704_067_200_000


def _bench_backtest() -> Any:
    spec = importlib.util.spec_from_file_location(
        "bench_backtest", Path(__file__).with_name("bench_backtest.py")
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _vbt_pipeline(npz: Path, variants: int, chunks: int) -> dict[str, Any]:
    """research.md's chunked vectorbt anchor (tests/bench/vbt_pipeline.py) in a fresh process."""
    import subprocess

    script = Path(__file__).with_name("vbt_pipeline.py")
    cmd = [sys.executable, str(script), "--data", str(npz), "--variants", str(variants),
           "--chunk", "100", "--max-chunks", str(chunks)]  # fmt: skip
    load0 = os.getloadavg()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    res: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    res["load_avg_start"], res["load_avg_end"] = load0, os.getloadavg()
    return res


def _candles(npz: Path, n: int) -> pd.DataFrame:
    z = np.load(npz)
    return pd.DataFrame(
        {"timestamp": START_MS + 60_000 * np.arange(n, dtype=np.int64),
         **{c: z[c][:n] for c in ("open", "high", "low", "close", "volume")}}
    )  # fmt: skip


def _dataset(candles: pd.DataFrame, config: Any) -> Any:
    from research.backtest.bars import Bars
    from research.sweep.dataset import build

    return build(candles, Bars.from_frame(candles, "1m"), None, config, "WALK", "seed-42 walk")


def _sweep(strategy: str, params: list[str], datasets: list[Any], config: Any, mlflow: bool,
           root: Path) -> dict[str, Any]:  # fmt: skip
    from research.sweep.batch import peak_rss_mb, reset_peak_rss
    from research.sweep.space import Space
    from research.sweep.sweep import SweepRequest, run_sweep
    from strategies import registry

    req = SweepRequest(
        strategy=strategy, method="grid",
        space=Space.parse(registry.get(strategy).Params, params), config=config,
        datasets=datasets, data_dir=Path(tempfile.mkdtemp(dir=root)), progress=False,
        mlflow=mlflow,
    )  # fmt: skip
    load0 = os.getloadavg()
    reset_peak_rss()  # the driver's peak during this sweep only
    t0 = time.perf_counter()
    out = run_sweep(req)
    wall = time.perf_counter() - t0
    t = out["timing"]
    n = datasets[0].bars
    return {
        "variants": out["variants"], "computed": out["computed"], "bars": n,
        "load_avg_start": load0, "load_avg_end": os.getloadavg(),
        "end_to_end_s": wall, "runner_wall_s": t["wall_s"], "kernel_s": t["kernel_s"],
        "kernel_cpu_s": t["kernel_cpu_s"], "detect_s": t["detect_s"], "tasks": t["tasks"],
        "cpus": t["cpus"],
        "ray_overhead": t["wall_s"] * t["cpus"] / t["kernel_s"] - 1 if t["kernel_s"] else None,
        # what the runner would take on an idle machine: the tasks' CPU seconds over the cores
        # (no Ray overhead, no report or MLflow; CPU time is what a loaded machine inflates least)
        "idle_projection_runner_s": t["kernel_cpu_s"] / t["cpus"],
        "variants_per_s": out["computed"] / wall, "bar_variants_per_s": n * out["computed"] / wall,
        "runner_variants_per_s": out["computed"] / t["wall_s"],
        "runner_bar_variants_per_s": n * out["computed"] / t["wall_s"],
        "detector_cache": out["detector_cache"],
        "worker_task_peak_rss_mb": t["worker_peak_rss_mb"],
        "driver_peak_rss_mb": peak_rss_mb(),
        "dsr": out["dsr"], "pbo": out["pbo"], "results": out["results"],
    }  # fmt: skip


def _partial(report: dict[str, Any], section: str) -> None:
    """Each section on stderr as it finishes: a long run cut short keeps what it measured."""
    print(json.dumps({section: report.get(section)}, default=str), file=sys.stderr, flush=True)


def _spread(lo: int, count: int, step: int) -> str:
    return f"{lo}:{lo + (count - 1) * step}:{step}"


def bench_optuna(trials: int, batch: int, root: Path) -> dict[str, Any]:
    """Batched ask/tell with a cheap objective: journal file vs in-memory storage."""
    import optuna

    from research.sweep.optuna_study import journal_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = {}
    for name, storage in (("journal", journal_storage(root / "optuna" / "bench.log")),
                          ("memory", None)):  # fmt: skip
        study = optuna.create_study(study_name=f"bench-{name}", storage=storage,
                                    sampler=optuna.samplers.RandomSampler(seed=1))  # fmt: skip
        t0 = time.perf_counter()
        done = 0
        while done < trials:
            asked = [study.ask() for _ in range(min(batch, trials - done))]
            for t in asked:
                x = t.suggest_float("x", -5, 5)
                y = t.suggest_int("y", 1, 100)
                study.tell(t, (x - 1) ** 2 + 1 / y)
            done += len(asked)
        out[f"{name}_trials_per_s"] = trials / (time.perf_counter() - t0)
    out["trials"], out["batch"] = trials, batch
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--det-sets", type=int, default=10, help="detector sets (x --per-set)")
    ap.add_argument("--per-set", type=int, default=100, help="strategy sets per detector set")
    ap.add_argument("--own", type=int, default=1000, help="variants with own detector params")
    ap.add_argument("--sma-variants", type=int, default=1000)
    ap.add_argument("--vbt-variants", type=int, default=100, help="vectorbt subset (one chunk)")
    ap.add_argument("--vbt-pipeline-chunks", type=int, default=2,
                    help="chunks of 100 timed for vectorbt's own MA+signals+simulate pipeline")  # fmt: skip
    ap.add_argument("--optuna-trials", type=int, default=400)
    ap.add_argument("--sections", default="bos10,bos_own,sma,optuna")
    a = ap.parse_args()
    sections = set(a.sections.split(","))

    from cluster.ray_runtime import ensure_ray
    from research.backtest.config import BacktestConfig
    from research.backtest.costs import CostModel

    bb = _bench_backtest()
    root = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    npz = root / "walk.npz"
    sha = bb.make_data(a.bars, npz)
    report: dict[str, Any] = {
        "bench": "sweep", "bars": a.bars, "data_sha256": sha, "cpu_count": os.cpu_count(),
        "load_avg_start": os.getloadavg(), "python": platform.python_version(),
    }  # fmt: skip
    t0 = time.perf_counter()
    ensure_ray()
    report["ray_init_s"] = time.perf_counter() - t0
    candles = _candles(npz, a.bars)
    bos_cfg = BacktestConfig()  # costs on: fees, 1 bp slippage; risk sizing
    ds = _dataset(candles, bos_cfg)
    warm_candles = candles.iloc[:20_000].reset_index(drop=True)
    warm = _dataset(warm_candles, bos_cfg)
    t0 = time.perf_counter()
    _sweep("bos_orderblock", ["rr=2:3:1"], [warm], bos_cfg, True, root)
    # each Ray worker loads the sma kernels from the numba cache on its first sma batch
    sma_cfg = BacktestConfig(
        sizing="all_in",
        costs=CostModel(taker_fee=bb.FEE, maker_fee=bb.FEE, slippage_bps=0.0, funding=False),
    )  # fmt: skip
    _sweep("sma_cross", ["fast=5:10:5", "slow=20:40:20"], [_dataset(warm_candles, sma_cfg)],
           sma_cfg, False, root)  # fmt: skip
    report["warmup_s"] = time.perf_counter() - t0

    if "sma" in sections:
        sma_ds = _dataset(candles, sma_cfg)
        fast, slow = bb.grid_pairs(a.sma_variants)
        pairs = sorted(set(zip(fast.tolist(), slow.tolist(), strict=True)))
        params = [f"fast={','.join(str(f) for f in sorted({p[0] for p in pairs}))}",
                  f"slow={','.join(str(s) for s in sorted({p[1] for p in pairs}))}"]  # fmt: skip
        ours = _sweep("sma_cross", params, [sma_ds], sma_cfg, False, root)
        load0 = os.getloadavg()
        both = bb.spawn("vbt", str(npz), ["--variants", str(a.vbt_variants), "--repeat", "1"])
        vbt = both.get("grid", both)  # vectorbt's single run is timed too; only its grid is used
        vbt["load_avg_start"], vbt["load_avg_end"] = load0, os.getloadavg()
        # peak memory of the runner's processes during the sweep: the driver, and each task
        # (a task's RSS counts the object-store pages it read; `cpus` tasks run at once)
        mem = {"driver_mb": ours["driver_peak_rss_mb"], "task_mb": ours["worker_task_peak_rss_mb"]}
        mem["largest_process_mb"] = max(mem.values())
        mem["driver_plus_concurrent_tasks_mb"] = mem["driver_mb"] + ours["cpus"] * mem["task_mb"]
        report["sma_grid"] = {"ours": ours, "vectorbt_chunk": vbt, "peak_rss": mem,
                              "target_ratio": 100.0, "target_peak_mb": 1024.0}  # fmt: skip
        if "grid" in vbt:
            table = pd.read_parquet(ours["results"])
            key = dict(zip(zip(table["param_fast"], table["param_slow"], strict=True),
                           table["trades"], strict=True))  # fmt: skip
            f2, s2 = bb.grid_pairs(a.vbt_variants)
            ours_counts = [int(key[(int(f), int(s))]) for f, s in zip(f2, s2, strict=True)]
            report["sma_grid"]["parity_trades_equal"] = ours_counts == vbt["trades_per_variant"]
            report["sma_grid"]["ratio_bar_variants_per_s"] = (
                ours["runner_bar_variants_per_s"] / vbt["bar_variants_per_s"]
            )
            # the whole sweep (PBO/DSR/walk-forward report and the parquet table included)
            report["sma_grid"]["ratio_end_to_end"] = (
                ours["bar_variants_per_s"] / vbt["bar_variants_per_s"]
            )
            pipe = _vbt_pipeline(npz, a.sma_variants, a.vbt_pipeline_chunks)
            report["sma_grid"]["vectorbt_pipeline"] = pipe
            if "bar_variants_per_s" in pipe:
                got = pipe["trades_per_variant"]
                f3, s3 = bb.grid_pairs(len(got))
                ref = [int(key[(int(f), int(s))]) for f, s in zip(f3, s3, strict=True)]
                report["sma_grid"]["pipeline_trades_max_rel_diff"] = max(
                    abs(x - y) / max(y, 1) for x, y in zip(got, ref, strict=True)
                )
                report["sma_grid"]["ratio_vs_pipeline"] = (
                    ours["runner_bar_variants_per_s"] / pipe["bar_variants_per_s"]
                )
            _partial(report, "sma_grid")
    if "optuna" in sections:
        report["optuna"] = bench_optuna(a.optuna_trials, 32, root)
        _partial(report, "optuna")
    if "bos10" in sections:
        per_rr = max(1, a.per_set // 10)
        params = [f"swing_length={_spread(20, a.det_sets, 10)}",
                  f"max_wait={_spread(10, min(10, a.per_set), 10)}",
                  f"cooldown={_spread(0, per_rr, 5)}"]  # fmt: skip
        r = _sweep("bos_orderblock", params, [ds], bos_cfg, True, root)
        r["target_s"] = 120.0 * (r["variants"] * a.bars) / 1e9
        report["bos_10x100"] = r
        _partial(report, "bos_10x100")
    if "bos_own" in sections:
        sw = max(1, a.own // 10)
        params = [f"swing_length={_spread(20, sw, 1)}",
                  f"internal_length={_spread(3, min(10, a.own), 1)}"]  # fmt: skip
        r = _sweep("bos_orderblock", params, [ds], bos_cfg, True, root)
        r["target_s"] = 600.0 * (r["variants"] * a.bars) / 1e9
        report["bos_own_detectors"] = r
        _partial(report, "bos_own_detectors")
    report["load_avg_end"] = os.getloadavg()
    print(json.dumps(report, default=str))


if __name__ == "__main__":
    main()
