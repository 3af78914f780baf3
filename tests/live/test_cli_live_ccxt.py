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
         "okx needs OKX_API_KEY and OKX_API_SECRET and OKX_API_PASSWORD"),
        (["--venue", "okx", "--network", "testnet"],
         {"OKX_API_KEY": "k", "OKX_API_SECRET": "s"}, "okx needs OKX_API_PASSWORD"),
    ],
)  # fmt: skip
def test_bad_ccxt_input_exits_2_naming_the_problem(
    monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str], needle: str
) -> None:
    for k in ("BINANCE_API_KEY", "BINANCE_API_SECRET", "BYBIT_API_KEY", "BYBIT_API_SECRET",
              "OKX_API_KEY", "OKX_API_SECRET", "OKX_API_PASSWORD"):  # fmt: skip
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


def test_okx_spec_from_settings_carries_the_passphrase_and_keeps_it_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("NETWORK", "testnet")
    monkeypatch.setenv("OKX_API_KEY", "okx-key-1")
    monkeypatch.setenv("OKX_API_SECRET", "okx-secret-2")
    monkeypatch.setenv("OKX_API_PASSWORD", "okx-pass-3")
    s = load_settings()
    spec = _venue(s, tmp_path, ["BTC"], "okx")._ccxt_spec()  # type: ignore[arg-type]
    assert (spec.exchange, spec.network, spec.symbols) == ("okx", "testnet", ("BTC",))
    assert spec.password is not None and spec.password.get_secret_value() == "okx-pass-3"
    text = repr(spec) + str(spec) + spec.model_dump_json() + repr(s)
    assert not any(x in text for x in ("okx-key-1", "okx-secret-2", "okx-pass-3"))
