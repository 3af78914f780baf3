"""Walk-forward validation: choose on the past, judge on what follows (research.md §9).

A sweep's best variant is chosen on all the data it is judged on; walk-forward separates the
two. The bars are cut into folds; on each fold the variants are scored on the in-sample (IS)
range only, the best is chosen, and its out-of-sample (OOS) scores are what counts. Chained,
the OOS segments are the strategy's walk-forward track record. A sweep report can then say
plainly when its best variant does not survive out of sample.

* `walk_forward_splits` — the folds' index ranges, anchored (IS starts at bar 0 and grows) or
  rolling (IS of fixed length slides forward), with an optional purge/embargo gap between IS
  end and OOS start (>= max(holding period, detector confirmation lag): a trade opened in
  sample must not be scored out of sample, and no IS label may peek into the OOS range).
* `walk_forward` — given `evaluate(start, stop)` returning one row of metrics per variant on
  bars [start, stop), picks the IS best by `objective` on each fold and reports its OOS
  metrics, its OOS rank among all variants and the walk-forward efficiency.
* `grid_evaluator` — such an `evaluate` for `run_grid` over precomputed signal arrays (signals
  computed once on the full series are causal, so slicing them is honest; each range starts
  flat).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from research.backtest.bars import Bars
from research.backtest.config import BacktestConfig
from research.backtest.funding import FundingAlignment
from research.backtest.runner import run_grid


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold: in-sample bars [is_start, is_stop), out-of-sample bars
    [oos_start, oos_stop); oos_start - is_stop is the embargo gap."""

    index: int
    is_start: int
    is_stop: int
    oos_start: int
    oos_stop: int

    @property
    def in_sample(self) -> slice:
        return slice(self.is_start, self.is_stop)

    @property
    def out_of_sample(self) -> slice:
        return slice(self.oos_start, self.oos_stop)


def walk_forward_splits(
    n: int,
    n_folds: int,
    mode: Literal["anchored", "rolling"] = "anchored",
    *,
    oos_size: int | None = None,
    is_size: int | None = None,
    embargo: int = 0,
) -> list[Fold]:
    """Folds over n bars whose OOS ranges tile the end of the series, oldest first.

    OOS ranges: `n_folds` consecutive, non-overlapping blocks of `oos_size` bars (default
    n // (n_folds + 1)) ending at bar n. Fold k's IS range ends `embargo` bars before its OOS
    start; it starts at bar 0 ("anchored") or `is_size` bars before its end ("rolling";
    default: the first fold's anchored length, so every fold has the same IS length).

    Example: n=1000, n_folds=4, anchored -> OOS [200,400) [400,600) [600,800) [800,1000),
    IS [0,200) [0,400) [0,600) [0,800)."""
    if n_folds < 1:
        raise ValueError(f"n_folds must be >= 1, got {n_folds}")
    if embargo < 0:
        raise ValueError(f"embargo must be >= 0, got {embargo}")
    if mode not in ("anchored", "rolling"):
        raise ValueError(f"mode must be 'anchored' or 'rolling', got {mode!r}")
    size = n // (n_folds + 1) if oos_size is None else oos_size
    if size < 1:
        raise ValueError(f"{n} bars cannot hold {n_folds} out-of-sample blocks and an in-sample")
    first_oos = n - n_folds * size
    first_is = first_oos - embargo
    if first_is < 1:
        raise ValueError(
            f"no in-sample bars left: {n} bars, {n_folds} x {size} out-of-sample, embargo {embargo}"
        )
    length = first_is if is_size is None else is_size
    if length < 1 or length > first_is:
        raise ValueError(f"is_size must be in [1, {first_is}], got {is_size}")
    folds = []
    for k in range(n_folds):
        o0 = first_oos + k * size
        i1 = o0 - embargo
        i0 = 0 if mode == "anchored" else i1 - length
        folds.append(Fold(k, i0, i1, o0, o0 + size))
    return folds


@dataclass(frozen=True)
class FoldReport:
    """The IS-best variant of one fold and how it fared out of sample.

    oos_rank: its relative OOS rank among all variants by the objective, in (0, 1] (1 = best,
    0.5 = median); survived: its OOS objective is positive."""

    fold: Fold
    best: int
    is_metrics: dict[str, float]
    oos_metrics: dict[str, float]
    oos_rank: float
    survived: bool


@dataclass(frozen=True)
class WalkForwardResult:
    """Per-fold reports and their summary.

    efficiency: mean OOS objective / mean IS objective of the chosen variants (walk-forward
    efficiency, Pardo 2008, with the objective in place of the annualised return; near 1:
    the IS edge carries over, near 0 or negative: it does not). n_trials: variants x folds,
    the N a deflated Sharpe of the chained OOS track must use (research.md §9)."""

    folds: list[FoldReport]
    objective: str
    n_variants: int
    is_objective: npt.NDArray[np.float64] = field(repr=False)
    oos_objective: npt.NDArray[np.float64] = field(repr=False)

    @property
    def efficiency(self) -> float:
        denom = float(np.mean(self.is_objective))
        return float(np.mean(self.oos_objective)) / denom if denom != 0 else float("nan")

    @property
    def survival_rate(self) -> float:
        return float(np.mean([f.survived for f in self.folds]))

    @property
    def median_oos_rank(self) -> float:
        return float(np.median([f.oos_rank for f in self.folds]))

    @property
    def n_trials(self) -> int:
        return self.n_variants * len(self.folds)

    def frame(self) -> pd.DataFrame:
        """One row per fold: ranges, chosen variant, IS/OOS objective, OOS rank, survived."""
        return pd.DataFrame(
            [
                {
                    "fold": f.fold.index,
                    "is_start": f.fold.is_start,
                    "is_stop": f.fold.is_stop,
                    "oos_start": f.fold.oos_start,
                    "oos_stop": f.fold.oos_stop,
                    "best": f.best,
                    f"is_{self.objective}": f.is_metrics[self.objective],
                    f"oos_{self.objective}": f.oos_metrics[self.objective],
                    "oos_rank": f.oos_rank,
                    "survived": f.survived,
                }
                for f in self.folds
            ]
        )

    def verdict(self) -> str:
        """One plain sentence for a sweep report."""
        k, n = sum(f.survived for f in self.folds), len(self.folds)
        tail = (
            "the in-sample best does NOT survive out of sample"
            if 2 * k <= n
            else "the in-sample best mostly survives out of sample"
        )
        return (
            f"walk-forward: {tail} ({k}/{n} folds with a positive out-of-sample "
            f"{self.objective}; median out-of-sample rank {self.median_oos_rank:.2f}; "
            f"efficiency {self.efficiency:.2f})"
        )


def _rank(values: np.ndarray, j: int) -> float:
    """Relative rank of values[j] (1 = best, ties averaged), NaN counted as worst."""
    v = np.where(np.isnan(values), -np.inf, values)
    below = np.sum(v < v[j])
    ties = np.sum(v == v[j])
    return float((below + (ties + 1) / 2.0) / v.size)


def walk_forward(
    evaluate: Callable[[int, int], pd.DataFrame],
    folds: Sequence[Fold],
    objective: str = "sharpe",
) -> WalkForwardResult:
    """Choose the IS best by `objective` (higher is better) on each fold, report it OOS.

    `evaluate(start, stop)` scores every variant on bars [start, stop): a DataFrame with one
    row per variant (the same variants in the same order on every call), e.g. run_grid's
    summary; `objective` names one of its columns. NaN objectives are never chosen."""
    if not folds:
        raise ValueError("no folds")
    reports: list[FoldReport] = []
    is_obj, oos_obj = [], []
    n_var = -1
    for f in folds:
        ins = evaluate(f.is_start, f.is_stop)
        oos = evaluate(f.oos_start, f.oos_stop)
        for name, df in (("in-sample", ins), ("out-of-sample", oos)):
            if objective not in df.columns:
                raise ValueError(f"{name} metrics of fold {f.index} have no {objective!r} column")
        if len(ins) != len(oos) or len(ins) == 0 or (n_var >= 0 and len(ins) != n_var):
            raise ValueError(
                f"fold {f.index}: evaluate returned {len(ins)} IS and {len(oos)} OOS variants "
                f"(expected the same non-zero number on every call)"
            )
        n_var = len(ins)
        score = ins[objective].to_numpy(dtype=np.float64)
        if np.isnan(score).all():
            raise ValueError(f"fold {f.index}: every in-sample {objective} is NaN")
        best = int(np.nanargmax(score))
        o = oos[objective].to_numpy(dtype=np.float64)
        o_best = float(o[best])
        reports.append(
            FoldReport(
                fold=f,
                best=best,
                is_metrics={str(k): float(v) for k, v in ins.iloc[best].items()},
                oos_metrics={str(k): float(v) for k, v in oos.iloc[best].items()},
                oos_rank=_rank(o, best),
                survived=bool(o_best > 0),
            )
        )
        is_obj.append(float(score[best]))
        oos_obj.append(o_best)
    return WalkForwardResult(reports, objective, n_var, np.array(is_obj), np.array(oos_obj))


def slice_bars(bars: Bars, start: int, stop: int) -> Bars:
    """Bars [start, stop) (already validated: no re-check)."""
    s = slice(start, stop)
    return Bars(bars.ts[s], bars.open[s], bars.high[s], bars.low[s], bars.close[s], bars.timeframe)


def slice_funding(
    funding: FundingAlignment | None, start: int, stop: int
) -> FundingAlignment | None:
    if funding is None:
        return None
    s = slice(start, stop)

    def cut(a: npt.NDArray[np.float64] | None) -> npt.NDArray[np.float64] | None:
        return None if a is None else a[s]

    return FundingAlignment(
        funding.rates[s], funding.prints_used, funding.missing_prints, funding.interval_ms,
        cut(funding.inside_up), cut(funding.inside_down),
    )  # fmt: skip


def grid_evaluator(
    bars: Bars,
    signals: Mapping[str, npt.ArrayLike | None],
    configs: BacktestConfig | Sequence[BacktestConfig] | None = None,
    funding: FundingAlignment | None = None,
) -> Callable[[int, int], pd.DataFrame]:
    """`evaluate(start, stop)` for walk_forward: run_grid on bars [start, stop) with the
    signal arrays ((V, n) or (n,), computed once on the full series) sliced to the range."""
    n = len(bars)
    arrays = {k: (None if v is None else np.asarray(v)) for k, v in signals.items()}

    def evaluate(start: int, stop: int) -> pd.DataFrame:
        if not 0 <= start < stop <= n:
            raise ValueError(f"range [{start}, {stop}) is outside the {n} bars")
        cut = {k: (None if a is None else a[..., start:stop]) for k, a in arrays.items()}
        return run_grid(
            slice_bars(bars, start, stop), cut, configs, slice_funding(funding, start, stop)
        )

    return evaluate
