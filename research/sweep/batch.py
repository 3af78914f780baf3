"""A batch of strategy variants on one dataset, evaluated in one process (one Ray task).

Results are compact: per variant the engine's stats row (metrics come from
``runner.metrics_from_stats``, as in ``fractal backtest``) and the compounded return of each of
``periods`` equal slices of the bars (the matrix the overfitting statistics read).

sma_cross (without risk sizing, which it cannot satisfy) runs in the fused grid kernel
(``sma_grid.simulate_pairs``): signals evaluated inside the kernel, each variant's equity taken
at the period ends as it passes them, so no variants x bars array exists. Every other strategy:
per variant its signals (SMC strategies: their numba kernel on the shared detector matrix;
others: ``generate``), then one ``engine.simulate`` call that fills the summary accumulators
*and* the equity record (a buffer reused across the batch) in the same pass.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from research.backtest import engine as k
from research.backtest.config import BacktestConfig
from research.backtest.runner import _check_sizing
from research.backtest.sma_grid import simulate_pairs
from strategies import live, registry
from strategies.signals import Signals

PERIODS = 256  # slices of the bars in the per-variant return matrix (16 CSCV blocks of 16)


def periods_for(n: int) -> int:
    """Return periods for n bars: 256, fewer (a multiple of 16, >= 16) on short data."""
    if n >= 10 * PERIODS:
        return PERIODS
    return max(16, (n // 10) // 16 * 16)


def period_edges(n: int, periods: int) -> np.ndarray:
    return np.linspace(0, n, periods + 1).astype(np.int64)


def _signals(
    module: Any, params: Mapping[str, Any], data: Mapping[str, Any], x: np.ndarray | None
) -> Signals:
    p = module.Params.model_validate(dict(params))
    if x is not None and hasattr(module, "spec"):
        return live.to_signals(live.run_kernel(module.spec(p), x))
    if module.NAME == "sma_cross":
        return module.generate(data["close"], p)  # type: ignore[no-any-return]
    frame = pd.DataFrame(
        {"timestamp": data["ts"], "open": data["open"], "high": data["high"],
         "low": data["low"], "close": data["close"], "volume": data["det_bars"][:, 4]}
    )  # fmt: skip
    return module.generate(frame, p)  # type: ignore[no-any-return]


class _KernelBatch:
    """SMC strategy signals for many variants on one detector matrix, into reused buffers.

    Same kernel, same fresh state and the same "no order" prefill as ``live.run_kernel`` +
    ``live.to_signals``, so the arrays are identical; but a 1M-bar variant no longer allocates
    ~80 MB of fresh pages (≈ 0.1 s on this VM, more than the simulation itself)."""

    def __init__(self, n: int) -> None:
        self.out = live.empty_out(n)
        self.entry = np.zeros(n, dtype=np.int8)
        self.kind = np.zeros(n, dtype=np.int8)
        self.trail = np.full(n, np.nan)
        self.exits = np.zeros(n, dtype=np.bool_)

    def signals(self, module: Any, params: Mapping[str, Any], x: np.ndarray) -> Signals:
        from strategies.signals import MARKET

        spec = module.spec(module.Params.model_validate(dict(params)))
        out = self.out
        out[:, live.OUT_ENTRY] = 0.0
        out[:, live.OUT_KIND] = MARKET
        out[:, live.OUT_PRICE :] = np.nan
        spec.kernel(0, x.shape[0], x, spec.params, spec.state.copy(), out)
        np.copyto(self.entry, out[:, live.OUT_ENTRY], casting="unsafe")
        np.copyto(self.kind, out[:, live.OUT_KIND], casting="unsafe")
        return Signals(
            entry=self.entry, entry_kind=self.kind, entry_price=out[:, live.OUT_PRICE],
            stop=out[:, live.OUT_STOP], target=out[:, live.OUT_TARGET], trail=self.trail,
            exit_long=self.exits, exit_short=self.exits,
        )  # fmt: skip


@dataclass(frozen=True)
class Job:
    """One task's variants: everything but the shared arrays (which travel as object refs)."""

    strategy: str
    params: Sequence[Mapping[str, Any]]
    config: BacktestConfig
    periods: int


def period_returns(end_equity: np.ndarray, cash: float) -> np.ndarray:
    """(V, P) equity at the end of each period -> the compounded return of each period."""
    start = np.empty_like(end_equity)
    start[:, 0] = cash
    start[:, 1:] = end_equity[:, :-1]
    return end_equity / start - 1.0  # type: ignore[no-any-return]


def _sma_fused(
    module: Any, data: Mapping[str, Any], job: Job, cfg: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """sma_cross variants in the fused grid kernel: the same stats and period-end equity as
    one engine pass each (tested), with no per-variant signal or equity arrays."""
    ps = [module.Params.model_validate(dict(p)) for p in job.params]
    fast = np.array([p.fast for p in ps], dtype=np.int64)
    slow = np.array([p.slow for p in ps], dtype=np.int64)
    arrays = (data["open"], data["high"], data["low"], data["close"], data["rates"],
              data["slip_abs"])  # fmt: skip
    return simulate_pairs(arrays, fast, slow, cfg[None, :], ends)


def _engine(
    module: Any, data: Mapping[str, Any], x: np.ndarray | None, job: Job, config: BacktestConfig,
    ends: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Any strategy: its signals, then one engine pass per variant with the equity record."""
    o, h, lo, c = data["open"], data["high"], data["low"], data["close"]
    n = c.shape[0]
    cfg = config.vector()
    stats = np.zeros((len(job.params), k.N_STATS))
    end_eq = np.empty((len(job.params), ends.size))
    rec = np.empty((k.N_REC, n))
    no_trades = np.zeros((0, k.N_TRADE_COLS))
    at = np.maximum(ends - 1, 0)
    smc_batch = _KernelBatch(n) if x is not None and hasattr(module, "spec") else None
    for v, p in enumerate(job.params):
        if smc_batch is not None:
            assert x is not None
            sig = smc_batch.signals(module, p, x)
        else:
            sig = _signals(module, p, data, x)
        sig.validate(c)
        _check_sizing(config, sig.stop, sig.entry)
        k.simulate(
            o, h, lo, c, data["rates"], data["slip_abs"],
            sig.entry, sig.entry_kind, sig.entry_price, sig.stop, sig.target, sig.trail,
            sig.exit_long, sig.exit_short, cfg, stats[v], no_trades, rec,
        )  # fmt: skip
        end_eq[v] = np.where(ends > 0, rec[k.R_EQUITY][at], cfg[k.C_CASH])
    return stats, end_eq


def reset_peak_rss() -> None:
    """Restart this process's peak-RSS mark (Linux: writing 5 to clear_refs resets VmHWM and
    nothing else), so a long-lived Ray worker reports the peak of this task, not of its past."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:  # not Linux: ru_maxrss (the process's lifetime peak) is reported instead
        pass


def peak_rss_mb() -> float:
    """Peak RSS since the last reset_peak_rss (VmHWM), else the process's lifetime peak."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def evaluate(job: Job, data: Mapping[str, Any], x: np.ndarray | None) -> dict[str, Any]:
    """Stats rows (V, N_STATS), period returns (V, periods), the wall and CPU seconds, the peak
    RSS (since the task began: tasks.py resets the mark; resident object-store pages included)."""
    t0, c0 = time.perf_counter(), time.process_time()
    module = registry.get(job.strategy)
    config = job.config.for_market(data.get("venue"), data.get("symbol"))
    cfg = config.vector()
    ends = period_edges(data["close"].shape[0], job.periods)[1:]
    if module.NAME == "sma_cross" and x is None and config.sizing != "risk":
        stats, end_eq = _sma_fused(module, data, job, cfg, ends)
    else:  # (sma_cross with risk sizing fails there, on its first entry, as in the backtest)
        stats, end_eq = _engine(module, data, x, job, config, ends)
    return {"stats": stats, "period_returns": period_returns(end_eq, cfg[k.C_CASH]),
            "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
            "peak_rss_mb": peak_rss_mb()}  # fmt: skip


def equity_curve(
    strategy: str,
    data: Mapping[str, Any],
    x: np.ndarray | None,
    params: Mapping[str, Any],
    config: BacktestConfig,
) -> np.ndarray:
    """One variant's per-bar equity (for the top-N chart)."""
    module = registry.get(strategy)
    config = config.for_market(data.get("venue"), data.get("symbol"))
    sig = _signals(module, params, data, x)
    rec = np.empty((k.N_REC, data["close"].shape[0]))
    k.simulate(
        data["open"], data["high"], data["low"], data["close"], data["rates"], data["slip_abs"],
        sig.entry, sig.entry_kind, sig.entry_price, sig.stop, sig.target, sig.trail,
        sig.exit_long, sig.exit_short, config.vector(), np.zeros(k.N_STATS),
        np.zeros((0, k.N_TRADE_COLS)), rec,
    )  # fmt: skip
    return rec[k.R_EQUITY].copy()
