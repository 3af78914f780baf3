"""Sweep results for the dashboard's research view: found under ``FRACTAL_DATA_DIR/sweeps``,
read-only; a damaged table is a message, not an exception."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from research.sweep.results import RETURNS_COLUMN, TABLE, ResultsStore


@dataclass
class SweepTable:
    path: Path
    rows: pd.DataFrame
    best: dict[str, Any] | None = None  # the row with the highest Sharpe
    best_returns: list[float] | None = None  # its per-period returns, when the parts hold them
    error: str = ""


def find_sweeps(data_dir: Path) -> list[Path]:
    """``results.parquet`` of every sweep, newest first."""
    root = Path(data_dir) / "sweeps"
    if not root.is_dir():
        return []
    return sorted(root.glob(f"*/{TABLE}"), key=lambda p: p.stat().st_mtime, reverse=True)


def load_sweep(path: Path) -> SweepTable:
    try:
        df = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises several types for a damaged file
        return SweepTable(path, pd.DataFrame(), error=f"{path}: unreadable results table ({err})")
    out = SweepTable(path, df)
    if len(df) == 0 or "sharpe" not in df.columns:
        return out
    best = df.iloc[
        int(np.argmax(np.nan_to_num(df["sharpe"].astype(float).to_numpy(), nan=-np.inf)))
    ]
    out.best = {str(k): v for k, v in best.items()}
    try:
        parts = ResultsStore(path.parent).load([str(best["variant_id"])])
        if len(parts) and RETURNS_COLUMN in parts.columns:
            out.best_returns = [float(x) for x in parts[RETURNS_COLUMN].iloc[0]]
    except Exception:  # the parts are optional (the table alone is enough to compare)
        out.best_returns = None
    return out
