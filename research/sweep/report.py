"""The honest-evaluation part of every sweep report: DSR, PBO, PSR and walk-forward IS/OOS.

Input: the sweep's rows with each variant's returns over equal slices of the bars (periods).
Per dataset (variants compete on the same bars): PBO by CSCV over all variants; the chosen
variant = best full-sample Sharpe, with its PSR, its DSR (N = variants tried on that dataset,
V = variance of their per-period Sharpes), and walk-forward selection re-done on each fold
(anchored and rolling windows): the variant chosen in-sample is scored on the next
out-of-sample block. The headline numbers are those of the dataset of the best variant.

Walk-forward here re-selects among the variants already run over the whole series (detectors
are causal, docs/research.md §9), so an OOS block does not start flat: the positions open at a
block boundary carry over, as they would in the live system.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from research.sweep import honest
from research.sweep.results import returns_matrix

DSR_PASS = 0.95
PBO_PASS = 0.5


def _per_period_sharpe(r: np.ndarray) -> np.ndarray:
    sd = r.std(0)
    return np.where(sd > 0, r.mean(0) / np.where(sd > 0, sd, 1.0), 0.0)


def walk_forward(m: np.ndarray, anchored: bool, ann: float) -> dict[str, Any]:
    """Per-fold IS choice and its OOS Sharpe; the chained OOS track's Sharpe (annualised)."""
    t = m.shape[0]
    test = max(1, t // 8)
    folds, chained, is_sh = [], [], []
    for is_rng, oos_rng in honest.walk_forward_splits(t, t // 2, test, anchored):
        ins = m[is_rng.start : is_rng.stop]
        best = int(_per_period_sharpe(ins).argmax())
        oos = m[oos_rng.start : oos_rng.stop, best]
        chained.append(oos)
        is_sh.append(float(_per_period_sharpe(ins)[best]) * ann)
        folds.append({"is": [is_rng.start, is_rng.stop], "oos": [oos_rng.start, oos_rng.stop],
                      "chosen": best, "is_sharpe": is_sh[-1],
                      "oos_sharpe": float(_per_period_sharpe(oos[:, None])[0]) * ann})  # fmt: skip
    track = np.concatenate(chained) if chained else np.zeros(0)
    oos_sh = float(_per_period_sharpe(track[:, None])[0]) * ann if track.size else 0.0
    mean_is = float(np.mean(is_sh)) if is_sh else 0.0
    return {"folds": folds, "oos_sharpe": oos_sh, "is_sharpe": mean_is,
            "efficiency": oos_sh / mean_is if mean_is > 0 else 0.0}  # fmt: skip


def _dataset_report(df: pd.DataFrame) -> dict[str, Any]:
    m = returns_matrix(df)
    periods = m.shape[0]
    bars = int(df["bars"].iloc[0])
    ppy = float(df["ppy"].iloc[0]) if "ppy" in df else 0.0
    ann = math.sqrt(ppy * periods / bars) if ppy > 0 and bars > 0 else 1.0
    best = int(np.nanargmax(df["sharpe"].to_numpy())) if len(df) else 0
    srs = _per_period_sharpe(m)
    var = float(srs.var()) if len(df) > 1 else 0.0
    pbo = honest.pbo_cscv(m)
    return {
        "symbol": df["symbol"].iloc[0], "timeframe": df["timeframe"].iloc[0],
        "variants": len(df), "periods": periods,
        "best_variant_id": df["variant_id"].iloc[best],
        "best_sharpe": float(df["sharpe"].iloc[best]),
        "psr": honest.psr(m[:, best]),
        "dsr": honest.dsr(m[:, best], len(df), var),
        "pbo": float(pbo["pbo"]), "prob_oos_loss": float(pbo["prob_oos_loss"]),  # type: ignore[arg-type]
        "oos_is_slope": float(pbo["slope"]),  # type: ignore[arg-type]
        "lambdas": pbo["lambdas"],
        "walk_forward": {"anchored": walk_forward(m, True, ann),
                         "rolling": walk_forward(m, False, ann)},
    }  # fmt: skip


def honest_report(rows: pd.DataFrame) -> dict[str, Any]:
    """The overfitting report of a sweep (rows need ``period_returns``, ``sharpe``, ``bars``)."""
    if len(rows) == 0:
        return {"dsr": 0.0, "pbo": 1.0, "survives": False, "verdict": "no variants", "datasets": []}
    per = [_dataset_report(g) for _, g in rows.groupby(["symbol", "timeframe"], sort=False)]
    head = max(per, key=lambda r: r["best_sharpe"])
    wf = head["walk_forward"]
    reasons = []
    if head["best_sharpe"] <= 0:
        reasons.append(f"its in-sample Sharpe is {head['best_sharpe']:.2f}")
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
