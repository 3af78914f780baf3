"""vectorbt doing the whole SMA-grid job chunked, as research.md §2 measured its anchor.

Why a second vectorbt task: `bench_backtest.task_vbt_grid` hands vectorbt signals computed by
*our* `sma_cross.generate_grid` and times only its simulation. The sweep runner computes the
moving averages and crossings itself, so the anchor research.md states for the 1,000-variant
grid (chunks of 100 + `gc.collect()`, 1M x 1000: 416 s, 2.40 M bar-variants/s) times vectorbt's
own pipeline: MA (`vbt.MA.run`), signals (`ma_crossed_above/below`), simulation
(`Portfolio.from_signals`) and metrics (trade count, total return). This task does exactly that,
per chunk, with the same fills as the other tasks (signals shifted one bar, filled at the open).

Run: `python tests/bench/vbt_pipeline.py --data walk.npz --variants 1000 --chunk 100
[--max-chunks K]`; prints one JSON object (per-phase seconds, bar-variants/s over the chunks
timed, trades per variant for the parity gate, peak RSS).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_backtest import FEE, grid_pairs, load  # noqa: E402


def run(data: str, variants: int, chunk: int, max_chunks: int | None) -> dict[str, Any]:
    import pandas as pd
    import vectorbt as vbt

    d = load(data)
    n = d["close"].size
    close = pd.Series(d["close"])
    price = pd.Series(d["open"])
    fast, slow = grid_pairs(variants)
    phases = {"ma_s": 0.0, "signals_s": 0.0, "simulate_s": 0.0, "metrics_s": 0.0}
    trades: list[int] = []
    done = 0
    starts = list(range(0, variants, chunk))[: max_chunks or None]
    # vectorbt's JIT compile is paid on a small first call, apart (research.md §12.3)
    warm = vbt.MA.run(close.iloc[:1000], window=[5, 10])
    del warm
    t_all = time.perf_counter()
    for a in starts:
        f, s = fast[a : a + chunk].tolist(), slow[a : a + chunk].tolist()
        gc.collect()
        t = time.perf_counter()
        fast_ma = vbt.MA.run(close, window=f, short_name="fast")
        slow_ma = vbt.MA.run(close, window=s, short_name="slow")
        phases["ma_s"] += time.perf_counter() - t
        t = time.perf_counter()
        entries = fast_ma.ma_crossed_above(slow_ma).shift(1, fill_value=False)
        exits = fast_ma.ma_crossed_below(slow_ma).shift(1, fill_value=False)
        phases["signals_s"] += time.perf_counter() - t
        t = time.perf_counter()
        pf = vbt.Portfolio.from_signals(
            close, entries, exits, price=price, fees=FEE, init_cash=10_000.0, freq="1min"
        )
        phases["simulate_s"] += time.perf_counter() - t
        t = time.perf_counter()
        trades += [int(c) for c in pf.trades.count().to_numpy()]
        pf.total_return().to_numpy()
        phases["metrics_s"] += time.perf_counter() - t
        del fast_ma, slow_ma, entries, exits, pf
        gc.collect()  # research.md §2: vectorbt's reference cycles otherwise pile up
        done += len(f)
    wall = time.perf_counter() - t_all
    return {
        "variants_timed": done,
        "chunk": chunk,
        "seconds": wall,
        "phases": phases,
        "bar_variants_per_s": n * done / wall,
        "trades_per_variant": trades,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--variants", type=int, default=1000)
    ap.add_argument("--chunk", type=int, default=100)
    ap.add_argument("--max-chunks", type=int, default=None, help="time only the first K chunks")
    a = ap.parse_args()
    print(json.dumps(run(a.data, a.variants, a.chunk, a.max_chunks)))


if __name__ == "__main__":
    main()
