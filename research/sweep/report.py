"""The honest-evaluation part of every sweep report: DSR, PBO, PSR and walk-forward IS/OOS.

Input: the sweep's rows with each variant's returns over equal slices of the bars (periods).
Per dataset (variants compete on the same bars): PBO by CSCV over all variants; the chosen
variant = best full-sample Sharpe, with its PSR, its DSR (N = variants tried on that dataset,
V = variance of their per-period Sharpes), and walk-forward selection re-done on each fold
(anchored and rolling windows): the variant chosen in-sample is scored on the next
out-of-sample block. The headline numbers are those of the dataset of the best variant.

Statistics are the engine helper's (strategies/overfitting.py: PSR, DSR, PBO by CSCV;
research/validation/walkforward.py: folds and the IS-best's OOS report), fed with the period
return matrix. Walk-forward here re-selects among the variants already run over the whole
series (detectors are causal, docs/research.md §9), so an OOS block does not start flat: a
position open at a block boundary carries over, as it would live.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from research.sweep.results import returns_matrix
from research.validation.walkforward import walk_forward, walk_forward_splits
from strategies import overfitting as of

DSR_PASS = 0.95
PBO_PASS = 0.5
FOLDS = 4


def _sharpes(m: np.ndarray) -> np.ndarray:
    """Per-period Sharpe of every column (ddof=1, as strategies.overfitting)."""
    if m.shape[0] < 2:
        return np.zeros(m.shape[1])
    sd = m.std(0, ddof=1)
    return np.where(sd > 0, m.mean(0) / np.where(sd > 0, sd, 1.0), 0.0)


def _walk_forward(m: np.ndarray, mode: str, ann: float) -> dict[str, Any]:
    """IS choice per fold over the variants' period returns, scored on the next OOS block."""

    def evaluate(start: int, stop: int) -> pd.DataFrame:
        return pd.DataFrame({"sharpe": _sharpes(m[start:stop]) * ann})

    folds = walk_forward_splits(m.shape[0], FOLDS, mode)  # type: ignore[arg-type]
    wf = walk_forward(evaluate, folds, "sharpe")
    chained = np.concatenate([m[f.fold.out_of_sample, f.best] for f in wf.folds])
    return {
        "folds": wf.frame().to_dict("records"),
        "is_sharpe": float(np.mean(wf.is_objective)),
        "oos_sharpe": float(_sharpes(chained[:, None])[0] * ann),
        "efficiency": float(wf.efficiency) if math.isfinite(wf.efficiency) else 0.0,
        "survival_rate": wf.survival_rate,
        "median_oos_rank": wf.median_oos_rank,
        "verdict": wf.verdict(),
    }


def _pbo(m: np.ndarray) -> dict[str, Any]:
    n_splits = min(16, (m.shape[0] // 2) // 2 * 2)
    if m.shape[1] < 2 or n_splits < 2:
        return {"pbo": 0.0, "prob_oos_loss": 0.0, "slope": 0.0, "lambdas": [],
                "note": "PBO needs at least 2 variants (no selection among them)"}  # fmt: skip
    r = of.pbo_cscv(m, n_splits=n_splits)
    return {"pbo": r.pbo, "prob_oos_loss": r.prob_oos_loss, "slope": r.slope,
            "lambdas": r.logits.tolist(), "splits": r.n_combinations}  # fmt: skip


def _dataset_report(df: pd.DataFrame) -> dict[str, Any]:
    m = returns_matrix(df)
    periods = m.shape[0]
    bars = int(df["bars"].iloc[0])
    ppy = float(df["ppy"].iloc[0])
    ann = math.sqrt(ppy * periods / bars) if ppy > 0 and bars > 0 else 1.0
    best = int(np.nanargmax(df["sharpe"].to_numpy()))
    srs = _sharpes(m)
    chosen = m[:, best]
    dsr = of.deflated_sharpe(chosen, srs) if len(df) > 1 else of.probabilistic_sharpe(chosen)
    return {
        "symbol": df["symbol"].iloc[0], "timeframe": df["timeframe"].iloc[0],
        "variants": len(df), "periods": periods,
        "best_variant_id": df["variant_id"].iloc[best],
        "best_sharpe": float(df["sharpe"].iloc[best]),
        "psr": of.probabilistic_sharpe(chosen), "dsr": float(dsr),
        **_pbo(m),
        "walk_forward": {"anchored": _walk_forward(m, "anchored", ann),
                         "rolling": _walk_forward(m, "rolling", ann)},
    }  # fmt: skip


def honest_report(rows: pd.DataFrame) -> dict[str, Any]:
    """The overfitting report of a sweep (rows need ``period_returns``, ``sharpe``, ``bars``,
    ``ppy``)."""
    if len(rows) == 0:
        return {"dsr": 0.0, "pbo": 1.0, "psr": 0.0, "survives": False, "verdict": "no variants",
                "datasets": []}  # fmt: skip
    per = [_dataset_report(g) for _, g in rows.groupby(["symbol", "timeframe"], sort=False)]
    head = max(per, key=lambda r: r["best_sharpe"])
    wf = head["walk_forward"]
    reasons = []
    if head["best_sharpe"] <= 0:
        reasons.append(f"its full-sample Sharpe is {head['best_sharpe']:.2f}")
    for name in ("anchored", "rolling"):
        if wf[name]["oos_sharpe"] <= 0:
            reasons.append(f"{name} walk-forward OOS Sharpe is {wf[name]['oos_sharpe']:.2f}")
    if head["dsr"] < DSR_PASS:
        reasons.append(f"DSR {head['dsr']:.2f} < {DSR_PASS}")
    if head["pbo"] >= PBO_PASS:
        reasons.append(f"PBO {head['pbo']:.2f} >= {PBO_PASS}")
    survives = not reasons
    verdict = (
        "the best variant survives out of sample"
        if survives
        else "the best variant does NOT survive out of sample: " + "; ".join(reasons)
    )
    return {"dsr": head["dsr"], "pbo": head["pbo"], "psr": head["psr"],
            "survives": survives, "verdict": verdict, "datasets": per}  # fmt: skip
