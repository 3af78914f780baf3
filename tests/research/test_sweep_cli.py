"""`fractal sweep`: the contract JSON, rows equal `fractal backtest`, resume, MLflow contents,
search methods and bad input. Small slices, few variants; one Ray for the session."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from tests.research.helpers import backtest, sweep, write_slice

pytestmark = pytest.mark.usefixtures("ray_session")

GRID = ["--param", "rr=2:3:1", "--param", "max_wait=20:40:20"]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_slice(tmp_path / "in")


def test_contract_json_table_and_rows_equal_backtest(data: Path) -> None:
    code, out, err = sweep("--strategy", "bos_orderblock", "--data", str(data), "--method",
                           "grid", *GRID, "--fee", "5", "--slippage", "2")  # fmt: skip
    assert code == 0, err
    assert out is not None
    for key in ("variants", "computed", "results", "mlflow_run_id", "tracking_uri", "dsr", "pbo"):
        assert key in out
    assert out["variants"] == 4 and out["computed"] == 4
    assert 0.0 <= out["dsr"] <= 1.0 and 0.0 <= out["pbo"] <= 1.0
    assert "survive" in out["verdict"]
    table = pd.read_parquet(out["results"])
    assert len(table) == 4 and table["variant_id"].is_unique
    for col in ("param_rr", "param_max_wait", "total_return", "trades", "sharpe", "max_drawdown"):
        assert col in table.columns
    assert sorted(zip(table["param_rr"], table["param_max_wait"], strict=True)) == [
        (2.0, 20), (2.0, 40), (3.0, 20), (3.0, 40)
    ]  # fmt: skip
    assert table["trades"].sum() > 0
    for row in table.itertuples():
        ref = backtest("--strategy", "bos_orderblock", "--data", str(data), "--fee", "5",
                       "--slippage", "2", "--param", f"rr={row.param_rr}",
                       "--param", f"max_wait={row.param_max_wait}")  # fmt: skip
        assert row.trades == ref["trade_count"]
        assert math.isclose(row.total_return, ref["total_return"], rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(row.sharpe, ref["sharpe"], rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(row.max_drawdown, ref["max_drawdown"], rel_tol=1e-9, abs_tol=1e-12)

    # the same command again: nothing computed, the same table, the same MLflow run
    code, again, err = sweep("--strategy", "bos_orderblock", "--data", str(data), "--method",
                             "grid", *GRID, "--fee", "5", "--slippage", "2")  # fmt: skip
    assert code == 0, err
    assert again is not None and again["computed"] == 0 and again["variants"] == 4
    assert again["mlflow_run_id"] == out["mlflow_run_id"]
    pd.testing.assert_frame_equal(pd.read_parquet(again["results"]), table)

    _check_mlflow(out, n_children=4)


def test_sma_cross_rows_equal_backtest(data: Path) -> None:
    code, out, err = sweep("--strategy", "sma_cross", "--data", str(data), "--method", "grid",
                           "--param", "fast=5:15:5", "--param", "slow=20:60:40", "--top", "1")  # fmt: skip
    assert code == 0 and out is not None, err
    table = pd.read_parquet(out["results"])
    assert len(table) == 6
    for row in table.itertuples():
        ref = backtest("--strategy", "sma_cross", "--data", str(data),
                       "--param", f"fast={row.param_fast}", "--param", f"slow={row.param_slow}")  # fmt: skip
        assert row.trades == ref["trade_count"] and row.trades > 0
        assert math.isclose(row.total_return, ref["total_return"], rel_tol=1e-9, abs_tol=1e-12)


def test_several_symbols_and_timeframes_from_the_store() -> None:
    """--symbols/--timeframes: every pair is a dataset (shipped files imported on first use);
    rows equal `fractal backtest` on the same symbol and timeframe."""
    grid = ["--param", "fast=5:10:5", "--param", "slow=30"]
    code, out, err = sweep("--strategy", "sma_cross", "--symbols", "BTC,ETH", "--timeframes",
                           "1h,15m", "--method", "grid", *grid, "--top", "1")  # fmt: skip
    assert code == 0 and out is not None, err
    assert sorted(out["datasets"]) == ["BTC/15m", "BTC/1h", "ETH/15m", "ETH/1h"]
    t = pd.read_parquet(out["results"])
    assert len(t) == out["variants"] == 8
    row = t[(t["symbol"] == "ETH") & (t["timeframe"] == "1h") & (t["param_fast"] == 10)].iloc[0]
    ref = backtest("--strategy", "sma_cross", "--symbol", "ETH", "--timeframe", "1h",
                   "--param", "fast=10", "--param", "slow=30")  # fmt: skip
    assert row["trades"] == ref["trade_count"]
    assert math.isclose(row["total_return"], ref["total_return"], rel_tol=1e-9, abs_tol=1e-12)


def _check_mlflow(out: dict, n_children: int) -> None:  # type: ignore[type-arg]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=out["tracking_uri"])
    run = client.get_run(out["mlflow_run_id"])
    assert run.data.tags["fractal.sweep_id"] == out["sweep_id"]
    assert run.data.params["strategy"] == "bos_orderblock"
    assert math.isclose(run.data.metrics["dsr"], out["dsr"])
    assert math.isclose(run.data.metrics["pbo"], out["pbo"])
    top = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert {"results.parquet", "report.json", "summary.json", "charts"} <= top
    charts = {f.path for f in client.list_artifacts(run.info.run_id, "charts")}
    assert charts == {f"charts/{n}.html" for n in
                      ("parameter_importance", "top_equity", "strategy_comparison", "overfitting")}  # fmt: skip
    exp = run.info.experiment_id
    children = client.search_runs(
        [exp], filter_string=f"tags.`mlflow.parentRunId` = '{run.info.run_id}'"
    )
    assert len(children) == n_children
    parents = client.search_runs([exp], filter_string="tags.`fractal.role` = 'parent'")
    assert len(parents) == 1  # one run per sweep, never one per variant


@pytest.mark.parametrize("method", ["random", "lhs"])
def test_random_and_lhs_draw_inside_the_ranges_and_resume(data: Path, method: str) -> None:
    args = ("--strategy", "bos_orderblock", "--data", str(data), "--method", method,
            "--param", "rr=1:4", "--param", "cooldown=0:30", "--variants", "5", "--seed", "3",
            "--top", "2")  # fmt: skip
    code, out, err = sweep(*args)
    assert code == 0, err
    assert out is not None and out["variants"] == 5 and out["computed"] == 5
    t = pd.read_parquet(out["results"])
    assert t["param_rr"].between(1, 4).all() and t["param_cooldown"].between(0, 30).all()
    assert (t["param_cooldown"] == t["param_cooldown"].round()).all()
    code, again, _ = sweep(*args)
    assert code == 0 and again is not None and again["computed"] == 0


def test_optuna_study_resumes_by_name_with_journal_storage(data: Path, tmp_path: Path) -> None:
    args = ("--strategy", "bos_orderblock", "--data", str(data), "--method", "optuna",
            "--param", "rr=1:4", "--param", "max_wait=10:60", "--variants", "6", "--seed", "1",
            "--objective", "sharpe", "--objective", "max_drawdown", "--top", "1")  # fmt: skip
    code, out, err = sweep(*args)
    assert code == 0, err
    assert out is not None and out["variants"] == 6 and out["computed"] == 6
    assert out["objectives"] == ["sharpe", "max_drawdown"]
    journal = tmp_path / "fractal-data" / "optuna" / "journal.log"
    assert journal.is_file() and out["storage"] == str(journal)
    code, again, _ = sweep(*args)
    assert code == 0 and again is not None
    assert again["computed"] == 0 and again["study"] == out["study"] and again["trials"] == 6
    pd.testing.assert_frame_equal(
        pd.read_parquet(again["results"]), pd.read_parquet(out["results"])
    )


def test_optuna_single_objective_reports_walk_forward_folds(data: Path, tmp_path: Path) -> None:
    import optuna

    from research.sweep.optuna_study import FOLDS, journal_storage

    code, out, err = sweep("--strategy", "bos_orderblock", "--data", str(data), "--method",
                           "optuna", "--param", "rr=1:4", "--param", "cooldown=0:40",
                           "--variants", "8", "--study", "wf-prune", "--top", "1")  # fmt: skip
    assert code == 0 and out is not None, err
    assert out["study"] == "wf-prune" and out["objectives"] == ["sharpe"]
    study = optuna.load_study(
        study_name="wf-prune",
        storage=journal_storage(tmp_path / "fractal-data" / "optuna" / "journal.log"),
    )
    states = optuna.trial.TrialState
    done = [t for t in study.trials if t.state in (states.COMPLETE, states.PRUNED)]
    assert len(done) == 8
    for t in done:  # every trial reported its folds, up to the one it was pruned at
        steps = sorted(t.intermediate_values)
        assert steps == list(range(len(steps))) and 1 <= len(steps) <= FOLDS
        if t.state == states.COMPLETE:
            assert len(steps) == FOLDS


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--strategy", "nope"], "unknown strategy"),
        (["--strategy", "bos_orderblock", "--param", "bogus=1:2"], "unknown parameter"),
        (["--strategy", "bos_orderblock", "--param", "rr=3:1"], "inverted"),
        (["--strategy", "bos_orderblock", "--param", "rr="], "empty"),
        (["--strategy", "bos_orderblock", "--param", "rr=0:30"], "outside the limits"),
        (
            ["--strategy", "sma_cross", "--param", "fast=50:60", "--param", "slow=10:20"],
            "no valid parameter set",
        ),
        (["--strategy", "bos_orderblock", "--method", "bogus"], "unknown --method"),
        (
            ["--strategy", "bos_orderblock", "--method", "optuna", "--objective", "luck"],
            "unknown objective",
        ),
        # found inside a Ray task (sma_cross sets no stop): still one line, exit 2
        (
            [
                "--strategy",
                "sma_cross",
                "--sizing",
                "risk",
                "--param",
                "fast=5",
                "--param",
                "slow=20",
            ],
            "risk sizing needs a stop",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(data: Path, args: list[str], needle: str) -> None:
    code, out, err = sweep(*args, "--data", str(data))
    assert code == 2 and out is None
    # one error line (rich may wrap it at the console width)
    text = " ".join(err.split()).lower()
    assert text.count("error:") == 1 and needle in text[text.index("error:") :], err
    assert "traceback" not in text
