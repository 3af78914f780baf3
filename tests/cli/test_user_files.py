"""Files the user hands to `fractal data import`, `fractal smc --data` and `fractal backtest
--data`: a garbage row is named by file, line and value (exit 2); a file's name and bar spacing
decide its symbol and timeframe; gaps are reported; the loader is `load_user_bars`."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cluster.cli import app
from research.data.store import MarketStore
from tests.conftest import MARKET

runner = CliRunner()
HL = MARKET / "hyperliquid_perp_2025"
BTC_15M = HL / "hyperliquid_BTCUSDC_15m.csv.gz"
ETH_1H = HL / "hyperliquid_ETHUSDC_1h.csv.gz"


def _lines(path: Path, n: int) -> list[str]:
    with gzip.open(path, "rt") as fh:
        return [next(fh) for _ in range(n)]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(lines))
    return path


@pytest.fixture
def garbage(tmp_path: Path) -> Path:
    """600 real BTC 15m rows whose line 50 is `hello,world,...`."""
    lines = _lines(BTC_15M, 601)
    lines[49] = "hello,world,1,2,3,4\n"
    return _write(tmp_path / "hyperliquid_BTCUSDC_15m.csv", lines)


@pytest.mark.parametrize(
    "command",
    [
        ["data", "import"],
        ["smc", "BTC", "--bars", "100", "--data"],
        ["backtest", "--strategy", "sma_cross", "--data"],
    ],
)
def test_a_garbage_row_is_named_by_file_line_and_value(
    garbage: Path, command: list[str], _isolated_data_dir: Path
) -> None:
    res = runner.invoke(app, [*command, str(garbage)])
    assert res.exit_code == 2, res.output
    assert "NaTType" not in res.output and "Traceback" not in res.output
    line = next(x for x in res.output.splitlines() if "line 50" in x)
    assert "not a number" in line and "'hello'" in line and "'world'" in line
    assert str(garbage) in res.output
    assert not (_isolated_data_dir / "store" / "hyperliquid" / "BTC").exists()  # nothing stored


def test_repair_drops_the_garbage_row_and_says_so(garbage: Path, _isolated_data_dir: Path) -> None:
    res = runner.invoke(app, ["data", "import", "--repair", str(garbage)])
    assert res.exit_code == 0, res.output
    assert "non-numeric" in res.output
    stored = MarketStore(_isolated_data_dir / "store").read("hyperliquid", "BTC", "15m")
    assert len(stored) == 599 and stored.notna().all().all()


def test_a_missing_timestamp_is_named_by_line(tmp_path: Path) -> None:
    from research.data.user_file import load_user_bars

    lines = _lines(BTC_15M, 40)
    lines[9] = "," + lines[9].split(",", 1)[1]
    path = _write(tmp_path / "hyperliquid_BTCUSDC_15m.csv", lines)
    with pytest.raises(ValueError, match="line 10: no timestamp"):
        load_user_bars(path)


def test_symbol_and_timeframe_come_from_a_shipped_style_name(tmp_path: Path) -> None:
    from research.data.user_file import UserFileError, load_user_bars

    ub = load_user_bars(ETH_1H, with_funding=True)
    assert (ub.venue, ub.symbol, ub.timeframe) == ("hyperliquid", "ETH", "1h")
    assert ub.funding is not None and len(ub.funding) > 0
    with pytest.raises(UserFileError, match="symbol BTC contradicts the file name"):
        load_user_bars(ETH_1H, symbol="BTC")
    with pytest.raises(UserFileError, match="--timeframe 15m contradicts the file name"):
        load_user_bars(ETH_1H, timeframe="15m")


def test_an_unnamed_file_takes_its_timeframe_from_the_bar_spacing(tmp_path: Path) -> None:
    from research.data.user_file import UserFileError, load_user_bars

    path = _write(tmp_path / "my_eth.csv", _lines(ETH_1H, 500))
    ub = load_user_bars(path)
    assert ub.timeframe == "1h" and ub.symbol is None
    with pytest.raises(UserFileError, match=r"bars are 1h apart .* --timeframe says 15m"):
        load_user_bars(path, timeframe="15m")


def test_a_name_that_lies_about_the_timeframe_is_refused(tmp_path: Path) -> None:
    from research.data.user_file import UserFileError, load_user_bars

    path = _write(tmp_path / "hyperliquid_ETHUSDC_15m.csv", _lines(ETH_1H, 500))
    with pytest.raises(UserFileError, match="bars are 1h apart .* its name says 15m"):
        load_user_bars(path)


def test_backtest_of_an_eth_1h_file_is_not_btc_15m(tmp_path: Path) -> None:
    """The old CLI ran an unnamed 1h file as BTC 15m and annualised it 4x too often."""
    path = _write(tmp_path / "eth_hourly.csv", _lines(ETH_1H, 3000))
    res = runner.invoke(app, ["backtest", "--strategy", "sma_cross", "--data", str(path), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["timeframe"] == "1h" and out["symbol"] == "eth_hourly.csv"
    res = runner.invoke(
        app, ["backtest", "--strategy", "sma_cross", "--data", str(path), "--timeframe", "15m"]
    )
    assert res.exit_code == 2 and "bars are 1h apart" in res.output
    named = runner.invoke(app, ["backtest", "--strategy", "sma_cross", "--data", str(ETH_1H),
                                "--json"])  # fmt: skip
    assert json.loads(named.stdout)["symbol"] == "ETH"
    res = runner.invoke(
        app, ["backtest", "--strategy", "sma_cross", "--data", str(ETH_1H), "--symbol", "BTC"]
    )
    assert res.exit_code == 2 and "contradicts the file name" in res.output


def test_a_100_bar_hole_is_reported(tmp_path: Path) -> None:
    lines = _lines(BTC_15M, 1500)
    path = _write(tmp_path / "hyperliquid_BTCUSDC_15m.csv", lines[:700] + lines[800:])
    res = runner.invoke(app, ["backtest", "--strategy", "sma_cross", "--data", str(path), "--json"])
    assert res.exit_code == 0, res.output
    json.loads(res.stdout)  # the warning does not spoil --json
    assert "100 missing bars in 1 gaps" in res.stderr
    res = runner.invoke(app, ["smc", "BTC", "--bars", "100", "--data", str(path)])
    assert res.exit_code == 0, res.output
    assert "100 missing bars in 1 gaps" in res.output


def test_smc_data_file_must_match_the_symbol(tmp_path: Path) -> None:
    res = runner.invoke(app, ["smc", "BTC", "--data", str(ETH_1H)])
    assert res.exit_code == 2 and "symbol BTC contradicts the file name" in res.output
