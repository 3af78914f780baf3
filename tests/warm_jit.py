"""Compile the numba kernels into the numba cache (``cluster.numba_cache``) before the coverage run of ``make test``.

Why: coverage's trace function slows numba's (pure Python) compiler about 2.5×, and a cold
cache made the CI suite twice as long. This calls every main entry point once on a small slice
of shipped data, without coverage; the tests then load the cached machine code. It tests
nothing; signatures it misses simply compile later, under coverage.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cluster import numba_cache  # noqa: E402  (before any kernel module is imported)

numba_cache.configure()

SHARED = Path(os.environ.get("SHARED_DATA_DIR", ROOT.parent / "shared" / "data"))
DATA = SHARED / "market" / "hyperliquid_perp_2025"


def _frame(n: int = 3000) -> pd.DataFrame:
    df = pd.read_csv(DATA / "hyperliquid_BTCUSDC_5m.csv.gz", nrows=n)
    df.index = pd.DatetimeIndex(pd.to_datetime(df["timestamp"], unit="ms", utc=True), name="time")
    return df[["open", "high", "low", "close", "volume"]].astype("float64")


def warm_smc(df: pd.DataFrame) -> None:
    from strategies.smc import SMCStream, bars_from_frame, compat, detect, make_params
    from strategies.smc.pipeline import detect_arrays

    detect(df)
    detect_arrays(bars_from_frame(df), make_params(), threads=1)  # the per-concept kernels
    stream = SMCStream()
    times = df.index.as_unit("ms").asi8.astype(float)
    rows = df.to_numpy()
    for k in range(300):
        stream.update_arrays(times[k], *rows[k])
    stream.frame()
    shl = compat.swing_highs_lows(df, swing_length=5)
    compat.fvg(df)
    compat.bos_choch(df, shl)
    compat.ob(df, shl)
    compat.liquidity(df, shl)
    compat.retracements(df, shl)
    compat.previous_high_low(df, time_frame="1D")
    compat.sessions(df, session="London")


def warm_backtest(df: pd.DataFrame) -> None:
    from actors.runner import LIVE_MAX_ROWS
    from research.backtest.bars import Bars
    from research.backtest.config import BacktestConfig
    from research.backtest.runner import run_backtest
    from research.backtest.sma_grid import run_sma_grid
    from strategies import registry, sma_cross

    bars = Bars.from_arrays(
        df["open"], df["high"], df["low"], df["close"], timeframe="5m",
        ts=df.index.as_unit("ms").asi8,
    )  # fmt: skip
    cfg = BacktestConfig()
    frac = BacktestConfig(sizing="fraction")
    run_backtest(bars, sma_cross.generate(bars, sma_cross.Params(fast=12, slow=48)), frac)
    run_sma_grid(bars, np.array([5, 10]), np.array([20, 40]), frac)
    for name in ("liquidity_sweep", "bos_orderblock"):
        module = registry.get(name)
        run_backtest(bars, module.generate(df, module.Params()), cfg)
        times = df.index.as_unit("ms").asi8.astype(float)
        rows = df.to_numpy()
        # unbounded (tests) and bounded as the live StrategyRunner builds it (its own layouts)
        for live in (module.stream(), module.stream(max_rows=LIVE_MAX_ROWS)):
            for k in range(200):
                live.update(times[k], *rows[k])


def warm_sweep(df: pd.DataFrame) -> None:
    """The sweep tasks' signatures: Ray hands tasks read-only (object-store) arrays, a
    distinct numba type, so the engine and strategy kernels compile once more for them."""
    from research.backtest.bars import Bars
    from research.backtest.config import BacktestConfig
    from research.sweep import batch, detector_cache
    from research.sweep.dataset import build
    from strategies import registry

    frame = df.reset_index(drop=True).assign(timestamp=df.index.as_unit("ms").asi8)
    for sizing, names in (
        ("risk", ("liquidity_sweep", "bos_orderblock")),
        ("all_in", ("sma_cross",)),
    ):
        cfg = BacktestConfig(sizing=sizing)
        ds = build(frame, Bars.from_frame(frame, "5m"), None, cfg, "BTC", "warm")
        data = {k: v for k, v in ds.arrays.items()}
        for v in data.values():
            if isinstance(v, np.ndarray):
                v.flags.writeable = False
        for name in names:
            module = registry.get(name)
            x = None
            if hasattr(module, "spec"):
                spec = module.spec(module.Params())
                x = detector_cache.compute_matrix(
                    data["det_bars"], (data["open"], data["high"], data["low"], data["close"]),
                    dict(spec.detector_params), list(spec.columns),
                )  # fmt: skip
                x.flags.writeable = False
            job = batch.Job(name, [module.Params().model_dump(mode="json")], cfg, 16)
            batch.evaluate(job, data, x)


def main() -> None:
    if not DATA.is_dir():
        print(f"warm_jit: {DATA} not found; the tests will compile as they go")
        return
    t0 = time.perf_counter()
    df = _frame()
    warm_smc(df)
    warm_backtest(df)
    warm_sweep(df)
    print(
        f"warm_jit: numba kernels compiled or loaded from cache in {time.perf_counter() - t0:.1f} s"
    )


if __name__ == "__main__":
    main()
