"""`fractal data import/list/show` through typer's CliRunner (isolated FRACTAL_DATA_DIR)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cluster.cli import app
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
    assert result.exit_code != 0
    assert "no such file or folder" in result.output
    assert "Traceback" not in result.output


def test_bad_timeframe_is_clean_error() -> None:
    result = runner.invoke(app, ["data", "show", "hyperliquid", "BTC", "7m"])
    assert result.exit_code != 0
    assert "unknown timeframe '7m'" in result.output
    assert "Traceback" not in result.output


def test_show_missing_dataset_is_clean_error() -> None:
    result = runner.invoke(app, ["data", "show", "hyperliquid", "BTC", "15m"])
    assert result.exit_code != 0 and "no stored data" in result.output


def test_rejected_file_gives_nonzero_exit(tmp_path: Path) -> None:
    bad = tmp_path / "x_AAA_5m.csv"
    bad.write_text("timestamp,open,high,low,close,volume\n0,1,2,0.5,1.5,-1\n")
    result = runner.invoke(app, ["data", "import", str(bad)])
    assert result.exit_code == 1
    assert "negative volume" in result.output and "rejected" in result.output
