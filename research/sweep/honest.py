"""PLACEHOLDER statistics (PSR, DSR, PBO by CSCV, walk-forward splits) until the `engine`
helper's implementation lands on wt/engine; the sweep report calls only these four names, so
swapping them for the real module is a one-file change. Formulas: docs/research.md §8-9."""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import numpy as np

_N = NormalDist()
EULER = 0.5772156649015329


def _moments(r: np.ndarray) -> tuple[float, float, float]:
    """Per-period Sharpe, skewness, kurtosis (3 if normal) of one return series."""
    sd = float(r.std())
    if r.size < 2 or sd == 0.0:
        return 0.0, 0.0, 3.0
    z = (r - r.mean()) / sd
    return float(r.mean()) / sd, float((z**3).mean()), float((z**4).mean())


def psr(returns: np.ndarray, sr_star: float = 0.0) -> float:
    """Probabilistic Sharpe ratio of a per-period return series against ``sr_star``."""
    r = np.asarray(returns, dtype=np.float64)
    sr, g3, g4 = _moments(r)
    denom = 1.0 - g3 * sr + (g4 - 1.0) / 4.0 * sr * sr
    if r.size < 2 or denom <= 0.0:
        return 0.0
    return _N.cdf((sr - sr_star) * math.sqrt(r.size - 1) / math.sqrt(denom))


def dsr(returns: np.ndarray, trials: int, sr_variance: float) -> float:
    """Deflated Sharpe ratio: PSR against the best Sharpe of ``trials`` skill-less trials."""
    if trials <= 1 or sr_variance <= 0.0:
        return psr(returns, 0.0)
    sr0 = math.sqrt(sr_variance) * (
        (1 - EULER) * _N.inv_cdf(1 - 1 / trials) + EULER * _N.inv_cdf(1 - 1 / (trials * math.e))
    )
    return psr(returns, sr0)


def pbo_cscv(matrix: np.ndarray, blocks: int = 16) -> dict[str, float | list[float]]:
    """PBO by CSCV on a (periods, variants) return matrix, Sharpe as the statistic."""
    t, n = matrix.shape
    s = min(blocks, t - t % 2) if t >= 2 else 0
    s -= s % 2
    if s < 2 or n < 1:
        return {"pbo": 1.0, "lambdas": [], "prob_oos_loss": 1.0, "slope": 0.0}
    edges = np.linspace(0, t, s + 1).astype(int)
    b1 = np.stack([matrix[edges[i] : edges[i + 1]].sum(0) for i in range(s)])
    b2 = np.stack([(matrix[edges[i] : edges[i + 1]] ** 2).sum(0) for i in range(s)])
    cnt = np.diff(edges).astype(float)
    combos = np.array(
        [[i in c for i in range(s)] for c in itertools.combinations(range(s), s // 2)]
    )
    lam, oos_best, is_best = [], [], []
    for lo in range(0, len(combos), 512):
        c = combos[lo : lo + 512].astype(float)
        sh_is = _sharpe(c @ b1, c @ b2, c @ cnt)
        sh_oos = _sharpe((1 - c) @ b1, (1 - c) @ b2, (1 - c) @ cnt)
        best = sh_is.argmax(1)
        rows = np.arange(len(c))
        oos_of_best = sh_oos[rows, best]
        rank = (sh_oos < oos_of_best[:, None]).sum(1) + 1  # ascending, 1 = worst
        w = rank / (n + 1)
        lam.extend(np.log(w / (1 - w)).tolist())
        oos_best.extend(oos_of_best.tolist())
        is_best.extend(sh_is[rows, best].tolist())
    la = np.array(lam)
    ob, ib = np.array(oos_best), np.array(is_best)
    slope = float(np.polyfit(ib, ob, 1)[0]) if np.ptp(ib) > 0 else 0.0
    return {"pbo": float((la <= 0).mean()), "lambdas": lam, "prob_oos_loss": float((ob < 0).mean()),
            "slope": slope}  # fmt: skip


def _sharpe(s1: np.ndarray, s2: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    c = cnt[:, None] if s1.ndim == 2 else cnt
    mean = s1 / c
    var = np.maximum(s2 / c - mean * mean, 0.0)
    sd = np.sqrt(var)
    return np.where(sd > 0, mean / np.where(sd > 0, sd, 1.0), 0.0)


def walk_forward_splits(n: int, train: int, test: int, anchored: bool) -> list[tuple[range, range]]:
    """(IS, OOS) index ranges: OOS blocks of ``test`` after ``train`` (rolling: a fixed IS
    window; anchored: IS from 0)."""
    out = []
    start = train
    while start + test <= n:
        out.append((range(0 if anchored else start - train, start), range(start, start + test)))
        start += test
    return out
