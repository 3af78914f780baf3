"""A batch of strategy variants on one dataset, evaluated in one process (one Ray task).

Per variant: the strategy's signals (SMC strategies: their numba kernel on the shared detector
matrix; others: ``generate``), then one ``engine.simulate`` call that fills the summary
accumulators *and* the equity record in the same pass. Results are compact: the engine's
stats row (metrics come from ``runner.metrics_from_stats``, as in ``fractal backtest``) and
the compounded return of each of ``periods`` equal slices of the bars (the matrix the
overfitting statistics read). The record buffer is reused across the batch.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from research.backtest import engine as k
from research.backtest.runner import _check_sizing
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


def evaluate(
    strategy: str,
    data: Mapping[str, Any],
    x: np.ndarray | None,
    params: Sequence[Mapping[str, Any]],
    config: Any,
    periods: int,
) -> dict[str, Any]:
    """Stats rows (V, N_STATS), period returns (V, periods) and the kernel seconds."""
    t0 = time.perf_counter()
    module = registry.get(strategy)
    o, h, lo, c = data["open"], data["high"], data["low"], data["close"]
    n = c.shape[0]
    cfg = config.vector()
    stats = np.zeros((len(params), k.N_STATS))
    rets = np.zeros((len(params), periods))
    rec = np.empty((k.N_REC, n))
    no_trades = np.zeros((0, k.N_TRADE_COLS))
    edges = period_edges(n, periods)
    cash = cfg[k.C_CASH]
    for v, p in enumerate(params):
        sig = _signals(module, p, data, x)
        sig.validate(c)
        _check_sizing(config, sig.stop, sig.entry)
        k.simulate(
            o, h, lo, c, data["rates"], data["slip_abs"],
            sig.entry, sig.entry_kind, sig.entry_price, sig.stop, sig.target, sig.trail,
            sig.exit_long, sig.exit_short, cfg, stats[v], no_trades, rec,
        )  # fmt: skip
        eq = rec[k.R_EQUITY]
        end = eq[edges[1:] - 1]
        start = np.concatenate(([cash], end[:-1]))
        rets[v] = end / start - 1.0
    return {"stats": stats, "period_returns": rets, "seconds": time.perf_counter() - t0}


def equity_curve(
    strategy: str,
    data: Mapping[str, Any],
    x: np.ndarray | None,
    params: Mapping[str, Any],
    config: Any,
) -> np.ndarray:
    """One variant's per-bar equity (for the top-N chart)."""
    module = registry.get(strategy)
    sig = _signals(module, params, data, x)
    rec = np.empty((k.N_REC, data["close"].shape[0]))
    k.simulate(
        data["open"], data["high"], data["low"], data["close"], data["rates"], data["slip_abs"],
        sig.entry, sig.entry_kind, sig.entry_price, sig.stop, sig.target, sig.trail,
        sig.exit_long, sig.exit_short, config.vector(), np.zeros(k.N_STATS),
        np.zeros((0, k.N_TRADE_COLS)), rec,
    )  # fmt: skip
    return rec[k.R_EQUITY].copy()
