"""A batch of strategy variants on one dataset, evaluated in one process (one Ray task).

Per variant: the strategy's signals (SMC strategies: their numba kernel on the shared detector
matrix; others: ``generate``), then one ``engine.simulate`` call that fills the summary
accumulators *and* the equity record in the same pass. Results are compact: the engine's
stats row (metrics come from ``runner.metrics_from_stats``, as in ``fractal backtest``) and
the compounded return of each of ``periods`` equal slices of the bars (the matrix the
overfitting statistics read). The record buffer is reused across the batch.
"""

from __future__ import annotations

import resource
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


class _SmaCrossBatch:
    """sma_cross signals for many variants with buffers reused and each window's SMA computed
    once per batch: the same functions ``sma_cross.generate`` calls (sma, _cross), so the
    arrays are identical, without ~34 MB of fresh signal pages per 1M-bar variant."""

    def __init__(self, close: np.ndarray) -> None:
        from strategies.signals import MARKET

        n = close.shape[0]
        self.close = np.ascontiguousarray(close, dtype=np.float64)
        self.smas: dict[int, np.ndarray] = {}
        self.entry = np.zeros(n, dtype=np.int8)
        self.exit_long = np.zeros(n, dtype=np.bool_)
        nan = np.full(n, np.nan)
        self.fixed = {
            "entry_kind": np.full(n, MARKET, dtype=np.int8), "entry_price": nan, "stop": nan,
            "target": nan, "trail": nan, "exit_short": np.zeros(n, dtype=np.bool_),
        }  # fmt: skip

    def _sma(self, w: int) -> np.ndarray:
        from strategies.sma_cross import sma

        if w not in self.smas:
            self.smas[w] = sma(self.close, w)
        return self.smas[w]

    def signals(self, module: Any, params: Mapping[str, Any]) -> Signals:
        from strategies.sma_cross import _cross

        p = module.Params.model_validate(dict(params))
        _cross(self._sma(p.fast), self._sma(p.slow), self.entry, self.exit_long)
        return Signals(entry=self.entry, exit_long=self.exit_long, **self.fixed)


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
    config = config.for_market(data.get("venue"), data.get("symbol"))
    cfg = config.vector()
    stats = np.zeros((len(params), k.N_STATS))
    rets = np.zeros((len(params), periods))
    rec = np.empty((k.N_REC, n))
    no_trades = np.zeros((0, k.N_TRADE_COLS))
    edges = period_edges(n, periods)
    cash = cfg[k.C_CASH]
    sma_batch = _SmaCrossBatch(c) if module.NAME == "sma_cross" and x is None else None
    smc_batch = _KernelBatch(n) if x is not None and hasattr(module, "spec") else None
    for v, p in enumerate(params):
        if smc_batch is not None:
            assert x is not None
            sig = smc_batch.signals(module, p, x)
        elif sma_batch is not None:
            sig = sma_batch.signals(module, p)
        else:
            sig = _signals(module, p, data, x)
        if sma_batch is None:  # sma_cross rows are valid by construction: 0/1 market entries
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
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"stats": stats, "period_returns": rets, "seconds": time.perf_counter() - t0,
            "peak_rss_mb": rss_mb}  # fmt: skip


def equity_curve(
    strategy: str,
    data: Mapping[str, Any],
    x: np.ndarray | None,
    params: Mapping[str, Any],
    config: Any,
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
