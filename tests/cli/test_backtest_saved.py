"""`fractal backtest` keeps each run for the dashboard (FRACTAL_DATA_DIR/backtests/<run>/):
what is saved equals what the command reported; `--no-save` keeps nothing; a damaged or
half-written run never hides the others."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cluster.cli import app
from research.backtest.store import find_runs, list_runs, load_run, runs_root, thin_curve
from tests.conftest import MARKET

runner = CliRunner()
ETH_1H = MARKET / "hyperliquid_perp_2025" / "hyperliquid_ETHUSDC_1h.csv.gz"


@pytest.fixture(scope="module")
def eth_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("eth") / "hyperliquid_ETHUSDC_1h.csv"
    with gzip.open(ETH_1H, "rt") as fh:
        path.write_text("".join(next(fh) for _ in range(3000)))
    return path


def _backtest(eth_file: Path, *extra: str) -> dict:
    res = runner.invoke(app, ["backtest", "--strategy", "sma_cross", "--data", str(eth_file),
                              "--json", *extra])  # fmt: skip
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_a_backtest_is_saved_as_reported(_isolated_data_dir: Path, eth_file: Path) -> None:
    out = _backtest(eth_file)
    run = load_run(Path(out["run_dir"]))
    assert run.path.parent == runs_root(_isolated_data_dir)
    assert run.info["total_return"] == out["total_return"] and run.info["sharpe"] == out["sharpe"]
    assert run.info["strategy"] == "sma_cross" and run.info["timeframe"] == "1h"
    assert len(run.trades) == len(out["trades"]) > 0
    assert np.allclose(run.trades["pnl"], [t["pnl"] for t in out["trades"]])
    rows = eth_file.read_text().splitlines()[1:]  # under the header, one bar per line
    assert [t for t, _ in run.equity] == [int(r.split(",")[0]) for r in rows]  # bar times, ms
    start = float(run.equity[0][1])
    assert run.equity[-1][1] / start - 1 == pytest.approx(out["total_return"], rel=1e-9)
    table, problems = list_runs(_isolated_data_dir)
    assert problems == [] and list(table["run_id"]) == [run.path.name]
    assert table["trade_count"].iloc[0] == out["trade_count"]


def test_no_save_keeps_nothing(_isolated_data_dir: Path, eth_file: Path) -> None:
    out = _backtest(eth_file, "--no-save")
    assert "run_dir" not in out and find_runs(_isolated_data_dir) == []


def test_damaged_and_partial_runs_do_not_hide_the_others(
    _isolated_data_dir: Path, eth_file: Path
) -> None:
    good = Path(_backtest(eth_file)["run_dir"])
    bad = Path(_backtest(eth_file)["run_dir"])
    (bad / "run.json").write_text("{not json")
    (runs_root(_isolated_data_dir) / ".20990101T000000Z-x.partial").mkdir()  # a killed writer
    table, problems = list_runs(_isolated_data_dir)
    assert list(table["run_id"]) == [good.name]
    assert len(problems) == 1 and bad.name in problems[0] and "run.json" in problems[0]
    (good / "equity.parquet").write_bytes(b"PAR1 damaged")
    with pytest.raises(ValueError, match=f"{good.name} is damaged"):
        load_run(good)


def test_thin_curve_keeps_every_bucket_low_and_high() -> None:
    rng = np.random.default_rng(7)
    eq = 1000 + np.cumsum(rng.normal(size=50_000))
    points = [(i, float(v)) for i, v in enumerate(eq)]
    thin = thin_curve(points, max_points=1000)
    assert len(thin) <= 1100 and thin[-1] == points[-1]
    assert [t for t, _ in thin] == sorted(t for t, _ in thin)
    assert min(v for _, v in thin) == eq.min() and max(v for _, v in thin) == eq.max()
    assert thin_curve(points[:10], 1000) == points[:10]
