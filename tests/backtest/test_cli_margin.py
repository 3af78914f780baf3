"""`fractal backtest` and `fractal sweep` use each Hyperliquid coin's own max leverage and margin
tiers (issue #14 point 4), not BTC's 40x for every symbol."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cluster.cli import app
from research.backtest.config import BacktestConfig


def test_for_market_takes_the_coins_tiers_and_keeps_the_other_costs() -> None:
    base = BacktestConfig(leverage=5.0)
    base = base.model_copy(update={"costs": base.costs.model_copy(update={"taker_fee": 0.001})})
    doge = base.for_market("hyperliquid", "DOGE")
    assert doge.costs.max_leverage == 10 and doge.costs.margin_tiers
    assert doge.costs.taker_fee == 0.001 and doge.leverage == 5.0
    assert base.for_market("hyperliquid", "BTC").costs.max_leverage == 40
    assert base.for_market("binanceusdm", "DOGEUSDT") is base  # no table: unchanged
    assert base.for_market(None, None) is base
    with pytest.raises(ValueError, match="DOGE's max leverage 10"):
        BacktestConfig(leverage=20.0).for_market("hyperliquid", "DOGE")


def test_backtest_refuses_a_leverage_above_the_coins_max() -> None:
    args = ["backtest", "--strategy", "sma_cross", "--timeframe", "1h", "--sizing", "fraction",
            "--leverage", "20", "--json"]  # fmt: skip
    doge = CliRunner().invoke(app, [*args, "--symbol", "DOGE"])
    assert doge.exit_code == 2 and "max leverage 10" in doge.output
    btc = CliRunner().invoke(app, [*args, "--symbol", "BTC"])
    assert btc.exit_code == 0, btc.output
