"""`fractal smc` and `fractal run` end to end on shipped data (CliRunner, temp data dir)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cluster.cli import app
from tests.conftest import MARKET

runner = CliRunner()
ETH_1H = MARKET / "hyperliquid_perp_2025" / "hyperliquid_ETHUSDC_1h.csv.gz"


def test_smc_imports_shipped_data_and_writes_chart(_isolated_data_dir: Path) -> None:
    out = _isolated_data_dir / "btc.html"
    res = runner.invoke(
        app, ["smc", "BTC", "--timeframe", "1h", "--bars", "300", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "swing highs" in res.output and "7,793 bars" in res.output
    # the first use says it imported the shipped file, not just "from store"
    assert "imported the shipped file" in res.stderr and "hyperliquid_BTCUSDC_1h" in res.stderr
    html = out.read_text()
    assert "plotly" in html.lower() and "Candlestick".lower() in html.lower()
    # the shipped file was imported into the store, so a second run reads parquet
    assert (_isolated_data_dir / "store" / "hyperliquid" / "BTC" / "1h.parquet").is_file()


def test_smc_reads_an_explicit_csv(_isolated_data_dir: Path) -> None:
    out = _isolated_data_dir / "eth.html"
    res = runner.invoke(
        app,
        [
            "smc",
            "ETH",
            "-t",
            "1h",
            "--data",
            str(ETH_1H),
            "-p",
            "swing_length=10",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert out.is_file()


def test_smc_errors_are_clear() -> None:
    res = runner.invoke(app, ["smc", "NOPE", "-t", "15m"])
    assert res.exit_code == 1 and "no data for hyperliquid/NOPE/15m" in res.output
    res = runner.invoke(app, ["smc", "BTC", "-t", "1h", "-p", "swing_lenght=3"])
    assert res.exit_code == 2 and "unknown SMC parameter" in res.output
    res = runner.invoke(app, ["smc", "BTC", "-t", "1h", "-p", "oops"])
    assert res.exit_code == 2 and "key=value" in res.output
    res = runner.invoke(app, ["smc", "BTC", "-t", "1h", "--data", "/nonexistent.csv.gz"])
    assert res.exit_code == 2 and "not found" in res.output


def test_run_is_paper_live_on_the_default_symbol(monkeypatch, _isolated_data_dir: Path) -> None:
    """`fractal run` = the live system on paper for DEFAULT_SYMBOL/DEFAULT_TIMEFRAME, even when
    NETWORK says otherwise (the run itself is tested in tests/live/test_contract.py)."""
    import cluster.cli_run as cli_run

    calls = []
    monkeypatch.setattr(
        cli_run, "run_live", lambda st, symbols, secs: calls.append((st, symbols, secs))
    )
    monkeypatch.setenv("DEFAULT_SYMBOL", "SOL")
    monkeypatch.setenv("DEFAULT_TIMEFRAME", "1h")
    monkeypatch.setenv("NETWORK", "testnet")
    res = runner.invoke(app, ["run", "--duration", "45s", "--speed", "600"])
    assert res.exit_code == 0, res.output
    ((st, symbols, secs),) = calls
    assert (st.network.value, st.default_timeframe, st.paper_speed) == ("paper", "1h", 600.0)
    assert (symbols, secs) == (["SOL"], 45.0)


def test_run_rejects_bad_config(monkeypatch) -> None:
    monkeypatch.setenv("NETWORK", "moon")
    res = runner.invoke(app, ["run"])
    assert res.exit_code == 2 and "NETWORK" in res.output


def test_smc_compat_mode_warns_and_charts(_isolated_data_dir: Path) -> None:
    out = _isolated_data_dir / "compat.html"
    res = runner.invoke(
        app, ["smc", "ETH", "-t", "1h", "--data", str(ETH_1H), "--compat", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "look-ahead" in res.output and "never for trading" in res.output
    assert "order blocks" in res.output
    html = out.read_text()
    assert "LOOK-AHEAD" in html and "swing highs" in html  # title and a layer
    res = runner.invoke(
        app, ["smc", "ETH", "-t", "1h", "--data", str(ETH_1H), "--compat", "-p", "fvg_merge=false"]
    )
    assert res.exit_code == 2 and "compat mode takes only swing_length" in res.output


def test_native_chart_draws_every_layer() -> None:
    """Layer names follow detect()'s columns (a rename would raise or drop a layer)."""
    from research.charts.smc_chart import NATIVE_LAYERS, build_figure
    from strategies.smc import detect
    from tests.smc.helpers import load_frame

    df = load_frame().iloc[:3000]
    fig = build_figure(df, detect(df, swing_length=10), "t", 2000, NATIVE_LAYERS)
    names = {tr.name for tr in fig.data}
    for expected in (
        "nearest bullish FVG",
        "nearest bullish OB (swing scale)",
        "prev_d_high",
        "liq_bsl_near_level",
        "swing highs",
        "internal lows",
    ):
        assert expected in names, expected
    assert any(n and n.endswith("sweep") for n in names)
