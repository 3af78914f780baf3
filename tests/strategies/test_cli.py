"""`fractal backtest --strategy liquidity_sweep|bos_orderblock` on a shipped file (the CLI passes
the CSV frame as read: a `timestamp` ms column, no DatetimeIndex)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cluster.cli import app
from tests.strategies.helpers import BTC_15M

runner = CliRunner()


@pytest.fixture(autouse=True)
def _need_data() -> None:
    if not BTC_15M.exists():
        pytest.skip(f"shipped data missing: {BTC_15M}")


@pytest.mark.parametrize(
    ("name", "params"),
    [("liquidity_sweep", ["confirm_bars=5", "target_mode=liquidity"]),
     ("bos_orderblock", ["scale=internal", "rr=3"])],
)  # fmt: skip
def test_cli_backtest_runs_the_strategy(name: str, params: list[str]) -> None:
    args = ["backtest", "--strategy", name, "--data", str(BTC_15M), "--json"]
    for p in params:
        args += ["--param", p]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["strategy"] == name and out["sizing"] == "risk"
    assert out["trade_count"] > 0 and len(out["trades"]) == out["trade_count"]


def test_cli_bad_param_is_named() -> None:
    res = runner.invoke(
        app, ["backtest", "--strategy", "bos_orderblock", "--data", str(BTC_15M),
              "--param", "entry_level=top"],
    )  # fmt: skip
    assert res.exit_code == 2 and "entry_level" in res.output
