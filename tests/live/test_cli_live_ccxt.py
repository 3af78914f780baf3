"""`fractal live --venue <ccxt exchange>`: bad input exits 2 naming the problem, before any
venue or Ray starts; keys come from settings and never reach the output."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cluster.cli import app
from cluster.cli_live import _check_ccxt, _venue
from cluster.settings import load_settings

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--venue", "kraken", "--network", "testnet"], {}, "--venue 'kraken'"),
        (["--venue", "binanceusdm"], {}, "paper trading is Hyperliquid's simulator"),
        (["--venue", "binanceusdm", "--network", "testnet"], {},
         "binanceusdm needs BINANCE_API_KEY and BINANCE_API_SECRET"),
        (["--venue", "binanceusdm", "--network", "testnet"], {"BINANCE_API_KEY": "k"},
         "binanceusdm needs BINANCE_API_SECRET"),
        (["--venue", "bybit", "--network", "testnet"], {},
         "bybit needs BYBIT_API_KEY and BYBIT_API_SECRET"),
        (["--venue", "bybit", "--network", "testnet"], {"BYBIT_API_SECRET": "s"},
         "bybit needs BYBIT_API_KEY"),
        (["--venue", "okx", "--network", "testnet"], {},
         "live trading through ccxt is implemented for"),
    ],
)  # fmt: skip
def test_bad_ccxt_input_exits_2_naming_the_problem(
    monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str], needle: str
) -> None:
    for k in ("BINANCE_API_KEY", "BINANCE_API_SECRET", "BYBIT_API_KEY", "BYBIT_API_SECRET"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    res = runner.invoke(app, ["live", *args])
    assert res.exit_code == 2, res.output
    assert needle in " ".join(res.output.split())


@pytest.mark.parametrize(("exchange", "prefix"), [("binanceusdm", "BINANCE"), ("bybit", "BYBIT")])
def test_ccxt_spec_from_settings_keeps_the_secret_out_of_its_text(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, exchange: str, prefix: str
) -> None:
    monkeypatch.setenv("NETWORK", "testnet")
    monkeypatch.setenv(f"{prefix}_API_KEY", "key-abc-123")
    monkeypatch.setenv(f"{prefix}_API_SECRET", "very-secret-456")
    monkeypatch.setenv("CCXT_LEVERAGE", "5")
    s = load_settings()
    _check_ccxt(s, exchange)  # accepted: implemented, keys present, not paper
    spec = _venue(s, tmp_path, ["BTC", "ETH"], exchange)._ccxt_spec()  # type: ignore[arg-type]
    assert (spec.exchange, spec.network, spec.symbols, spec.leverage) == (
        exchange, "testnet", ("BTC", "ETH"), 5,
    )  # fmt: skip
    assert spec.secret.get_secret_value() == "very-secret-456"
    text = repr(spec) + str(spec) + spec.model_dump_json() + repr(s)
    assert "very-secret-456" not in text and "key-abc-123" not in text
