"""The sweep runner below the CLI: interrupted runs resume without duplicates, detector
matrices are computed once per (data, detector parameters) and then read from the cache,
several datasets in one sweep."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from research.backtest.bars import Bars
from research.backtest.config import BacktestConfig
from research.data.csv_files import load_csv
from research.sweep import runner as sweep_runner
from research.sweep.dataset import Dataset, build
from research.sweep.results import ResultsStore
from research.sweep.runner import SweepInterrupted
from research.sweep.space import Space
from research.sweep.sweep import SweepRequest, run_sweep, sweep_dir
from strategies import bos_orderblock, sma_cross
from tests.research.helpers import write_slice

pytestmark = pytest.mark.usefixtures("ray_session")


def _dataset(path: Path, tf: str = "15m", symbol: str = "BTC") -> Dataset:
    candles = load_csv(path, tf)
    return build(candles, Bars.from_frame(candles, tf), None, CFG, symbol, str(path))


CFG = BacktestConfig()


def _req(tmp_path: Path, datasets: list[Dataset], params: list[str], **kw: object) -> SweepRequest:
    model = bos_orderblock.Params if kw.pop("strategy", "bos") == "bos" else sma_cross.Params
    return SweepRequest(
        strategy=bos_orderblock.NAME if model is bos_orderblock.Params else sma_cross.NAME,
        method="grid", space=Space.parse(model, params), config=kw.pop("config", CFG),  # type: ignore[arg-type]
        datasets=datasets, data_dir=tmp_path / "fractal-data", progress=False, mlflow=False,
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_interrupted_sweep_keeps_finished_batches_and_resumes_without_duplicates(
    tmp_path: Path,
) -> None:
    ds = _dataset(write_slice(tmp_path / "in"))
    req = _req(tmp_path, [ds], ["rr=1:4:1", "max_wait=20:40:20"])  # 8 variants, 2+ batches

    def stop(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(SweepInterrupted) as info:
        run_sweep(req, on_batch=stop)
    first = info.value.computed
    assert 0 < first < 8
    store = ResultsStore(sweep_dir(req))
    kept = pd.read_parquet(store.table_path)
    assert len(kept) == first  # the table holds what finished
    out = run_sweep(req)
    assert out["computed"] == 8 - first and out["skipped"] == first and out["variants"] == 8
    table = pd.read_parquet(out["results"])
    assert len(table) == 8 and table["variant_id"].is_unique
    assert len(store.load()) == 8  # the parts hold no duplicate either
    # rows kept from the interrupted run are the ones the resumed table shows
    pd.testing.assert_frame_equal(
        table[table["variant_id"].isin(kept["variant_id"])].reset_index(drop=True),
        kept.sort_values("variant").reset_index(drop=True),
    )
    again = run_sweep(req)
    assert again["computed"] == 0
    pd.testing.assert_frame_equal(pd.read_parquet(again["results"]), table)


def test_detector_matrices_are_cached_per_data_and_detector_params(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = _dataset(write_slice(tmp_path / "in"))
    # two detector parameter sets x 4 strategy sets; small batches so a set spans tasks
    monkeypatch.setattr(sweep_runner, "MIN_BATCH", 1)
    monkeypatch.setattr(sweep_runner, "TASK_SECONDS", 1e-9)
    first = run_sweep(_req(tmp_path, [ds], ["swing_length=20:30:10", "rr=1:4:1"]))
    assert first["computed"] == 8
    assert first["detector_cache"] == {"sets": 2, "hits": 0, "misses": 2}
    cache = tmp_path / "fractal-data" / "cache" / "detections"
    assert len(list(cache.glob("*.npy"))) == 2
    # a new sweep (other strategy parameters) on the same detector sets reads the cache
    second = run_sweep(_req(tmp_path, [ds], ["swing_length=20:30:10", "cooldown=0:5:5"]))
    assert second["computed"] == 4
    assert second["detector_cache"] == {"sets": 2, "hits": 2, "misses": 0}
    # other candles: other keys
    other = _dataset(write_slice(tmp_path / "in2", skip=500))
    third = run_sweep(_req(tmp_path, [other], ["swing_length=20:30:10", "rr=1:1:1"]))
    assert third["detector_cache"] == {"sets": 2, "hits": 0, "misses": 2}


def test_several_datasets_in_one_sweep(tmp_path: Path) -> None:
    a = _dataset(write_slice(tmp_path / "a", "BTCUSDC", "15m"), "15m", "BTC")
    b = _dataset(write_slice(tmp_path / "b", "ETHUSDC", "1h", bars=1000), "1h", "ETH")
    cfg = BacktestConfig(sizing="all_in")
    req = _req(tmp_path, [a, b], ["fast=5:10:5", "slow=20:40:20"], strategy="sma", config=cfg)
    out = run_sweep(req)
    t = pd.read_parquet(out["results"])
    assert out["variants"] == 8 and len(t) == 8
    assert sorted(set(zip(t["symbol"], t["timeframe"], strict=True))) == [
        ("BTC", "15m"),
        ("ETH", "1h"),
    ]
    per = {(d["symbol"], d["timeframe"]): d for d in out["per_dataset"]}
    assert set(per) == {("BTC", "15m"), ("ETH", "1h")}
    assert all(
        d["variants"] == 4 and 0 <= d["pbo"] <= 1 and 0 <= d["dsr"] <= 1 for d in per.values()
    )
