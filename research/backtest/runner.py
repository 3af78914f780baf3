"""Python entry points to the numba core: one backtest with records, or a grid of summaries."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from research.backtest import engine as k
from research.backtest.bars import Bars, atr
from research.backtest.config import BacktestConfig
from research.backtest.funding import FundingAlignment
from research.backtest.result import BacktestResult, trades_frame
from strategies import metrics as m
from strategies.signals import SignalError, Signals

SIGNAL_FIELDS = (
    "entry", "entry_kind", "entry_price", "stop", "target", "trail", "exit_long", "exit_short",
)  # fmt: skip
_DTYPES = {
    "entry": np.int8, "entry_kind": np.int8, "exit_long": np.bool_, "exit_short": np.bool_,
}  # fmt: skip


_NO_REC = np.empty((k.N_REC, 0))
_NO_FUNDING = np.empty((1, 0))  # the kernels skip funding entirely on an empty array


@functools.lru_cache(maxsize=4)
def _zeros(n: int) -> np.ndarray:
    """A shared zero row (no ATR slippage): fresh pages for an 8 MB row per 1M-bar call cost
    more than half the simulation. Never written: the kernels only read it (left writeable so
    numba compiles one signature, not a read-only twin)."""
    return np.zeros(n)


def _inputs(
    bars: Bars, config: BacktestConfig, funding: FundingAlignment | None
) -> tuple[np.ndarray, np.ndarray]:
    n = len(bars)
    rates = _NO_FUNDING
    if funding is not None and config.costs.funding:
        if np.shape(funding.rates) != (n,):
            raise ValueError(f"funding rates: expected {n} bars, got {np.shape(funding.rates)}")
        rates = funding.kernel_rows()
    slip_abs = _zeros(n)
    if config.costs.slippage_atr > 0:
        slip_abs = np.zeros(n)
        a = atr(bars)
        # the fill at bar i may only use the ATR known at bar i-1's close
        slip_abs[1:] = np.nan_to_num(a[:-1], nan=0.0) * config.costs.slippage_atr
    return rates, slip_abs


_VALID: dict[int, weakref.ref[np.ndarray]] = {}  # id(signals) -> the close checked against


def _validated(signals: Signals, close: np.ndarray) -> None:
    """signals.validate(close), once per (Signals, close array) pair while both live.

    Why: validation scans every 1M-element array (~4 ms, a third of the simulation) and
    sweeps re-run the same signals under many configs. Signals is frozen; mutating its
    arrays in place after a run is outside the contract and is not re-checked."""
    key = id(signals)
    ref = _VALID.get(key)
    if ref is not None and ref() is close:
        return
    signals.validate(close)
    if ref is None:
        weakref.finalize(signals, _VALID.pop, key, None)
    _VALID[key] = weakref.ref(close)


def _check_sizing(config: BacktestConfig, stop: np.ndarray, entry: np.ndarray) -> None:
    if config.sizing == "risk":
        bad = (entry != 0) & np.isnan(stop)
        if bad.any():
            raise SignalError(
                f"risk sizing needs a stop on every entry; bar {int(np.flatnonzero(bad)[0])} "
                "has none (use sizing='fraction' or 'all_in', or set a stop)"
            )


def run_backtest(
    bars: Bars,
    signals: Signals,
    config: BacktestConfig | None = None,
    funding: FundingAlignment | None = None,
) -> BacktestResult:
    """One backtest with trade records and per-bar equity/cash/position."""
    config = config or BacktestConfig()
    n = len(bars)
    if len(signals) != n:
        raise SignalError(f"signals have {len(signals)} bars, prices have {n}")
    _validated(signals, bars.close)
    _check_sizing(config, signals.stop, signals.entry)
    rates, slip_abs = _inputs(bars, config, funding)
    cap = int(np.count_nonzero(signals.entry)) + 1
    trades = np.zeros((cap, k.N_TRADE_COLS))
    stats = np.zeros(k.N_STATS)
    vec = config.vector()
    args = (
        bars.open, bars.high, bars.low, bars.close, rates, slip_abs,
        signals.entry, signals.entry_kind, signals.entry_price, signals.stop, signals.target,
        signals.trail, signals.exit_long, signals.exit_short, vec,
    )  # fmt: skip
    count = k.simulate(*args, stats, trades, _NO_REC)
    idx = bars.index

    def curves() -> tuple[pd.Series, pd.Series, pd.Series]:
        """Re-run the (deterministic) kernel with per-bar records, on first access."""
        rec = np.empty((k.N_REC, n))
        k.simulate(*args, np.zeros(k.N_STATS), np.zeros((0, k.N_TRADE_COLS)), rec)
        return (
            pd.Series(rec[k.R_EQUITY], index=idx, name="equity", copy=False),
            pd.Series(rec[k.R_CASH], index=idx, name="cash", copy=False),
            pd.Series(rec[k.R_POSITION], index=idx, name="position", copy=False),
        )

    tdf = trades_frame(trades[:count], idx)
    metrics = metrics_from_stats(stats, config.initial_cash, n, m.periods_per_year(bars.timeframe))
    info: dict[str, Any] = {
        "bars": n,
        "timeframe": bars.timeframe,
        "start": str(idx[0]),
        "end": str(idx[-1]),
        "funding_applied": bool(funding is not None and config.costs.funding),
    }
    if funding is not None:
        info["funding_prints_used"] = funding.prints_used
        info["funding_missing_prints"] = funding.missing_prints
    return BacktestResult(trades=tdf, metrics=metrics, info=info, curves=curves)


def _as_2d(name: str, a: npt.ArrayLike | None, n: int) -> np.ndarray:
    dtype = _DTYPES.get(name, np.float64)
    if a is None:
        fill: Any = {"entry": 0, "entry_kind": 0, "exit_long": False, "exit_short": False}.get(
            name, np.nan
        )
        return np.full((1, n), fill, dtype=dtype)
    arr = np.asarray(a)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n:
        raise SignalError(f"{name}: expected shape (variants, {n}) or ({n},), got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=dtype)


def _grid_inputs(
    bars: Bars,
    signals: Mapping[str, npt.ArrayLike | None],
    configs: BacktestConfig | Sequence[BacktestConfig] | None,
    funding: FundingAlignment | None,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, int]:
    """Checked kernel inputs of a grid: (signal arrays, config rows, funding, slippage, V)."""
    unknown = set(signals) - set(SIGNAL_FIELDS)
    if unknown:
        raise SignalError(f"unknown signal field(s): {', '.join(sorted(unknown))}")
    n = len(bars)
    arrs = {f: _as_2d(f, signals.get(f), n) for f in SIGNAL_FIELDS}
    rows = {a.shape[0] for a in arrs.values()} - {1}
    if len(rows) > 1:
        raise SignalError(f"signal arrays disagree on the number of variants: {sorted(rows)}")
    cfgs = [configs or BacktestConfig()] if not isinstance(configs, Sequence) else list(configs)
    if not cfgs:
        raise ValueError("configs is empty")
    v_count = max(rows | {len(cfgs)})
    if len(cfgs) not in (1, v_count) or (rows and max(rows) != v_count):
        raise ValueError(f"{len(cfgs)} configs for {max(rows | {1})} signal variants")
    if any(c.sizing == "risk" for c in cfgs):
        bad = (arrs["entry"] != 0) & np.isnan(arrs["stop"])
        if bad.any():
            raise SignalError("risk sizing needs a stop on every entry")
    rates, slip_abs = _inputs(bars, cfgs[0], funding)
    cfg = np.stack([c.vector() for c in cfgs])
    return arrs, cfg, rates, slip_abs, v_count


def run_grid(
    bars: Bars,
    signals: Mapping[str, npt.ArrayLike | None],
    configs: BacktestConfig | Sequence[BacktestConfig] | None = None,
    funding: FundingAlignment | None = None,
) -> pd.DataFrame:
    """Many variants in one parallel numba call; one summary row per variant, no curves.

    `signals` maps Signals field names to (V, n) arrays or (n,) arrays shared by all variants.
    Costs, slippage and funding come from the first config (they describe the market)."""
    arrs, cfg, rates, slip_abs, v_count = _grid_inputs(bars, signals, configs, funding)
    stats = np.zeros((v_count, k.N_STATS))
    k.simulate_batch(  # type: ignore[call-arg]
        bars.open, bars.high, bars.low, bars.close, rates, slip_abs,
        *(arrs[f] for f in SIGNAL_FIELDS), cfg, stats,
    )  # fmt: skip
    return grid_summary(stats, cfg[:, k.C_CASH], len(bars), m.periods_per_year(bars.timeframe))


def grid_returns(
    bars: Bars,
    signals: Mapping[str, npt.ArrayLike | None],
    configs: BacktestConfig | Sequence[BacktestConfig] | None = None,
    funding: FundingAlignment | None = None,
    every: int = 1,
) -> np.ndarray:
    """The (T, V) matrix of per-period simple returns of each variant of a grid (the input of
    strategies.overfitting.pbo_cscv), same inputs as run_grid.

    Equity is sampled at the close of bars every-1, 2*every-1, ... (e.g. every=96 on 15m bars:
    daily returns); the first return is against the initial cash, a trailing partial period
    is left out. One record-mode run per variant, reusing one (3, n) buffer: memory is
    O(n + T x V), time about one single run per variant."""
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    arrs, cfg, rates, slip_abs, v_count = _grid_inputs(bars, signals, configs, funding)
    n = len(bars)
    t = n // every
    if t < 1:
        raise ValueError(f"{n} bars hold no period of {every} bars")
    rec = np.empty((k.N_REC, n))
    stats = np.zeros(k.N_STATS)
    no_trades = np.empty((0, k.N_TRADE_COLS))
    out = np.empty((t, v_count))
    picks = np.arange(every - 1, t * every, every)
    for v in range(v_count):
        row = {f: a[0 if a.shape[0] == 1 else v] for f, a in arrs.items()}
        c_row = cfg[0 if cfg.shape[0] == 1 else v]
        k.simulate(  # type: ignore[call-arg]
            bars.open, bars.high, bars.low, bars.close, rates, slip_abs,
            *(row[f] for f in SIGNAL_FIELDS), c_row, stats, no_trades, rec,
        )  # fmt: skip
        eq = np.concatenate(([c_row[k.C_CASH]], rec[k.R_EQUITY, picks]))
        out[:, v] = m.bar_returns(eq)
    return out


def metrics_from_stats(stats: np.ndarray, cash: float, n: int, ppy: float) -> dict[str, float]:
    """Headline metrics of one variant from the engine's online accumulators.

    Why not from the curve: grid runs keep no curve, and single runs must report exactly what
    the grid reports for the same variant (tests check both against strategies.metrics)."""
    s = stats
    trades = int(s[k.S_TRADES])
    growth = m.cagr(cash, float(s[k.S_EQUITY]), n, ppy)
    gw, gl = float(s[k.S_GROSS_WIN]), float(s[k.S_GROSS_LOSS])
    return {
        "total_return": float(s[k.S_EQUITY]) / cash - 1.0,
        "cagr": growth,
        "sharpe": m.sharpe_from_moments(n, s[k.S_SUM_R], s[k.S_SUM_R2], ppy),
        "sortino": m.sortino_from_moments(n, s[k.S_SUM_R], s[k.S_SUM_DOWN2], ppy),
        "max_drawdown": float(s[k.S_MAX_DD]),
        "max_drawdown_bars": float(s[k.S_DD_BARS]),
        "calmar": m.calmar(growth, float(s[k.S_MAX_DD])),
        "trade_count": float(trades),
        "win_rate": float(s[k.S_WINS]) / trades if trades else 0.0,
        "profit_factor": gw / gl if gl > 0 else (np.inf if gw > 0 else 0.0),
        "expectancy": (gw - gl) / trades if trades else 0.0,
        "exposure": float(s[k.S_EXPOSURE]) / n,
        "fees_paid": float(s[k.S_FEES]),
        "funding_paid": -float(s[k.S_FUNDING]),
        "liquidations": float(s[k.S_LIQUIDATIONS]),
        "skipped_entries": float(s[k.S_SKIPPED]),
        "final_equity": float(s[k.S_EQUITY]),
    }


def grid_summary(stats: np.ndarray, cash: np.ndarray, n: int, ppy: float) -> pd.DataFrame:
    """One row of metrics_from_stats per variant."""
    cash = np.broadcast_to(cash, (stats.shape[0],))
    return pd.DataFrame(
        [metrics_from_stats(s, float(c0), n, ppy) for s, c0 in zip(stats, cash, strict=True)]
    )
