"""The sweep's honest-evaluation report on synthetic period returns: luck is called luck,
a real edge survives."""

from __future__ import annotations

import numpy as np
import pandas as pd

from research.sweep.report import honest_report


def _rows(m: np.ndarray) -> pd.DataFrame:
    t, n = m.shape
    sd = m.std(0, ddof=1)
    return pd.DataFrame(
        {
            "variant_id": [f"v{j}" for j in range(n)],
            "symbol": "BTC", "timeframe": "1h", "bars": t * 10, "ppy": 8760.0,
            "sharpe": m.mean(0) / sd * np.sqrt(876.0),
            "period_returns": list(m.T),
        }
    )  # fmt: skip


def test_best_of_many_noise_variants_does_not_survive() -> None:
    rng = np.random.default_rng(5)
    rep = honest_report(_rows(rng.normal(0.0, 0.01, (256, 200))))
    assert not rep["survives"]
    assert rep["verdict"].startswith("the best variant does NOT survive out of sample")
    assert rep["dsr"] < 0.95
    assert 0.0 <= rep["pbo"] <= 1.0
    wf = rep["datasets"][0]["walk_forward"]
    assert len(wf["anchored"]["folds"]) == 4 and len(wf["rolling"]["folds"]) == 4


def test_a_real_edge_survives() -> None:
    rng = np.random.default_rng(6)
    m = rng.normal(0.0, 0.01, (256, 50))
    m[:, 7] += 0.004  # per-period Sharpe ~0.4 on every block
    rep = honest_report(_rows(m))
    d = rep["datasets"][0]
    assert d["best_variant_id"] == "v7"
    assert rep["survives"], rep["verdict"]
    assert rep["dsr"] > 0.95 and rep["pbo"] < 0.5
    assert d["walk_forward"]["anchored"]["oos_sharpe"] > 0


def test_single_variant_is_reported_without_selection() -> None:
    rng = np.random.default_rng(7)
    rep = honest_report(_rows(rng.normal(0.001, 0.01, (64, 1))))
    assert rep["pbo"] == 0.0 and 0.0 <= rep["dsr"] <= 1.0
    assert "at least 2 variants" in rep["datasets"][0]["note"]
