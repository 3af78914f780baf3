"""`fractal data import/list/show` through typer's CliRunner (isolated FRACTAL_DATA_DIR)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cluster.cli import app
from research.data.store import MarketStore
from tests.conftest import MARKET
from tests.data.helpers import manifest

runner = CliRunner()
FOLDER = MARKET / "freqtrade_testdata_2018"


def test_import_list_show(_isolated_data_dir: Path) -> None:
    result = runner.invoke(app, ["data", "import", str(FOLDER)])
    assert result.exit_code == 0, result.output
    assert "bittrex/ADABTC/5m" in result.output
    ada = manifest()["freqtrade_testdata_2018/bittrex_ADABTC_5m.csv.gz"]
    assert f"{ada['missing_bars']} missing bars in {ada['gaps']} gaps" in result.output
    assert (_isolated_data_dir / "store" / "bittrex" / "ADABTC" / "5m.parquet").is_file()

    listed = runner.invoke(app, ["data", "list"])
    assert listed.exit_code == 0
    assert listed.output.count("bittrex") == 10
    assert str(ada["rows"]) in listed.output

    shown = runner.invoke(app, ["data", "show", "bittrex", "ADABTC", "5m", "--tail", "2"])
    assert shown.exit_code == 0, shown.output
    assert f"rows: {ada['rows']}" in shown.output
    assert f"{ada['missing_bars']} missing bars" in shown.output
    assert "2018-01-30 04:50" in shown.output  # last bar per the manifest
    assert ada["last"][:16].replace("T", " ") in shown.output


def test_reimport_adds_nothing() -> None:
    file = FOLDER / "bittrex_ETHBTC_5m.csv.gz"
    assert runner.invoke(app, ["data", "import", str(file)]).exit_code == 0
    again = runner.invoke(app, ["data", "import", str(file)])
    assert again.exit_code == 0
    assert "│        0 │" in again.output  # new rows column


def test_list_empty_store() -> None:
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 0 and "no datasets" in result.output


def test_bad_path_is_clean_error() -> None:
    result = runner.invoke(app, ["data", "import", "/no/such/place.csv.gz"])
    assert result.exit_code == 2
    assert "no such file or folder" in result.output
    assert "Traceback" not in result.output


def test_bad_timeframe_is_clean_error() -> None:
    result = runner.invoke(app, ["data", "show", "hyperliquid", "BTC", "7m"])
    assert result.exit_code == 2
    assert "unknown timeframe '7m'" in result.output
    assert "Traceback" not in result.output


def test_show_missing_dataset_is_clean_error() -> None:
    result = runner.invoke(app, ["data", "show", "hyperliquid", "BTC", "15m"])
    assert result.exit_code != 0 and "no stored data" in result.output


def test_rejected_file_gives_nonzero_exit(tmp_path: Path) -> None:
    bad = tmp_path / "x_AAA_5m.csv"
    bad.write_text("timestamp,open,high,low,close,volume\n0,1,2,0.5,1.5,-1\n")
    result = runner.invoke(app, ["data", "import", str(bad)])
    assert result.exit_code == 2
    assert "negative volume" in result.output and "rejected" in result.output
    assert "line 2" in result.output  # the row is named by its line in the file
    # nothing was imported: no empty "imported into" table above the rejection
    assert "imported into" not in result.output


# ---- fractal data fetch (Hyperliquid loopback from tests/data/conftest.py) -------------------

HL_1H = "hyperliquid_perp_2025/hyperliquid_ETHUSDC_1h.csv.gz"


def _serve_eth(fake_hl) -> list[dict]:
    from tests.data.conftest import real_candles, real_funding

    fake_hl.candles[("ETH", "1h")] = real_candles(HL_1H, "ETH", "1h", 3_600_000)[:800]
    fake_hl.funding["ETH"] = real_funding(
        "hyperliquid_perp_2025/hyperliquid_ETHUSDC_funding.csv.gz", "ETH", 20000
    )
    return fake_hl.candles[("ETH", "1h")]


def test_fetch_into_store_then_only_missing(hl_server, fake_hl, _isolated_data_dir: Path) -> None:
    candles = _serve_eth(fake_hl)
    since = pd.Timestamp(candles[0]["t"], unit="ms", tz="UTC").isoformat()
    until = pd.Timestamp(candles[-1]["t"] + 3_600_000, unit="ms", tz="UTC").isoformat()
    args = ["data", "fetch", "--venue", "hyperliquid", "--symbols", "ETHUSDC", "--timeframe", "1h"]
    args += ["--since", since, "--until", until, "--base-url", hl_server.url]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "hyperliquid/ETH/1h" in result.output and "hyperliquid/ETH/funding" in result.output
    stored = MarketStore(_isolated_data_dir / "store").read("hyperliquid", "ETH", "1h")
    assert list(stored.index.asi8 // 1_000_000) == [c["t"] for c in candles]
    funding = MarketStore(_isolated_data_dir / "store").read_funding("hyperliquid", "ETH")
    served = [r["time"] - 3 for r in fake_hl.funding["ETH"]]
    expected = [t for t in served if candles[0]["t"] <= t < candles[-1]["t"] + 3_600_000]
    assert list(funding.index.asi8 // 1_000_000) == expected and len(expected) > 500
    hl_server.log.clear()
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert not [r for r in hl_server.log if r.body.get("type") == "candleSnapshot"]


def test_fetch_bad_arguments_are_clean_errors(hl_server) -> None:
    base = ["data", "fetch", "--symbols", "BTC", "--base-url", hl_server.url]
    cases = {
        "not a date": base + ["--since", "yesterdayish"],
        "unknown timeframe": base + ["--since", "2025-01-01", "--timeframe", "7m"],
        "unknown venue": [
            "data",
            "fetch",
            "--symbols",
            "BTC",
            "--since",
            "2025-01-01",
            "--venue",
            "ftx",
        ],
        "refusing Hyperliquid base URL": [
            "data",
            "fetch",
            "--symbols",
            "BTC",
            "--since",
            "2025-01-01",
            "--base-url",
            "https://example.com",
        ],
        "not before": base + ["--since", "2025-02-01", "--until", "2025-01-01"],
    }
    for expected, args in cases.items():
        result = runner.invoke(app, args)
        assert result.exit_code == 2, args
        assert expected in result.output, (expected, result.output)
        assert "Traceback" not in result.output


def test_fetch_venue_error_is_reported_not_raised(hl_server, fake_hl) -> None:
    from tests.data.loopback import Reply

    fake_hl.failures = [Reply(400, "bad request", "text/plain")]
    result = runner.invoke(
        app,
        [
            "data",
            "fetch",
            "--symbols",
            "BTC,NOPE",
            "--since",
            "2025-01-01",
            "--until",
            "2025-01-02",
            "--base-url",
            hl_server.url,
            "--no-funding",
        ],
    )
    assert result.exit_code == 1
    assert "failed (permanent error, not retried)" in result.output
    assert "unknown Hyperliquid coin 'NOPE'" in result.output
    assert "Traceback" not in result.output


def test_conflicting_import_needs_overwrite(_isolated_data_dir: Path) -> None:
    a = MARKET / "binance_spot_2021" / "binance_BTCUSDT_1h.csv.gz"
    b = MARKET / "binance_spot_btc_2017_2024" / "binance_BTCUSDT_1h.csv.gz"
    assert runner.invoke(app, ["data", "import", str(a)]).exit_code == 0
    refused = runner.invoke(app, ["data", "import", str(b)])
    assert refused.exit_code == 2 and "differ from stored rows" in refused.output
    assert "re-run with --overwrite" in refused.output and "overwrite=True" not in refused.output
    forced = runner.invoke(app, ["data", "import", str(b), "--overwrite"])
    assert forced.exit_code == 0, forced.output
    stored = MarketStore(_isolated_data_dir / "store").read("binance", "BTCUSDT", "1h")
    later = pd.read_csv(b)
    rows = stored.loc[pd.to_datetime(later.timestamp, unit="ms", utc=True)]
    assert (rows["close"].to_numpy() == later["close"].to_numpy()).all()  # later file won
