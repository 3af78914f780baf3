"""Single backtest runs kept for the dashboard: one directory per run under
``FRACTAL_DATA_DIR/backtests/``, holding ``run.json`` (metrics and run info), ``trades.parquet``
and ``equity.parquet`` (equity marked at every bar close).

Why a directory per run and no shared table: a run is written under a temporary name and renamed
into place, so concurrent backtests never contend for one file and a run killed half-way leaves
nothing the reader could mistake for a result. The results table is the runs listed together
(`list_runs`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from research.backtest.result import BacktestResult, _clean

RUNS_DIR = "backtests"
RUN_FILE = "run.json"
TRADES_FILE = "trades.parquet"
EQUITY_FILE = "equity.parquet"
TABLE_METRICS = ("total_return", "sharpe", "sortino", "max_drawdown", "trade_count", "win_rate",
                 "profit_factor", "fees_paid", "funding_paid")  # fmt: skip


@dataclass
class StoredRun:
    """One saved run as the dashboard reads it."""

    path: Path
    info: dict[str, Any]
    trades: pd.DataFrame
    equity: list[tuple[int, float]]  # (bar time in ms, equity marked at that bar's close)


def runs_root(data_dir: Path) -> Path:
    return Path(data_dir) / RUNS_DIR


def save_run(data_dir: Path, result: BacktestResult, timeframe: str) -> Path:
    """Write one run atomically; returns its directory. Needs the result's per-bar curves."""
    info = result.info
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    label = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{info.get('strategy', 'run')}-{info.get('symbol')}")
    run_id = f"{stamp}-{label}-{timeframe}-{uuid.uuid4().hex[:6]}"
    root = runs_root(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{run_id}.partial"
    tmp.mkdir()
    try:
        header = {k: _clean(v) for k, v in result.metrics.items()}
        header.update({k: _clean(v) for k, v in info.items()})
        header.update({"run_id": run_id, "timeframe": timeframe,
                       "saved_at": datetime.now(UTC).isoformat(timespec="seconds")})  # fmt: skip
        (tmp / RUN_FILE).write_text(json.dumps(header, indent=1, default=str))
        trades = result.trades.copy()
        for col in ("side", "exit_reason"):
            trades[col] = trades[col].astype(str)
        trades.to_parquet(tmp / TRADES_FILE, index=False, compression="zstd")
        eq = result.equity
        ms = eq.index.as_unit("ms").asi8 if isinstance(eq.index, pd.DatetimeIndex) else eq.index
        pd.DataFrame({"time_ms": np.asarray(ms, dtype=np.int64),
                      "equity": eq.to_numpy(dtype=np.float64)}).to_parquet(
            tmp / EQUITY_FILE, index=False, compression="zstd")  # fmt: skip
        final = root / run_id
        os.replace(tmp, final)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def find_runs(data_dir: Path) -> list[Path]:
    """Saved runs, newest first (partial writes are ignored)."""
    root = runs_root(data_dir)
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted(runs, key=lambda p: p.name, reverse=True)


def list_runs(data_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    """The results table of single backtests (one row per run) and one message per run that
    could not be read (a damaged run is named, never fatal)."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for path in find_runs(data_dir):
        try:
            head = json.loads((path / RUN_FILE).read_text())
        except (OSError, ValueError) as err:
            problems.append(f"{path.name}: unreadable {RUN_FILE} ({err})")
            continue
        row = {"run_id": path.name, "strategy": head.get("strategy"), "symbol": head.get("symbol"),
               "timeframe": head.get("timeframe"), "saved_at": head.get("saved_at"),
               "params": json.dumps(head.get("params", {}), sort_keys=True)}  # fmt: skip
        row.update({m: head.get(m) for m in TABLE_METRICS})
        rows.append(row)
    return pd.DataFrame(rows), problems


def load_run(path: Path) -> StoredRun:
    """One run with its trades and equity curve; raises ValueError naming what is damaged."""
    try:
        info = json.loads((path / RUN_FILE).read_text())
        trades = pd.read_parquet(path / TRADES_FILE)
        eq = pd.read_parquet(path / EQUITY_FILE)
    except Exception as err:  # OSError, JSON and several pyarrow errors
        raise ValueError(f"backtest run {path.name} is damaged: {err}") from err
    points = list(zip(eq["time_ms"].tolist(), eq["equity"].tolist(), strict=True))
    return StoredRun(path, info, trades, points)


def thin_curve(points: list[tuple[int, float]], max_points: int = 4000) -> list[tuple[int, float]]:
    """At most about ``max_points`` points for a chart, keeping each bucket's lowest and highest
    equity (in time order) so the drawdowns a person looks for survive the thinning."""
    n = len(points)
    if n <= max_points:
        return points
    size = max(1, (2 * n) // max_points)
    out: list[tuple[int, float]] = []
    for start in range(0, n, size):
        bucket = points[start : start + size]
        lo = min(range(len(bucket)), key=lambda i: bucket[i][1])
        hi = max(range(len(bucket)), key=lambda i: bucket[i][1])
        for i in sorted({lo, hi}):
            out.append(bucket[i])
    if out[-1] != points[-1]:
        out.append(points[-1])
    return out
