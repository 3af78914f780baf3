"""Benchmark: our numba backtest engine vs vectorbt (research.md §1, §11, §12).

Run: `.venv/bin/python tests/bench/bench_backtest.py [--bars N] [--variants V]`; prints one
JSON object. Every measured task runs in a fresh subprocess (peak RSS = ru_maxrss of that
process) on the same saved data (sha256 recorded). First calls (JIT compile or numba cache
load) are reported apart from warm timings (median of N calls, GC off during each call).

Workload: seed-42 geometric random walk of 1-minute bars (σ 5e-4, start 100, open = previous
close, high/low widened by |N(0, 2e-4)|), long-only SMA crossover, all-in, fee 0.05 %/side, no
slippage or funding. Our fills are at the next bar's open; vectorbt gets the signals shifted
by one bar and `price=open`, which is the same fill. Parity gate: identical trade counts.

Timed regions (same work on both sides; signals are precomputed on both sides unless named):
- single, simulation: our kernel writing trade records vs vectorbt `from_signals` (which
  simulates and writes order records; everything else in a Portfolio is lazy);
- single, full: our `run_backtest` (trade table with UTC times, 17 headline metrics; the
  per-bar curves are lazy, built on first access) vs vectorbt `from_signals` + trade records
  + total return, Sharpe, Sortino and max drawdown (`vbt_full`); `from_signals` alone is
  reported next to it;
- grid: our fused sma_cross grid (`run_sma_grid`: SMAs and crossings computed inside, from the
  closes) vs vectorbt `from_signals` on precomputed signal frames + trade counts + total
  returns; the general path (generate_grid arrays + run_grid) is reported apart.

Before/after (`--ref REF`, e.g. `--ref main`): the tree at git REF is exported to a temp dir and
the engine's public paths (run_backtest single, fused and general grids, an SMC strategy with
stops, a 4h run with funding prints inside the bars) are timed on both trees, round by round
in fresh subprocesses alternating the trees (§12.5); the JSON gets each side's medians and the
median per-round ratio ref/ours (> 1: ours is faster). `--ab-only` skips everything else.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

FEE = 0.0005
SINGLE = (20, 100)


def make_data(n: int, path: Path) -> str:
    rng = np.random.default_rng(42)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 5e-4, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0.0, 2e-4, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0.0, 2e-4, n)))
    volume = rng.lognormal(3.0, 1.0, n)
    np.savez(path, open=open_, high=high, low=low, close=close, volume=volume)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def grid_pairs(variants: int) -> tuple[np.ndarray, np.ndarray]:
    """research.md §1 grid, slow-major: slow ∈ {60, 65, …, 555} × fast ∈ {5, 10, …, 50}.

    The first `variants` pairs, so any prefix (e.g. vectorbt's subset) is the same pairs."""
    fast = np.arange(5, 55, 5)
    slow = 60 + 5 * np.arange(-(-variants // fast.size))
    s, f = np.meshgrid(slow, fast, indexing="ij")
    return f.ravel()[:variants], s.ravel()[:variants]


def timed(fn: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
        gc.enable()
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def stats(ts: list[float]) -> dict[str, float]:
    q1, q3 = np.percentile(ts, [25, 75])
    return {"median_s": median(ts), "min_s": min(ts), "iqr_s": float(q3 - q1), "n": len(ts)}


def load(path: str) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


# ---------------------------------------------------------------- tasks (one per subprocess)


def task_ours_single(data: str, repeat: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    from research.backtest import engine as k
    from research.backtest.bars import Bars
    from research.backtest.config import BacktestConfig
    from research.backtest.costs import CostModel
    from research.backtest.runner import run_backtest
    from strategies import sma_cross

    t_import = time.perf_counter() - t0
    d = load(data)
    bars = Bars.from_arrays(d["open"], d["high"], d["low"], d["close"], timeframe="1m")
    cfg = BacktestConfig(
        sizing="all_in", costs=CostModel(taker_fee=FEE, slippage_bps=0.0, funding=False)
    )
    params = sma_cross.Params(fast=SINGLE[0], slow=SINGLE[1])
    t0 = time.perf_counter()
    sig = sma_cross.generate(bars, params)
    res = run_backtest(bars, sig, cfg)
    first = time.perf_counter() - t0
    kernel = kernel_fn(k, bars, sig, cfg)
    timed(lambda: run_backtest(bars, sig, cfg), 2)  # discard
    full = timed(lambda: run_backtest(bars, sig, cfg), repeat)
    kern = timed(kernel, repeat)
    with_signals = timed(lambda: run_backtest(bars, sma_cross.generate(bars, params), cfg), repeat)
    curves = timed(lambda: run_backtest(bars, sig, cfg).equity, max(3, repeat // 2))
    return {
        "import_s": t_import,
        "first_call_s": first,
        "run_backtest": stats(full),
        "run_backtest_plus_equity_curve": stats(curves),
        "kernel_only": stats(kern),
        "signals_plus_backtest": stats(with_signals),
        "trades": int(res.metrics["trade_count"]),
        "total_return": res.metrics["total_return"],
        "peak_rss_mb": peak_rss_mb(),
    }


def kernel_fn(k: Any, bars: Any, sig: Any, cfg: Any) -> Any:
    """Our simulation alone, writing trade records (what from_signals does with orders)."""
    z = np.zeros(len(bars))
    st = np.zeros(k.N_STATS)
    vec = cfg.vector()
    tr = np.zeros((int(np.count_nonzero(sig.entry)) + 1, k.N_TRADE_COLS))
    no_rec = np.empty((k.N_REC, 0))
    no_funding = np.empty((1, 0))  # as run_backtest passes it when no funding applies

    def kernel() -> None:
        k.simulate(
            bars.open, bars.high, bars.low, bars.close, no_funding, z, sig.entry,
            sig.entry_kind, sig.entry_price, sig.stop, sig.target, sig.trail, sig.exit_long,
            sig.exit_short, vec, st, tr, no_rec,
        )  # fmt: skip

    return kernel


def vbt_full(pf: Any) -> Any:
    """What run_backtest hands back, in vectorbt terms: trades and headline metrics."""
    return (pf.trades.records, pf.total_return(), pf.sharpe_ratio(), pf.sortino_ratio(),
            pf.max_drawdown())  # fmt: skip


def task_vbt_single(data: str, repeat: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    import pandas as pd
    import vectorbt as vbt

    from strategies import sma_cross

    t_import = time.perf_counter() - t0
    d = load(data)
    sig = sma_cross.generate(d["close"], sma_cross.Params(fast=SINGLE[0], slow=SINGLE[1]))
    close = pd.Series(d["close"])
    price = pd.Series(d["open"])
    entries = pd.Series(sig.entry == 1).shift(1, fill_value=False)
    exits = pd.Series(sig.exit_long).shift(1, fill_value=False)

    def run() -> Any:
        return vbt.Portfolio.from_signals(
            close, entries, exits, price=price, fees=FEE, init_cash=10_000.0, freq="1min"
        )

    t0 = time.perf_counter()
    pf = run()
    first = time.perf_counter() - t0
    vbt_full(pf)
    timed(run, 2)
    ts = timed(run, repeat)
    full = timed(lambda: vbt_full(run()), repeat)
    return {
        "import_s": t_import,
        "first_call_s": first,
        "from_signals": stats(ts),
        "from_signals_plus_trades_and_metrics": stats(full),
        "trades": int(pf.trades.count()),
        "total_return": float(pf.total_return()),
        "peak_rss_mb": peak_rss_mb(),
    }


def task_ours_grid(
    data: str, repeat: int, variants: int, chunk: int, path: str = "fused"
) -> dict[str, Any]:
    from research.backtest.bars import Bars
    from research.backtest.config import BacktestConfig
    from research.backtest.costs import CostModel
    from research.backtest.runner import run_grid
    from research.backtest.sma_grid import run_sma_grid
    from strategies import sma_cross

    d = load(data)
    bars = Bars.from_arrays(d["open"], d["high"], d["low"], d["close"], timeframe="1m")
    cfg = BacktestConfig(
        sizing="all_in", costs=CostModel(taker_fee=FEE, slippage_bps=0.0, funding=False)
    )
    fast, slow = grid_pairs(variants)
    counts = np.zeros(variants, dtype=np.int64)
    best = [-np.inf, -1]

    buffers = (
        np.empty((min(chunk, variants), len(bars)), dtype=np.int8),
        np.empty((min(chunk, variants), len(bars)), dtype=np.bool_),
    )

    def general(a: int) -> Any:
        e, x = sma_cross.generate_grid(bars, fast[a : a + chunk], slow[a : a + chunk], out=buffers)
        return run_grid(bars, {"entry": e, "exit_long": x}, cfg)

    def fused(a: int) -> Any:
        return run_sma_grid(bars, fast[a : a + chunk], slow[a : a + chunk], cfg)

    one_chunk = fused if path == "fused" else general
    if path == "fused":
        chunk = variants  # O(variants) memory: one call, no chunking needed
        buffers = (np.empty((0, 0), np.int8), np.empty((0, 0), np.bool_))

    def run() -> None:
        for a in range(0, variants, chunk):
            g = one_chunk(a)
            counts[a : a + chunk] = g["trade_count"].to_numpy()
            j = int(np.argmax(g["total_return"].to_numpy()))
            if g["total_return"].iloc[j] > best[0]:
                best[:] = [float(g["total_return"].iloc[j]), a + j]

    t0 = time.perf_counter()
    if path == "fused":
        run_sma_grid(bars, fast[:2], slow[:2], cfg)
    else:
        e, x = sma_cross.generate_grid(bars, fast[:2], slow[:2])
        run_grid(bars, {"entry": e, "exit_long": x}, cfg)
        del e, x
    first = time.perf_counter() - t0
    ts = timed(run, repeat)
    return {
        "path": path,
        "first_call_s": first,
        "variants": variants,
        "chunk": chunk,
        "grid": stats(ts),
        "bar_variants_per_s": len(bars) * variants / median(ts),
        "trades_per_variant": counts.tolist(),
        "best_variant": {
            "index": best[1],
            "fast": int(fast[best[1]]),
            "slow": int(slow[best[1]]),
            "total_return": best[0],
        },  # fmt: skip
        "numba_threads": int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1)),
        "peak_rss_mb": peak_rss_mb(),
    }


def task_vbt(data: str, repeat: int, variants: int) -> dict[str, Any]:
    """vectorbt single run and grid subset in one process (its JIT warm-up is paid once)."""
    single = task_vbt_single(data, repeat)
    grid = task_vbt_grid(data, max(2, repeat // 3), variants)
    return {"single": single, "grid": grid}


def task_vbt_grid(data: str, repeat: int, variants: int) -> dict[str, Any]:
    import pandas as pd
    import vectorbt as vbt

    from strategies import sma_cross

    d = load(data)
    n = d["close"].size
    fast, slow = grid_pairs(variants)
    e, x = sma_cross.generate_grid(d["close"], fast, slow)
    cols = pd.MultiIndex.from_arrays([fast, slow], names=["fast", "slow"])
    entries = pd.DataFrame(e.T == 1, columns=cols).shift(1, fill_value=False)
    exits = pd.DataFrame(x.T, columns=cols).shift(1, fill_value=False)
    del e, x
    close = pd.Series(d["close"])
    price = pd.Series(d["open"])

    def run() -> Any:
        pf = vbt.Portfolio.from_signals(
            close, entries, exits, price=price, fees=FEE, init_cash=10_000.0, freq="1min"
        )
        out = pf.trades.count().to_numpy(), pf.total_return().to_numpy()
        del pf
        gc.collect()  # research.md §2: vectorbt's reference cycles otherwise pile up
        return out

    t0 = time.perf_counter()
    counts, _ = run()
    first = time.perf_counter() - t0
    ts = timed(run, repeat)
    return {
        "first_call_s": first,
        "variants": variants,
        "grid": stats(ts),
        "bar_variants_per_s": n * variants / median(ts),
        "trades_per_variant": [int(c) for c in counts],
        "peak_rss_mb": peak_rss_mb(),
    }


def task_smc(data: str, repeat: int) -> dict[str, Any]:
    """The SMC strategies per 1M bars: detectors + signals (generate) and the backtest."""
    import pandas as pd

    from research.backtest.bars import Bars
    from research.backtest.config import BacktestConfig
    from research.backtest.runner import run_backtest
    from strategies import registry

    d = load(data)
    n = d["close"].size
    frame = pd.DataFrame(
        {k_: d[k_] for k_ in ("open", "high", "low", "close", "volume")},
        index=pd.date_range("2020-01-01", periods=n, freq="1min", tz="UTC"),
    )
    bars = Bars.from_frame(frame, "1m")
    out: dict[str, Any] = {}
    for name in ("liquidity_sweep", "bos_orderblock"):
        if name not in registry.names():
            out[name] = {"error": "not registered"}
            continue
        mod = registry.get(name)
        cfg = BacktestConfig(sizing=getattr(mod, "DEFAULT_SIZING", "risk"))
        t0 = time.perf_counter()
        sig = mod.generate(frame, mod.Params())
        res = run_backtest(bars, sig, cfg)
        first = time.perf_counter() - t0
        gen = timed(lambda m=mod: m.generate(frame, m.Params()), max(1, repeat // 3))
        run = timed(lambda s_=sig, c_=cfg: run_backtest(bars, s_, c_), repeat)
        out[name] = {
            "first_call_s": first,
            "generate": stats(gen),
            "run_backtest": stats(run),
            "bars_per_s_end_to_end": n / (median(gen) + median(run)),
            "trades": int(res.metrics["trade_count"]),
        }
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def task_interleaved(data: str, rounds: int, variants: int, grid_variants: int) -> dict[str, Any]:
    """§12.5: alternate ours and vectorbt round by round; the median of per-round ratios
    is robust to slow spells on a shared machine."""
    import pandas as pd
    import vectorbt as vbt

    from research.backtest import engine as k
    from research.backtest.bars import Bars
    from research.backtest.config import BacktestConfig
    from research.backtest.costs import CostModel
    from research.backtest.runner import run_backtest, run_grid
    from research.backtest.sma_grid import run_sma_grid
    from strategies import sma_cross

    d = load(data)
    bars = Bars.from_arrays(d["open"], d["high"], d["low"], d["close"], timeframe="1m")
    cfg = BacktestConfig(
        sizing="all_in", costs=CostModel(taker_fee=FEE, slippage_bps=0.0, funding=False)
    )
    sig = sma_cross.generate(bars, sma_cross.Params(fast=SINGLE[0], slow=SINGLE[1]))
    close, price = pd.Series(d["close"]), pd.Series(d["open"])
    entries = pd.Series(sig.entry == 1).shift(1, fill_value=False)
    exits = pd.Series(sig.exit_long).shift(1, fill_value=False)
    kernel = kernel_fn(k, bars, sig, cfg)

    def vbt_single() -> Any:
        return vbt.Portfolio.from_signals(
            close, entries, exits, price=price, fees=FEE, init_cash=1e4, freq="1min"
        )

    fast, slow = grid_pairs(variants)
    e, x = sma_cross.generate_grid(d["close"], fast, slow)
    cols = pd.MultiIndex.from_arrays([fast, slow])
    g_entries = pd.DataFrame(e.T == 1, columns=cols).shift(1, fill_value=False)
    g_exits = pd.DataFrame(x.T, columns=cols).shift(1, fill_value=False)

    def vbt_grid() -> None:
        pf = vbt.Portfolio.from_signals(close, g_entries, g_exits, price=price, fees=FEE,
                                        init_cash=1e4)  # fmt: skip
        pf.total_return()
        del pf
        gc.collect()

    def ours_grid_general() -> None:
        e2, x2 = sma_cross.generate_grid(bars, fast, slow, out=(e, x))
        run_grid(bars, {"entry": e2, "exit_long": x2}, cfg)

    def ours_grid() -> None:
        run_sma_grid(bars, fast, slow, cfg)

    big_fast, big_slow = grid_pairs(grid_variants)

    def ours_grid_big() -> None:
        run_sma_grid(bars, big_fast, big_slow, cfg)

    def vbt_single_full() -> None:
        vbt_full(vbt_single())

    for f in (kernel, vbt_single_full, ours_grid, ours_grid_general, vbt_grid):
        f()  # warm-up
    r_full, r_kernel, r_grid, r_general, r_tput = [], [], [], [], []
    for _ in range(rounds):
        v = median(timed(vbt_single, 3))
        r_kernel.append(v / median(timed(kernel, 3)))
        v_full = median(timed(vbt_single_full, 3))
        r_full.append(v_full / median(timed(lambda: run_backtest(bars, sig, cfg), 3)))
        g = timed(vbt_grid, 1)[0]
        r_grid.append(g / timed(ours_grid, 1)[0])
        r_general.append(g / timed(ours_grid_general, 1)[0])
        # the metric: bar-variants/s of a >= 100-variant grid vs vectorbt's subset
        r_tput.append((grid_variants / timed(ours_grid_big, 1)[0]) / (variants / g))
    return {
        "rounds": rounds,
        "grid_variants": variants,
        "single_run_backtest_vs_vbt_full_ratio": median(r_full),
        "single_kernel_vs_from_signals_ratio": median(r_kernel),
        "grid_fused_ratio_same_variants": median(r_grid),
        "grid_general_ratio_same_variants": median(r_general),
        "grid_fused_bar_variants_per_s_ratio": median(r_tput),
        "grid_fused_variants_for_throughput": grid_variants,
        "per_round": {"run_backtest": r_full, "kernel": r_kernel, "grid_fused": r_grid,
                      "grid_general": r_general, "grid_fused_throughput": r_tput},
    }  # fmt: skip


def task_engine_paths(data: str, repeat: int, root: str) -> dict[str, Any]:
    """The engine's public paths on the tree at `root` (this tree or an exported git ref)."""
    sys.path.insert(0, root)
    import pandas as pd

    import research
    from research.backtest.bars import Bars
    from research.backtest.config import BacktestConfig
    from research.backtest.costs import CostModel
    from research.backtest.funding import align_funding
    from research.backtest.runner import run_backtest, run_grid
    from research.backtest.sma_grid import run_sma_grid
    from strategies import registry, sma_cross

    assert str(Path(research.__file__).resolve()).startswith(str(Path(root).resolve()))
    d = load(data)
    bars = Bars.from_arrays(d["open"], d["high"], d["low"], d["close"], timeframe="1m")
    cfg = BacktestConfig(
        sizing="all_in", costs=CostModel(taker_fee=FEE, slippage_bps=0.0, funding=False)
    )
    sig = sma_cross.generate(bars, sma_cross.Params(fast=SINGLE[0], slow=SINGLE[1]))
    fast, slow = grid_pairs(100)
    e, x = sma_cross.generate_grid(bars, fast[:20], slow[:20])
    n = bars.close.size
    frame = pd.DataFrame(
        {k_: d[k_] for k_ in ("open", "high", "low", "close", "volume")},
        index=pd.date_range("2020-01-01", periods=n, freq="1min", tz="UTC"),
    )
    smc = registry.get("bos_orderblock")
    smc_sig = smc.generate(frame, smc.Params())
    smc_cfg = BacktestConfig(sizing="risk")
    # the same prices read as 4h bars, with hourly funding: 3 prints inside every bar
    b4 = Bars.from_arrays(d["open"], d["high"], d["low"], d["close"], timeframe="4h")
    hour = 3_600_000
    f_ts = np.arange(0, int(b4.ts[-1]) + 4 * hour, hour, dtype=np.int64)
    f_rates = np.random.default_rng(1).normal(1e-5, 3e-5, f_ts.size)
    fund = align_funding(b4.ts, b4.timeframe_ms, f_ts, f_rates)
    fund_cfg = BacktestConfig(sizing="fraction", fraction=3.0, leverage=3.0)
    work = {
        "single_run_backtest": lambda: run_backtest(bars, sig, cfg),
        "grid_fused_100": lambda: run_sma_grid(bars, fast, slow, cfg),
        "grid_general_20": lambda: run_grid(bars, {"entry": e, "exit_long": x}, cfg),
        "smc_bos_orderblock_run_backtest": lambda: run_backtest(bars, smc_sig, smc_cfg),
        "funding_4h_run_backtest": lambda: run_backtest(b4, sig, fund_cfg, fund),
    }
    out: dict[str, Any] = {}
    for name, fn in work.items():
        fn()  # compile / cache load
        timed(fn, 1)
        out[name] = median(timed(fn, repeat if "grid" not in name else max(3, repeat // 2)))
    return out


def engine_ab(data: str, ref: str, rounds: int, repeat: int) -> dict[str, Any]:
    """Time this tree and the tree at git `ref` alternately, one fresh process per side and
    round; report both sides' medians and the median per-round ratio ref / ours."""
    with tempfile.TemporaryDirectory(prefix="fractal-bench-ref-") as tmp:
        arch = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True,
                              check=False)  # fmt: skip
        if arch.returncode != 0:
            return {"error": f"git archive {ref}: {arch.stderr.decode().strip()}"}
        subprocess.run(["tar", "-x", "-C", tmp], input=arch.stdout, check=True)
        sides: dict[str, list[dict[str, Any]]] = {"ours": [], "ref": []}
        for r in range(rounds):
            order = [("ours", str(ROOT)), ("ref", tmp)]
            for side, root in order if r % 2 == 0 else order[::-1]:
                sides[side].append(spawn("engine_paths", data, ["--repeat", str(repeat),
                                                                "--root", root]))  # fmt: skip
    errors = [x["error"] for v in sides.values() for x in v if "error" in x]
    if errors:
        return {"error": errors[0]}
    names = list(sides["ours"][0])
    return {
        "ref": ref,
        "rounds": rounds,
        "ours_median_s": {k_: median(x[k_] for x in sides["ours"]) for k_ in names},
        "ref_median_s": {k_: median(x[k_] for x in sides["ref"]) for k_ in names},
        "ratio_ref_over_ours": {
            k_: median(b[k_] / a[k_] for a, b in zip(sides["ours"], sides["ref"], strict=True))
            for k_ in names
        },
    }


def task_compile(data: str) -> dict[str, Any]:
    """First call of everything our single + grid path compiles (in a fresh process)."""
    t0 = time.perf_counter()
    from research.backtest.bars import Bars
    from research.backtest.config import BacktestConfig
    from research.backtest.runner import run_backtest, run_grid
    from strategies import sma_cross

    t_import = time.perf_counter() - t0
    d = load(data)
    n = 5_000
    bars = Bars.from_arrays(d["open"][:n], d["high"][:n], d["low"][:n], d["close"][:n])
    cfg = BacktestConfig(sizing="all_in")
    t0 = time.perf_counter()
    run_backtest(bars, sma_cross.generate(bars), cfg)
    single = time.perf_counter() - t0
    t0 = time.perf_counter()
    e, x = sma_cross.generate_grid(bars, [5, 10], [60, 65])
    run_grid(bars, {"entry": e, "exit_long": x}, cfg)
    grid = time.perf_counter() - t0
    from research.backtest.sma_grid import run_sma_grid

    t0 = time.perf_counter()
    run_sma_grid(bars, [5, 10], [60, 65], cfg)
    fused = time.perf_counter() - t0
    return {"import_s": t_import, "single_first_call_s": single, "grid_first_call_s": grid,
            "fused_grid_first_call_s": fused}  # fmt: skip


# ---------------------------------------------------------------- driver


def spawn(
    task: str, data: str, extra: list[str], env: dict[str, str] | None = None
) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--task", task, "--data", data, *extra]
    out = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def versions() -> dict[str, str]:
    import numba
    import pandas

    v = {"python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
         "pandas": pandas.__version__}  # fmt: skip
    try:
        from importlib.metadata import version

        v["vectorbt"] = version("vectorbt")
    except Exception:  # noqa: BLE001 - vectorbt is a dev extra
        v["vectorbt"] = "missing"
    return v


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task")
    ap.add_argument("--data")
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--variants", type=int, default=100)
    ap.add_argument("--vbt-variants", type=int, default=10)
    ap.add_argument("--chunk", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--path", default="fused", choices=("fused", "general"))
    ap.add_argument("--grid-variants", type=int, default=100)
    ap.add_argument("--root", default=str(ROOT))
    ap.add_argument("--ref", help="git ref to time the engine against in the same run")
    ap.add_argument("--ref-rounds", type=int, default=3)
    ap.add_argument("--ab-only", action="store_true", help="with --ref: only the before/after")
    a = ap.parse_args()
    if a.task:
        fn = {
            "ours_single": lambda: task_ours_single(a.data, a.repeat),
            "vbt": lambda: task_vbt(a.data, a.repeat, a.variants),
            "ours_grid": lambda: task_ours_grid(a.data, a.repeat, a.variants, a.chunk, a.path),
            "compile": lambda: task_compile(a.data),
            "smc": lambda: task_smc(a.data, a.repeat),
            "interleaved": lambda: task_interleaved(a.data, a.repeat, a.variants, a.grid_variants),
            "engine_paths": lambda: task_engine_paths(a.data, a.repeat, a.root),
        }[a.task]
        print(json.dumps(fn()))
        return

    with tempfile.TemporaryDirectory(prefix="fractal-bench-") as tmp:
        data = str(Path(tmp) / "walk.npz")
        sha = make_data(a.bars, Path(data))
        if a.ref and a.ab_only:
            ab = engine_ab(data, a.ref, a.ref_rounds, a.repeat)
            print(json.dumps({"bars": a.bars, "data_sha256": sha, "machine": {
                "cpus": os.cpu_count(), "load_avg": os.getloadavg(), **versions()},
                "before_after": ab}, indent=1))  # fmt: skip
            return
        cold_cache = str(Path(tmp) / "numba-cache-cold")
        rep = ["--repeat", str(a.repeat)]
        compile_cold = spawn("compile", data, [], {"NUMBA_CACHE_DIR": cold_cache})
        compile_warm = spawn("compile", data, [], {"NUMBA_CACHE_DIR": cold_cache})
        ours = spawn("ours_single", data, rep)
        both = spawn("vbt", data, [*rep, "--variants", str(a.vbt_variants)])
        vbt = both.get("single", both)
        vgrid = both.get("grid", both)
        grid = spawn("ours_grid", data, ["--repeat", "3", "--variants", str(a.variants),
                                         "--chunk", str(a.chunk)])  # fmt: skip
        grid_1t = spawn("ours_grid", data, ["--repeat", "3", "--variants", str(a.variants),
                                            "--chunk", str(a.chunk)], {"NUMBA_NUM_THREADS": "1"})  # fmt: skip
        grid_general = spawn("ours_grid", data, ["--repeat", "3", "--variants", str(a.variants),
                                                 "--chunk", str(a.chunk), "--path", "general"])  # fmt: skip

        smc = spawn("smc", data, ["--repeat", "3"])
        inter = spawn("interleaved", data, ["--repeat", "5", "--variants", str(a.vbt_variants),
                                            "--grid-variants", str(a.variants)])  # fmt: skip
        ab = engine_ab(data, a.ref, a.ref_rounds, a.repeat) if a.ref else None

    result: dict[str, Any] = {
        "workload": {
            "bars": a.bars,
            "data_sha256": sha,
            "fee": FEE,
            "single": SINGLE,
            "grid_variants": a.variants,
            "vectorbt_grid_variants": a.vbt_variants,
        },  # fmt: skip
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), **versions()},
        "compile": {"empty_cache": compile_cold, "warm_cache": compile_warm},
        "ours_single": ours,
        "vectorbt_single": vbt,  # peak RSS: one process ran single + grid
        "ours_grid": grid,
        "ours_grid_1_thread": grid_1t,
        "ours_grid_general_path": grid_general,
        "vectorbt_grid": vgrid,
        "smc_strategies": smc,
        "interleaved": inter,
    }
    if ab is not None:
        result["before_after"] = ab
    ratios: dict[str, Any] = {}
    parity: dict[str, Any] = {}
    if "error" not in ours and "error" not in vbt:
        parity["single_same_trade_count"] = ours["trades"] == vbt["trades"]
        parity["single_return_diff"] = abs(ours["total_return"] - vbt["total_return"])
        v = vbt["from_signals"]["median_s"]
        ratios["single_vs_vectorbt_run_backtest"] = v / ours["run_backtest"]["median_s"]
        ratios["single_vs_vectorbt_kernel_only"] = v / ours["kernel_only"]["median_s"]
        ratios["single_vs_vectorbt_incl_signals"] = v / ours["signals_plus_backtest"]["median_s"]
        v_full = vbt["from_signals_plus_trades_and_metrics"]["median_s"]
        ratios["single_run_backtest_vs_vectorbt_full"] = v_full / ours["run_backtest"]["median_s"]
    if "error" not in grid and "error" not in vgrid:
        m = a.vbt_variants
        parity["grid_same_trade_counts_on_vectorbt_subset"] = (
            grid["trades_per_variant"][:m] == vgrid["trades_per_variant"]
        )
        ratios["grid_bar_variants_per_s_vs_vectorbt"] = (
            grid["bar_variants_per_s"] / vgrid["bar_variants_per_s"]
        )
        if "error" not in grid_1t:
            ratios["grid_1_thread_vs_vectorbt"] = (
                grid_1t["bar_variants_per_s"] / vgrid["bar_variants_per_s"]
            )
        if "error" not in grid_general:
            parity["grid_fused_same_trade_counts_as_general_path"] = (
                grid["trades_per_variant"] == grid_general["trades_per_variant"]
            )
            ratios["grid_general_path_vs_vectorbt"] = (
                grid_general["bar_variants_per_s"] / vgrid["bar_variants_per_s"]
            )
            grid_general.pop("trades_per_variant")
        grid.pop("trades_per_variant")
        grid_1t.pop("trades_per_variant", None)
        vgrid.pop("trades_per_variant")
    result["parity"] = parity
    result["ratios"] = ratios
    result["targets"] = {"single": 10.0, "grid": 50.0, "grid_peak_rss_mb": 1024.0}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
