"""Plotly charts of a sweep (HTML files logged as MLflow artifacts).

Parameter importance is model-free: |Spearman rank correlation| of a numeric parameter with
the Sharpe ratio, and the share of Sharpe variance explained by the groups (eta squared) for a
categorical one. Files load plotly.js from its CDN, so each stays a few kB.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go


def _write(fig: go.Figure, path: Path) -> Path:
    fig.write_html(path, include_plotlyjs="cdn", full_html=True)
    return path


def importance(rows: pd.DataFrame, metric: str = "sharpe") -> pd.Series:
    """Importance of each swept parameter for ``metric`` (in [0, 1])."""
    y = rows[metric].astype(float)
    out = {}
    for col in (c for c in rows.columns if c.startswith("param_")):
        x = rows[col]
        if x.nunique() < 2:
            continue
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            rho = x.rank().corr(y.rank())
            out[col[6:]] = abs(float(rho)) if np.isfinite(rho) else 0.0
        else:
            total = float(((y - y.mean()) ** 2).sum())
            between = float(
                sum(len(g) * (g.mean() - y.mean()) ** 2 for _, g in y.groupby(x.astype(str)))
            )
            out[col[6:]] = between / total if total > 0 else 0.0
    return pd.Series(out, dtype=float).sort_values(ascending=False)


def write_charts(
    rows: pd.DataFrame,
    report: Mapping[str, Any],
    curves: Sequence[tuple[str, np.ndarray, np.ndarray]],
    out_dir: Path,
) -> list[Path]:
    """The four charts; ``curves`` = (label, epoch-ms times, equity) of the top variants."""
    out_dir.mkdir(parents=True, exist_ok=True)
    imp = importance(rows)
    paths = [
        _write(
            go.Figure(
                go.Bar(x=imp.index.tolist(), y=imp.to_numpy()),
                layout={
                    "title": "Parameter importance for the Sharpe ratio",
                    "yaxis": {"title": "|Spearman rho| / eta^2"},
                },
            ),  # fmt: skip
            out_dir / "parameter_importance.html",
        )
    ]
    fig = go.Figure(layout={"title": "Top variants: equity", "yaxis": {"title": "equity"}})
    for label, ts, eq in curves:
        step = max(1, len(eq) // 2000)
        fig.add_trace(go.Scatter(x=pd.to_datetime(ts[::step], unit="ms"), y=eq[::step], name=label))
    paths.append(_write(fig, out_dir / "top_equity.html"))
    group = rows["symbol"].astype(str) + "/" + rows["timeframe"].astype(str)
    fig = go.Figure(layout={"title": f"{rows['strategy'].iloc[0]}: Sharpe by dataset",
                            "yaxis": {"title": "Sharpe"}})  # fmt: skip
    for name, g in rows.groupby(group):
        fig.add_trace(go.Box(y=g["sharpe"], name=str(name), boxpoints="outliers"))
    paths.append(_write(fig, out_dir / "strategy_comparison.html"))
    fig = go.Figure(layout={"title": f"Overfitting: {report['verdict']}",
                            "xaxis": {"title": "CSCV logit lambda (<= 0: overfit split)"}})  # fmt: skip
    for ds in report.get("datasets", []):
        fig.add_trace(go.Histogram(x=ds["lambdas"], name=f"{ds['symbol']}/{ds['timeframe']} "
                                   f"PBO {ds['pbo']:.2f} DSR {ds['dsr']:.2f}", opacity=0.6))  # fmt: skip
    paths.append(_write(fig, out_dir / "overfitting.html"))
    return paths
