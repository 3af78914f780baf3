"""SMC core benchmark: causal full set vs smartmoneyconcepts 0.0.27, scaling, streaming cost.

Run: ``.venv/bin/python tests/bench/bench_smc.py`` (``make bench``). Prints one JSON object.
Protocol (docs/research.md §12): one data file for every task (sha256 recorded), each task in
a fresh subprocess (peak RSS from ru_maxrss), first call (JIT compile / cache load) timed
apart, median of N warm calls. Ours runs its independent concept nodes on every usable core
(``threads`` in the output); the numpy core is also timed on one thread
(``FRACTAL_SMC_THREADS=1``) so the per-core speed is on record. The reference is one thread. Targets (issue #3): ≥ 400× the package's full set at 100k bars,
≤ 1 s warm at 1M bars, cost linear in n (exponent 100k→1M ≤ 1.05), streaming ≤ 20 µs/bar.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from strategies.smc._schedule import default_threads  # noqa: E402
from tests.bench.harness import rss_mb, timed  # noqa: E402
from tests.bench.synthetic import load_frame, save  # noqa: E402

SIZES = (100_000, 300_000, 1_000_000)
REF_N = 100_000


def task_ours(data: Path, n: int, repeat: int) -> dict:
    t0 = time.perf_counter()
    from strategies.smc import detect

    import_s = time.perf_counter() - t0
    df = load_frame(data, n)
    t0 = time.perf_counter()
    det = detect(df)
    first_s = time.perf_counter() - t0
    columns = det.shape[1]
    del det  # timed calls should not share memory with a frame kept alive
    res = timed(lambda: detect(df), repeat)
    res.update(import_s=import_s, first_call_s=first_s, columns=columns, n=n, peak_rss_mb=rss_mb())
    return res


def task_core(data: Path, n: int, repeat: int) -> dict:
    """The numpy core (every concept's output arrays, no pandas frame): what research uses."""
    from strategies.smc import bars_from_frame, detect_arrays, make_params

    df = load_frame(data, n)
    bars, p = bars_from_frame(df), make_params()
    # the bench's own knob, passed in (strategies/ never reads the environment)
    threads = int(os.environ.get("FRACTAL_SMC_THREADS") or 0) or None
    t0 = time.perf_counter()
    outs = detect_arrays(bars, p, threads=threads)
    first_s = time.perf_counter() - t0
    out_mb = sum(o.nbytes for o in outs.values()) / 1e6
    del outs
    res = timed(lambda: detect_arrays(bars, p, threads=threads), repeat)
    res.update(first_call_s=first_s, output_mb=out_mb, n=n, peak_rss_mb=rss_mb())
    return res


def task_reference(data: Path, n: int, repeat: int) -> dict:
    os.environ["SMC_CREDIT"] = "0"
    from smartmoneyconcepts import smc

    df = load_frame(data, n)

    def full_set() -> None:
        shl = smc.swing_highs_lows(df, swing_length=5)
        smc.fvg(df)
        smc.bos_choch(df, shl)
        smc.ob(df, shl)
        smc.liquidity(df, shl)
        smc.retracements(df, shl)
        smc.previous_high_low(df, time_frame="1D")
        smc.sessions(df, session="London")

    res = timed(full_set, repeat)
    res.update(n=n, peak_rss_mb=rss_mb())
    return res


def task_stream(data: Path, n: int, repeat: int) -> dict:
    from strategies.smc import SMCStream

    df = load_frame(data, n)
    arr = df.to_numpy()
    times = df.index.as_unit("ms").asi8.astype(float)
    warm = SMCStream()
    for k in range(2000):  # compile / cache load apart
        warm.update_arrays(times[k], *arr[k])
    per_bar = []
    for _ in range(repeat):
        s = SMCStream()
        gc.collect()
        t0 = time.perf_counter()
        for k in range(n):
            s.update_arrays(times[k], *arr[k])
        per_bar.append((time.perf_counter() - t0) / n * 1e6)
    return {
        "n": n,
        "us_per_bar_median": statistics.median(per_bar),
        "us_per_bar_min": min(per_bar),
        "runs": repeat,
        "peak_rss_mb": rss_mb(),
    }


def task_compile(data: Path, n: int, repeat: int) -> dict:
    """First call with an empty numba cache (set by the parent): pure JIT compile cost."""
    t0 = time.perf_counter()
    from strategies.smc import detect

    df = load_frame(data, n)
    detect(df)
    return {"cold_compile_s": time.perf_counter() - t0}


TASKS = {
    "ours": task_ours,
    "core": task_core,
    "reference": task_reference,
    "stream": task_stream,
    "compile": task_compile,
}


def run_task(name: str, data: Path, n: int, repeat: int, env: dict | None = None) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--task",
        name,
        "--data",
        str(data),
        "--n",
        str(n),
        "--repeat",
        str(repeat),
    ]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=ROOT
    )
    if proc.returncode != 0:
        raise RuntimeError(f"task {name} n={n} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--task", choices=sorted(TASKS))
    ap.add_argument("--data", type=Path)
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--ref-repeat", type=int, default=1, help="package runs at 100k (≈41 s each)")
    args = ap.parse_args()
    if args.task:
        print(json.dumps(TASKS[args.task](args.data, args.n, args.repeat)))
        return

    with tempfile.TemporaryDirectory(prefix="fractal-bench-") as tmp:
        data = Path(tmp) / "walk.npz"
        sha = save(data, max(SIZES))
        cold = run_task("compile", data, 2_000, 1, {"NUMBA_CACHE_DIR": str(Path(tmp) / "cold")})
        ours = {n: run_task("ours", data, n, args.repeat) for n in SIZES}
        core = {n: run_task("core", data, n, args.repeat) for n in SIZES}
        one = {"FRACTAL_SMC_THREADS": "1"}
        core_1t = {n: run_task("core", data, n, args.repeat, one) for n in (REF_N, max(SIZES))}
        ref = run_task("reference", data, REF_N, args.ref_repeat)
        stream = run_task("stream", data, 200_000, 3)
    t100, t1m = ours[100_000]["median_s"], ours[1_000_000]["median_s"]
    c100, c1m = core[100_000]["median_s"], core[1_000_000]["median_s"]
    exponent = math.log(t1m / t100) / math.log(10)
    ratio = ref["median_s"] / t100
    report = {
        "benchmark": "smc_core",
        "data": {"kind": "seed-42 random walk, 1m bars (docs/smc.md §8)", "sha256": sha},
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg": os.getloadavg(),
        },
        "reference_full_set_100k_s": ref["median_s"],
        "ours_full_set": {str(n): ours[n] for n in SIZES},
        "ours_core_arrays": {str(n): core[n] for n in SIZES},
        "ours_core_arrays_1_thread": {str(n): r for n, r in core_1t.items()},
        "threads": default_threads(),
        "ratio_vs_reference_100k": ratio,
        "ratio_core_vs_reference_100k": ref["median_s"] / c100,
        "ratio_core_1_thread_vs_reference_100k": ref["median_s"] / core_1t[REF_N]["median_s"],
        "core_1M_warm_s": c1m,
        "core_1M_warm_1_thread_s": core_1t[max(SIZES)]["median_s"],
        "exponent_core_100k_to_1M": math.log(c1m / c100) / math.log(10),
        "ours_1M_warm_s": t1m,
        "exponent_100k_to_1M": exponent,
        "first_call_cache_load_s": ours[100_000]["first_call_s"],
        "cold_compile_s": cold["cold_compile_s"],
        "stream_us_per_bar": stream["us_per_bar_median"],
        "targets": {
            "ratio_vs_reference_100k>=400": ratio >= 400,
            "ratio_core_vs_reference_100k>=400": ref["median_s"] / c100 >= 400,
            "ours_1M_warm<=1s": t1m <= 1.0,
            "core_1M_warm<=1s": c1m <= 1.0,
            "exponent<=1.05": exponent <= 1.05,
            "stream<=20us": stream["us_per_bar_median"] <= 20.0,
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
