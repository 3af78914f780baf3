"""Honest-evaluation statistics for a sweep: PSR, DSR, MinTRL, PBO by CSCV (research.md §8).

A sweep that tries N variants and reports the best one reports a maximum of N noisy estimates:
its Sharpe is biased upwards, more so the more variants were tried, the shorter the track and
the fatter the tails. These functions say how much of it survives:

* `probabilistic_sharpe` (PSR): the probability that the true Sharpe exceeds a benchmark, given
  the track length, skewness and kurtosis of the returns;
* `deflated_sharpe` (DSR): PSR against the Sharpe the best of N skill-less trials would reach
  by luck alone;
* `pbo_cscv` (PBO): how often the in-sample winner of the N variants falls to or below the
  out-of-sample median, over all combinatorially symmetric splits of the data.

Conventions (as in the papers): `returns` are per-period simple returns; a Sharpe ratio here is
per period, NOT annualised (mean / standard deviation, ddof=1, risk-free 0); skewness and
kurtosis are the sample moments m3 / m2^1.5 and m4 / m2^2 (kurtosis 3 for a normal law, not
excess). Pure numpy + the standard library's NormalDist (no scipy in the runtime dependencies).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
EULER_GAMMA = 0.5772156649015329
_N01 = NormalDist()


def _series(returns: npt.ArrayLike) -> FloatArray:
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1:
        raise ValueError(f"returns must be 1-D, got shape {r.shape}")
    if r.size < 3:
        raise ValueError(f"need at least 3 returns, got {r.size}")
    if not np.isfinite(r).all():
        raise ValueError("returns contain NaN or inf")
    return r


def sharpe_ratio(returns: npt.ArrayLike) -> float:
    """Per-period Sharpe ratio mean / std (ddof=1); 0 for a constant series."""
    r = _series(returns)
    sd = float(r.std(ddof=1))
    return float(r.mean()) / sd if sd > 0 else 0.0


def moments(returns: npt.ArrayLike) -> tuple[float, float, float, int]:
    """(Sharpe, skewness, kurtosis, T) of a return series, in this module's conventions."""
    r = _series(returns)
    d = r - r.mean()
    m2 = float(np.mean(d * d))
    if m2 <= 0:
        return 0.0, 0.0, 3.0, r.size
    skew = float(np.mean(d**3)) / m2**1.5
    kurt = float(np.mean(d**4)) / m2**2
    return sharpe_ratio(r), skew, kurt, r.size


def sharpe_std(sr: float, n_obs: int, skew: float = 0.0, kurtosis: float = 3.0) -> float:
    """Standard error of a per-period Sharpe estimate under non-normal returns:

        sigma(SR) = sqrt((1 - g3 SR + (g4 - 1) / 4 SR^2) / (T - 1))

    (Mertens 2002; Bailey & López de Prado 2012, eq. 5). Normal returns give
    sqrt((1 + SR^2 / 2) / (T - 1))."""
    if n_obs < 2:
        raise ValueError(f"need at least 2 observations, got {n_obs}")
    v = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    if v <= 0:
        raise ValueError(
            f"non-positive Sharpe variance (skew={skew}, kurtosis={kurtosis}, SR={sr}): "
            "moments inconsistent"
        )
    return math.sqrt(v / (n_obs - 1))


def psr_from_stats(
    sr: float, n_obs: int, skew: float = 0.0, kurtosis: float = 3.0, sr_benchmark: float = 0.0
) -> float:
    """PSR from summary statistics (per-period SR; see probabilistic_sharpe)."""
    return _N01.cdf((sr - sr_benchmark) / sharpe_std(sr, n_obs, skew, kurtosis))


def probabilistic_sharpe(returns: npt.ArrayLike, sr_benchmark: float = 0.0) -> float:
    """Probabilistic Sharpe Ratio (Bailey & López de Prado, "The Sharpe Ratio Efficient
    Frontier", J. Risk 15(2), 2012):

        PSR(SR*) = Phi( (SR - SR*) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1) / 4 SR^2) )

    The probability that the true Sharpe exceeds `sr_benchmark` (per period, same frequency as
    `returns`), given T returns whose skewness g3 and kurtosis g4 widen (negative skew, fat
    tails) or narrow the estimate's error. In [0, 1]; 0.95 is the usual bar."""
    sr, skew, kurt, t = moments(returns)
    return psr_from_stats(sr, t, skew, kurt, sr_benchmark)


def min_track_record_length(
    returns: npt.ArrayLike, sr_benchmark: float = 0.0, confidence: float = 0.95
) -> float:
    """Minimum Track Record Length (Bailey & López de Prado 2012): the number of returns
    needed for PSR(sr_benchmark) to reach `confidence` at the observed SR, skew and kurtosis:

        MinTRL = 1 + (1 - g3 SR + (g4 - 1) / 4 SR^2) (z_confidence / (SR - SR*))^2

    inf when the observed SR does not exceed the benchmark."""
    sr, skew, kurt, _ = moments(returns)
    if sr <= sr_benchmark:
        return math.inf
    z = _N01.inv_cdf(confidence)
    return 1.0 + (1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr) * (z / (sr - sr_benchmark)) ** 2


def expected_max_sharpe(n_trials: int, var_trials: float) -> float:
    """The Sharpe the best of N skill-less trials reaches by luck (Bailey & López de Prado,
    "The Deflated Sharpe Ratio", JPM 40(5), 2014, eq. 6; False Strategy theorem):

        SR0 = sqrt(V) ((1 - gamma) Phi^-1(1 - 1/N) + gamma Phi^-1(1 - 1/(N e)))

    gamma = Euler–Mascheroni constant, V = variance of the trials' Sharpe ratios (per period).
    0 for a single trial."""
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    if var_trials < 0 or not math.isfinite(var_trials):
        raise ValueError(f"var_trials must be a finite variance >= 0, got {var_trials}")
    if n_trials == 1:
        return 0.0
    z = (1.0 - EULER_GAMMA) * _N01.inv_cdf(1.0 - 1.0 / n_trials) + EULER_GAMMA * _N01.inv_cdf(
        1.0 - 1.0 / (n_trials * math.e)
    )
    return math.sqrt(var_trials) * z


def dsr_from_stats(
    sr: float,
    n_obs: int,
    skew: float,
    kurtosis: float,
    n_trials: int,
    var_trials: float,
) -> float:
    """DSR from summary statistics: PSR(SR0) with SR0 = expected_max_sharpe(N, V)."""
    return psr_from_stats(sr, n_obs, skew, kurtosis, expected_max_sharpe(n_trials, var_trials))


def deflated_sharpe(
    returns: npt.ArrayLike,
    sharpe_trials: npt.ArrayLike,
    n_trials: int | None = None,
) -> float:
    """Deflated Sharpe Ratio (Bailey & López de Prado, JPM 40(5), 2014):

        DSR = PSR(SR0),  SR0 = sqrt(V) ((1 - gamma) Phi^-1(1 - 1/N) + gamma Phi^-1(1 - 1/(N e)))

    `returns`: the chosen variant's per-period returns (gives SR, T, g3, g4).
    `sharpe_trials`: the per-period Sharpe ratios of ALL trials run on this data (grid points,
    Optuna trials, every fold of a walk-forward), the chosen one included; V is their variance
    (ddof=1) and N their number, unless `n_trials` gives the number of independent trials
    (correlated variants count for less). In [0, 1]: the probability that the chosen
    variant's true Sharpe beats the best of N lucky draws; accept at e.g. >= 0.95."""
    s = np.asarray(sharpe_trials, dtype=np.float64).ravel()
    if s.size < 2:
        raise ValueError("sharpe_trials needs the Sharpe ratios of at least 2 trials")
    if not np.isfinite(s).all():
        raise ValueError("sharpe_trials contain NaN or inf")
    n = s.size if n_trials is None else int(n_trials)
    sr, skew, kurt, t = moments(returns)
    return dsr_from_stats(sr, t, skew, kurt, n, float(s.var(ddof=1)))


def min_backtest_length(n_trials: int, max_sharpe: float) -> float:
    """Minimum Backtest Length in years (Bailey, Borwein, López de Prado, Zhu, Notices AMS
    61(5), 2014): with N skill-less trials of unit annualised SR variance, the expected best
    annualised Sharpe stays below `max_sharpe` only on at least this many years of data:

        MinBTL = ((1 - gamma) Phi^-1(1 - 1/N) + gamma Phi^-1(1 - 1/(N e)))^2 / E^2"""
    if max_sharpe <= 0:
        raise ValueError("max_sharpe must be positive")
    return (expected_max_sharpe(n_trials, 1.0) / max_sharpe) ** 2


# ---------------------------------------------------------------- PBO by CSCV


@dataclass(frozen=True)
class PBOResult:
    """Probability of Backtest Overfitting and the data behind it (one entry per split).

    pbo: share of splits whose in-sample best variant ranks at or below the out-of-sample
        median (logit <= 0); in [0, 1], ~0.5 for skill-less variants, ~0 for a truly
        dominant one.
    logits: lambda = ln(w / (1 - w)), w = OOS relative rank of the IS best (the histogram
        to plot).
    is_best: index of the in-sample best variant per split.
    is_perf / oos_perf: that variant's statistic in and out of sample (the performance
        degradation scatter; `slope`/`intercept` are the OOS-on-IS least-squares line,
        a negative slope being the overfitting signature).
    prob_oos_loss: share of splits where the IS best has a negative OOS statistic.
    """

    pbo: float
    logits: FloatArray
    is_best: npt.NDArray[np.int64]
    is_perf: FloatArray
    oos_perf: FloatArray
    slope: float
    intercept: float
    prob_oos_loss: float
    n_splits: int
    n_combinations: int
    rows_used: int


def _block_stat(
    cnt: FloatArray, s1: FloatArray, s2: FloatArray, metric: str
) -> npt.NDArray[np.float64]:
    """Per-variant statistic of a union of blocks from its sums (count, sum r, sum r^2)."""
    mean = s1 / cnt
    if metric == "mean":
        return mean
    var = (s2 - cnt * mean * mean) / (cnt - 1.0)
    sd = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 1e-300, mean / np.where(sd > 1e-300, sd, 1.0), 0.0)


def pbo_cscv(
    returns_matrix: npt.ArrayLike,
    n_splits: int = 16,
    metric: str = "sharpe",
    chunk: int = 2048,
) -> PBOResult:
    """Probability of Backtest Overfitting by combinatorially symmetric cross-validation
    (Bailey, Borwein, López de Prado, Zhu, "The Probability of Backtest Overfitting",
    J. Computational Finance 20(4), 2017):

    1. the T x N matrix of per-period returns of N variants on the same bars is cut into S =
       `n_splits` contiguous row blocks of equal size (the oldest T mod S rows are dropped);
    2. for each of the C(S, S/2) choices of S/2 blocks: in-sample = the chosen blocks,
       out-of-sample = the others (each split's mirror image is also a split);
    3. the statistic (`metric`: "sharpe" per period, or "mean" return) of every variant in and
       out of sample; n* = the in-sample best;
    4. w = ascending rank of n* among the OOS statistics / (N + 1) (ties share their average
       rank), lambda = ln(w / (1 - w));
    5. PBO = share of splits with lambda <= 0.

    Computed from per-block sums (a split's statistic needs only S sums per variant), in
    chunks of `chunk` splits: 12,870 splits x 1,000 variants take a few seconds (numpy)."""
    m = np.asarray(returns_matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"returns_matrix must be 2-D (periods x variants), got shape {m.shape}")
    t, n = m.shape
    if n < 2:
        raise ValueError(f"need at least 2 variants (columns), got {n}")
    if n_splits < 2 or n_splits % 2:
        raise ValueError(f"n_splits must be an even number >= 2, got {n_splits}")
    if t // n_splits < 2:
        raise ValueError(f"{t} periods cannot make {n_splits} blocks of at least 2 rows each")
    if metric not in ("sharpe", "mean"):
        raise ValueError(f"metric must be 'sharpe' or 'mean', got {metric!r}")
    if not np.isfinite(m).all():
        raise ValueError("returns_matrix contains NaN or inf")
    size = t // n_splits
    used = m[t - size * n_splits :].reshape(n_splits, size, n)
    b1 = used.sum(axis=1)  # (S, N)
    b2 = (used * used).sum(axis=1)
    combos = np.array(list(combinations(range(n_splits), n_splits // 2)), dtype=np.int64)
    sel = np.zeros((combos.shape[0], n_splits))
    np.put_along_axis(sel, combos, 1.0, axis=1)
    c_total = sel.shape[0]
    logits = np.empty(c_total)
    best = np.empty(c_total, dtype=np.int64)
    is_perf = np.empty(c_total)
    oos_perf = np.empty(c_total)
    half = float(size * n_splits // 2)
    tot1, tot2 = b1.sum(axis=0), b2.sum(axis=0)
    for a in range(0, c_total, chunk):
        s = sel[a : a + chunk]
        i1, i2 = s @ b1, s @ b2  # (c, N)
        ins = _block_stat(np.full_like(i1, half), i1, i2, metric)
        oos = _block_stat(np.full_like(i1, half), tot1 - i1, tot2 - i2, metric)
        k = np.argmax(ins, axis=1)
        rows = np.arange(k.size)
        o_best = oos[rows, k]
        below = (oos < o_best[:, None]).sum(axis=1)
        ties = (oos == o_best[:, None]).sum(axis=1)
        rank = below + (ties + 1) / 2.0  # 1 = worst
        w = rank / (n + 1.0)
        logits[a : a + k.size] = np.log(w / (1.0 - w))
        best[a : a + k.size] = k
        is_perf[a : a + k.size] = ins[rows, k]
        oos_perf[a : a + k.size] = o_best
    if np.ptp(is_perf) > 0:
        slope, intercept = (float(x) for x in np.polyfit(is_perf, oos_perf, 1))
    else:
        slope, intercept = 0.0, float(oos_perf.mean())
    return PBOResult(
        pbo=float(np.mean(logits <= 0.0)),
        logits=logits,
        is_best=best,
        is_perf=is_perf,
        oos_perf=oos_perf,
        slope=slope,
        intercept=intercept,
        prob_oos_loss=float(np.mean(oos_perf < 0.0)),
        n_splits=n_splits,
        n_combinations=c_total,
        rows_used=size * n_splits,
    )
