"""SMC strategies benchmark: liquidity_sweep and bos_orderblock per 1M bars, parts timed apart.

Run: ``.venv/bin/python tests/bench/bench_strategies.py`` (``make bench``). Prints one JSON object.
Protocol (docs/research.md §12): one data file (seed-42 random walk, sha256 recorded), each task
in a fresh subprocess (peak RSS from ru_maxrss), first calls (numba cache load, or compile with
an empty cache) timed apart from the median of N warm calls. Per strategy at 1M bars:

* ``detect``: the strategy's detector columns from the causal SMC core
  (``live.detect_columns``, what ``generate`` runs without cached detections; research caches
  detections per detector parameters, so reported apart); ``detect_frame_s``: one full
  ``detect()`` frame, for comparison;
* ``signal``: ``generate(df, params, detections=det)`` — input matrix + numba kernel + Signals
  validation; ``kernel`` the kernel alone;
* ``backtest_s``: ``run_backtest`` with default costs and risk sizing;
* ``stream_us_per_bar``: the live form (SMCStream + kernel) per bar, and the kernel's share.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.harness import rss_mb, timed  # noqa: E402
from tests.bench.synthetic import load_frame, save  # noqa: E402

N = 1_000_000
STREAM_N = 50_000
STRATEGIES = ("liquidity_sweep", "bos_orderblock")


def _first(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def task_batch(name: str, data: Path, n: int, repeat: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    import numpy as np

    from research.backtest.bars import Bars
    from research.backtest.config import BacktestConfig
    from research.backtest.runner import run_backtest
    from strategies import live, registry
    from strategies.smc.pipeline import detect

    import_s = time.perf_counter() - t0
    module = registry.get(name)
    params = module.Params()
    df = load_frame(data, n)
    bars = Bars.from_arrays(
        df["open"], df["high"], df["low"], df["close"], timeframe="1m",
        ts=df.index.as_unit("ms").asi8,
    )  # fmt: skip
    dp = params.detector_params()
    spec = module.spec(params)
    det, det_first = _first(lambda: live.detect_columns(df, spec.columns, dp))
    x = live.input_matrix(df, det, spec.columns)
    _, kernel_first = _first(lambda: live.run_kernel(spec, x))
    sig, signal_first = _first(lambda: module.generate(df, params, detections=det))
    cfg = BacktestConfig()
    res, bt_first = _first(lambda: run_backtest(bars, sig, cfg))
    out = {
        "n": n,
        "import_s": import_s,
        "first_call_s": {
            "detect": det_first, "kernel": kernel_first, "signal": signal_first,
            "backtest": bt_first,
        },
        "detect": timed(lambda: live.detect_columns(df, spec.columns, dp), max(3, repeat // 2)),
        "detect_frame_s": _first(lambda: detect(df, **dp))[1],
        "signal": timed(lambda: module.generate(df, params, detections=det), repeat),
        "kernel": timed(lambda: live.run_kernel(spec, x), repeat),
        "backtest": timed(lambda: run_backtest(bars, sig, cfg), repeat),
        "entry_rows": int(np.count_nonzero(sig.entry)),
        "trades": int(res.metrics["trade_count"]),
        "profit_factor": res.metrics["profit_factor"],
        "peak_rss_mb": rss_mb(),
    }  # fmt: skip
    return out


def task_stream(name: str, data: Path, n: int, repeat: int) -> dict[str, Any]:
    from strategies import registry
    from strategies.smc import SMCStream

    module = registry.get(name)
    df = load_frame(data, n + 2000)
    rows = df.to_numpy()
    times = df.index.as_unit("ms").asi8.astype(float)
    warm = module.stream()
    for k in range(2000):  # compile / cache load apart
        warm.update(times[k], *rows[k])
    per_bar, smc_only = [], []
    for _ in range(repeat):
        s = module.stream()
        gc.collect()
        t0 = time.perf_counter()
        for k in range(n):
            s.update(times[k], *rows[k])
        per_bar.append((time.perf_counter() - t0) / n * 1e6)
        d = SMCStream(**module.Params().detector_params())
        gc.collect()
        t0 = time.perf_counter()
        for k in range(n):
            d.update_arrays(times[k], *rows[k])
        smc_only.append((time.perf_counter() - t0) / n * 1e6)
    return {
        "n": n,
        "us_per_bar_median": statistics.median(per_bar),
        "smc_stream_us_per_bar_median": statistics.median(smc_only),
        "runs": repeat,
        "peak_rss_mb": rss_mb(),
    }


def task_compile(name: str, data: Path, n: int, repeat: int) -> dict[str, Any]:
    """First calls with an empty numba cache (set by the parent): pure JIT compile cost."""
    t0 = time.perf_counter()
    from strategies import live, registry
    from strategies.smc.pipeline import detect

    module = registry.get(name)
    params = module.Params()
    df = load_frame(data, n)
    det, det_s = _first(lambda: detect(df, **params.detector_params()))
    spec = module.spec(params)
    x = live.input_matrix(df, det, spec.columns)
    _, kernel_s = _first(lambda: live.run_kernel(spec, x))
    return {
        "cold_detect_first_s": det_s,
        "cold_kernel_first_s": kernel_s,
        "cold_total_s": time.perf_counter() - t0,
    }


TASKS = {"batch": task_batch, "stream": task_stream, "compile": task_compile}


def run_task(
    task: str, name: str, data: Path, n: int, repeat: int, env: dict[str, str] | None = None
) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--task", task, "--strategy", name, "--data", str(data),
           "--n", str(n), "--repeat", str(repeat)]  # fmt: skip
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=ROOT
    )
    if proc.returncode != 0:
        raise RuntimeError(f"task {task} {name} n={n} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--task", choices=sorted(TASKS))
    ap.add_argument("--strategy", choices=STRATEGIES)
    ap.add_argument("--data", type=Path)
    ap.add_argument("--n", type=int, default=N)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    if args.task:
        print(json.dumps(TASKS[args.task](args.strategy, args.data, args.n, args.repeat)))
        return

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="fractal-bench-") as tmp:
        data = Path(tmp) / "walk.npz"
        sha = save(data, args.n + 2000)
        for name in STRATEGIES:
            cold = run_task(
                "compile", name, data, 2_000, 1, {"NUMBA_CACHE_DIR": str(Path(tmp) / f"c-{name}")}
            )
            batch = run_task("batch", name, data, args.n, args.repeat)
            stream = run_task("stream", name, data, STREAM_N, 3)
            per_m = 1e6 / args.n
            results[name] = {
                "per_1M_bars_s": {
                    "detect": batch["detect"]["median_s"] * per_m,
                    "signal": batch["signal"]["median_s"] * per_m,
                    "kernel": batch["kernel"]["median_s"] * per_m,
                    "backtest": batch["backtest"]["median_s"] * per_m,
                },
                "batch": batch,
                "stream": stream,
                "cold": cold,
            }
    report = {
        "benchmark": "smc_strategies",
        "data": {"kind": "seed-42 random walk, 1m bars (tests/bench/synthetic.py)", "n": args.n,
                 "sha256": sha},
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg": os.getloadavg(),
            "numba_threads": os.environ.get("NUMBA_NUM_THREADS", "default"),
        },
        "strategies": results,
    }  # fmt: skip
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
