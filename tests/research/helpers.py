"""Small data slices and CLI helpers for the sweep tests (shipped files, never downloaded)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pandas as pd
from typer.testing import CliRunner

from cluster.cli import app
from tests.conftest import MARKET

SRC = MARKET / "hyperliquid_perp_2025"
runner = CliRunner()


def write_slice(dest: Path, symbol: str = "BTCUSDC", tf: str = "15m", bars: int = 1500,
                skip: int = 0) -> Path:  # fmt: skip
    """``bars`` candles of a shipped file (and its funding prints) in the shipped layout."""
    dest.mkdir(parents=True, exist_ok=True)
    df = pd.read_csv(SRC / f"hyperliquid_{symbol}_{tf}.csv.gz", skiprows=range(1, skip + 1),
                     nrows=bars)  # fmt: skip
    path = dest / f"hyperliquid_{symbol}_{tf}.csv.gz"
    with gzip.open(path, "wt") as fh:
        df.to_csv(fh, index=False)
    fund = pd.read_csv(SRC / f"hyperliquid_{symbol}_funding.csv.gz")
    lo, hi = int(df["timestamp"].iloc[0]), int(df["timestamp"].iloc[-1])
    fund = fund[(fund["timestamp"] >= lo) & (fund["timestamp"] <= hi + 3_600_000)]
    with gzip.open(dest / f"hyperliquid_{symbol}_funding.csv.gz", "wt") as fh:
        fund.to_csv(fh, index=False)
    return path


def sweep(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    """``fractal sweep ... --json`` in-process (reuses the session's Ray)."""
    res = runner.invoke(app, ["sweep", *args, "--json"])
    out = json.loads(res.stdout) if res.exit_code == 0 else None
    return res.exit_code, out, res.stderr


def backtest(*args: str) -> dict[str, Any]:
    res = runner.invoke(app, ["backtest", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)  # type: ignore[no-any-return]
