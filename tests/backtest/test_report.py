"""HTML report: sections present, overlays drawn, monthly returns computed from equity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from research.backtest.bars import Bars
from research.backtest.config import BacktestConfig
from research.backtest.report import Overlay, monthly_returns, write_report
from research.backtest.runner import run_backtest
from strategies import sma_cross


def test_monthly_returns_by_hand() -> None:
    idx = pd.to_datetime(["2024-01-01", "2024-01-31", "2024-02-29", "2024-03-31"], utc=True)
    eq = pd.Series([100.0, 110.0, 99.0, 99.0], index=idx)
    t = monthly_returns(eq)
    assert t.loc[2024, 1] == pytest.approx(0.10)
    assert t.loc[2024, 2] == pytest.approx(-0.10)
    assert t.loc[2024, 3] == pytest.approx(0.0)
    assert np.isnan(t.loc[2024, 12])


def test_report_has_all_sections_and_overlays(tmp_path: Path) -> None:
    n = 3_000
    c = 100 * np.exp(np.cumsum(np.random.default_rng(5).normal(0, 0.003, n)))
    o = np.concatenate(([100.0], c[:-1]))
    b = Bars.from_arrays(o, np.maximum(o, c) * 1.001, np.minimum(o, c) * 0.999, c,
                         timeframe="1h", ts=1_700_000_000_000 + np.arange(n) * 3_600_000)  # fmt: skip
    r = run_backtest(b, sma_cross.generate(b, sma_cross.Params(fast=5, slow=20)),
                     BacktestConfig(sizing="all_in"))  # fmt: skip
    zones = [Overlay(b.index[10], b.index[40], 95.0, 97.0, label="OB"),
             Overlay(b.index[50], b.index[90], 99.0, 99.0, color="orange")]  # fmt: skip
    out = write_report(tmp_path / "x" / "r.html", b, r, title="t", overlays=zones)
    html = out.read_text()
    for needle in ("candlestick", "equity", "drawdown", "trade P&L", "monthly returns",
                   "long entry", '"type":"rect"', '"type":"line"'):  # fmt: skip
        assert needle in html, needle
    with pytest.raises(ValueError, match="different lengths"):
        short = Bars.from_arrays(o[:10], np.maximum(o, c)[:10] * 1.001,
                                 np.minimum(o, c)[:10] * 0.999, c[:10])  # fmt: skip
        write_report(tmp_path / "y.html", short, r)


def test_metrics_are_formatted_for_people_and_trades_sortable(tmp_path: Path) -> None:
    """The report used to print ``total_return -0.0596583``: now ``-5.97%``, the same
    formatters as the daily report and the dashboard, and a trade list sortable by header."""
    n = 2_000
    c = 100 * np.exp(np.cumsum(np.random.default_rng(7).normal(0, 0.003, n)))
    o = np.concatenate(([100.0], c[:-1]))
    b = Bars.from_arrays(o, np.maximum(o, c) * 1.001, np.minimum(o, c) * 0.999, c,
                         timeframe="1h", ts=1_700_000_000_000 + np.arange(n) * 3_600_000)  # fmt: skip
    r = run_backtest(b, sma_cross.generate(b, sma_cross.Params(fast=5, slow=20)),
                     BacktestConfig(sizing="all_in"))  # fmt: skip
    page = write_report(tmp_path / "r.html", b, r).read_text()
    tr = float(r.metrics["total_return"])
    assert f"<td>Total return</td><td>{tr * 100:.2f}%</td>" in page
    assert f"{tr:.6g}" not in page
    assert f"<td>Sharpe</td><td>{float(r.metrics['sharpe']):,.2f}</td>" in page
    assert "sortTable" in page and page.count("<tr>") >= len(r.trades) + 1
    first_pnl = float(r.trades["pnl"].iloc[0])
    sign = "-" if first_pnl < 0 else ""
    assert f">{sign}${abs(first_pnl):,.2f}</td>" in page
