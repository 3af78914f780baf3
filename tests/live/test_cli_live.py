"""`fractal live` settings and bad input: one clear line, exit code 2, nothing started."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cluster.cli import app
from cluster.cli_live import parse_duration
from cluster.settings import ConfigError, load_settings

runner = CliRunner()


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("10m", 600), ("24h", 86400),
                                               ("1.5", 1.5), ("2d", 172800)])  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--duration", "soon"], "--duration expects"),
        (["--duration", "0s"], "--duration expects"),
        (["--network", "moon"], "NETWORK"),
        (["--strategy", "nope"], "LIVE_STRATEGY"),
        (["--speed", "-5"], "PAPER_SPEED"),
        (["--config", "missing.env"], "no such file"),
        (["--network", "testnet"], "needs PRIVATE_KEY and ACCOUNT_ADDRESS"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(args: list[str], needle: str) -> None:
    res = runner.invoke(app, ["live", *args])
    assert res.exit_code == 2, res.output
    assert needle in res.output


def test_live_settings_defaults_and_per_symbol_strategies(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings()
    assert (s.network.value, s.auto_confirm, s.live_strategy) == ("paper", False, "liquidity_sweep")
    monkeypatch.setenv("LIVE_SYMBOL_STRATEGIES",
                       '{"ETH": {"strategy": "bos_orderblock", "params": {"rr": 3}}}')  # fmt: skip
    s = load_settings()
    assert s.strategy_for("ETH") == ("bos_orderblock", {"rr": 3})
    assert s.strategy_for("BTC") == ("liquidity_sweep", {})
    monkeypatch.setenv("LIVE_STRATEGY_PARAMS", '{"rr": 0.1}')
    with pytest.raises(ConfigError, match="LIVE_STRATEGY_PARAMS"):
        load_settings()


def test_testnet_example_file_is_a_valid_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import PROJECT_ROOT

    s = load_settings(_env_file=PROJECT_ROOT / ".env.testnet.example")
    assert s.network.value == "testnet" and s.private_key is None and s.account_address is None
