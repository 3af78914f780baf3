"""`fractal backtest` through typer's CliRunner on a shipped file."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cluster.cli import app
from tests.conftest import MARKET

DATA = MARKET / "hyperliquid_perp_2025" / "hyperliquid_ETHUSDC_1h.csv.gz"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _need_data() -> None:
    if not DATA.exists():
        pytest.skip(f"shipped data missing: {DATA}")


def _run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["backtest", "--strategy", "sma_cross", "--timeframe", "1h", *args])


def test_json_has_metrics_and_trades_with_iso_utc_times() -> None:
    res = _run("--data", str(DATA), "--param", "fast=10", "--param", "slow=50", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    for key in ("total_return", "sharpe", "sortino", "max_drawdown", "trade_count", "cagr"):
        assert isinstance(out[key], float)
    assert out["funding_applied"] is True and out["funding_prints_used"] > 0
    assert out["trades"] and len(out["trades"]) == out["trade_count"]
    t = out["trades"][0]
    assert set(t) >= {"entry_time", "exit_time", "entry_price", "exit_price", "side", "size",
                      "pnl", "exit_reason"}  # fmt: skip
    entry = datetime.fromisoformat(t["entry_time"].replace("Z", "+00:00"))
    assert entry.utcoffset() is not None and entry.utcoffset().total_seconds() == 0
    assert t["side"] == "long"  # sma_cross is long-only
    assert out["params"] == {"fast": 10, "slow": 50}


def test_fee_and_slippage_each_strictly_cost() -> None:
    def total_return(*args: str) -> float:
        res = _run("--data", str(DATA), "--json", "--no-funding", *args)
        assert res.exit_code == 0, res.output
        out = json.loads(res.stdout)
        assert out["trade_count"] > 0
        return float(out["total_return"])

    base = json.loads(_run("--data", str(DATA), "--json").stdout)
    free = json.loads(_run("--data", str(DATA), "--json", "--fee", "0", "--slippage", "0").stdout)
    assert free["fees_paid"] == 0.0
    assert base["fees_paid"] > 0
    # each cost alone, the other off and funding off, must make the result strictly worse
    none = total_return("--fee", "0", "--slippage", "0")
    assert total_return("--fee", "0", "--slippage", "1") < none
    assert total_return("--fee", "4.5", "--slippage", "0") < none
    assert total_return("--fee", "0", "--slippage", "10") < total_return(
        "--fee", "0", "--slippage", "1"
    )


def test_report_writes_html(tmp_path: Path) -> None:
    out = tmp_path / "r" / "report.html"
    res = _run("--data", str(DATA), "--report", str(out))
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert "plotly" in html.lower() and "monthly returns" in html and "drawdown" in html
    assert '"type":"rect"' in html  # SMC order-block zones drawn on the candles


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--param", "fast=500"), "must be shorter"),
        (("--param", "nope=1"), "unknown parameter"),
        (("--param", "fast"), "key=value"),
        (("--sizing", "yolo"), "sizing"),
        (("--sizing", "risk"), "--sizing risk needs a stop on every entry, and sma_cross"),
    ],
)
def test_bad_input_is_a_clear_error(args: tuple[str, ...], needle: str) -> None:
    res = _run("--data", str(DATA), *args)
    assert res.exit_code == 2
    assert needle in res.output


def test_unknown_strategy_lists_known_ones() -> None:
    res = runner.invoke(app, ["backtest", "--strategy", "nope", "--data", str(DATA)])
    assert res.exit_code == 2 and "sma_cross" in res.output


def test_missing_file_is_named(tmp_path: Path) -> None:
    res = _run("--data", str(tmp_path / "none.csv.gz"))
    assert res.exit_code == 2 and "none.csv.gz" in res.output


def test_store_or_shipped_data_without_data_flag() -> None:
    res = runner.invoke(
        app, ["backtest", "--strategy", "sma_cross", "--symbol", "ETH", "--timeframe", "1h",
              "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["trade_count"] > 0


def test_timeframe_comes_from_the_file_name() -> None:
    res = runner.invoke(app, ["backtest", "--strategy", "sma_cross", "--data", str(DATA), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["timeframe"] == "1h"
    res = runner.invoke(
        app, ["backtest", "--strategy", "sma_cross", "--data", str(DATA), "--timeframe", "15m"]
    )
    assert res.exit_code == 2 and "contradicts the file name" in res.output


def test_help_lists_the_strategies() -> None:
    from strategies.registry import names

    res = runner.invoke(app, ["backtest", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for name in names():
        assert name in res.output, name
