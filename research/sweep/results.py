"""The sweep's results: one parquet part per finished batch, one consolidated table.

Why parts: a batch's rows are durable the moment its part is renamed into place (temp file +
``os.replace``), so Ctrl-C or a crash loses at most the batches in flight, and a re-run reads
the finished variant ids from the parts and skips them. ``results.parquet`` is rebuilt from the
parts (sorted by the variant's position in the sweep, de-duplicated by id), so a re-run that
computes nothing writes the same table.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

TABLE = "results.parquet"
RETURNS_COLUMN = "period_returns"  # list<double> per row in the parts; not in the table


class ResultsStore:
    """Parts under ``<sweep dir>/parts`` and the table ``<sweep dir>/results.parquet``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.parts = root / "parts"
        self.table_path = root / TABLE

    def _read_parts(self) -> pd.DataFrame:
        files = sorted(self.parts.glob("part-*.parquet")) if self.parts.is_dir() else []
        if not files:
            return pd.DataFrame()
        df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        return df.drop_duplicates("variant_id", keep="first")

    def finished_ids(self) -> set[str]:
        df = self._read_parts()
        return set(df["variant_id"]) if len(df) else set()

    def append(self, rows: pd.DataFrame) -> Path:
        """Write one batch's rows as a new part (atomic)."""
        self.parts.mkdir(parents=True, exist_ok=True)
        name = f"part-{pd.Timestamp.now('UTC').strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}"
        path = self.parts / f"{name}.parquet"
        tmp = self.parts / f".{name}.tmp"
        rows.to_parquet(tmp, index=False)
        os.replace(tmp, path)
        return path

    def load(self, ids: list[str] | None = None) -> pd.DataFrame:
        """Every finished row (only ``ids``, in that order, when given)."""
        df = self._read_parts()
        if len(df) == 0:
            return df
        if ids is not None:
            order = {v: i for i, v in enumerate(ids)}
            df = df[df["variant_id"].isin(order)]
            df = df.assign(_o=df["variant_id"].map(order)).sort_values("_o").drop(columns="_o")
        return df.reset_index(drop=True)

    def write_table(self, df: pd.DataFrame) -> Path:
        """The consolidated table (no per-period returns), atomically."""
        self.root.mkdir(parents=True, exist_ok=True)
        out = df.drop(columns=[RETURNS_COLUMN], errors="ignore")
        tmp = self.root / f".{TABLE}.tmp"
        out.to_parquet(tmp, index=False)
        os.replace(tmp, self.table_path)
        return self.table_path


def returns_matrix(df: pd.DataFrame) -> np.ndarray:
    """(periods, variants) per-period returns of the rows, in row order."""
    if len(df) == 0:
        return np.zeros((0, 0))
    return np.stack([np.asarray(r, dtype=np.float64) for r in df[RETURNS_COLUMN]], axis=1)
