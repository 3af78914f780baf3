"""Detector cache on disk: the matrix equals detect_columns' input matrix, keys follow the
content, one-variant groups do not write big matrices, the cap evicts the oldest entries."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from research.backtest.bars import Bars
from research.backtest.config import BacktestConfig
from research.data.csv_files import load_csv
from research.sweep import detector_cache, tasks
from research.sweep.dataset import build
from strategies import bos_orderblock, live
from tests.research.helpers import write_slice


def _data(tmp_path: Path) -> dict[str, object]:
    candles = load_csv(write_slice(tmp_path / "in", bars=600), "15m")
    ds = build(candles, Bars.from_frame(candles, "15m"), None, BacktestConfig(), "BTC", "t")
    return {"arrays": ds.arrays, "digest": ds.candles_digest, "candles": candles}


def test_matrix_equals_the_strategy_input_and_is_read_back(tmp_path: Path) -> None:
    d = _data(tmp_path)
    a = d["arrays"]
    spec = bos_orderblock.spec(bos_orderblock.Params())
    det, cols = dict(spec.detector_params), list(spec.columns)
    frame = live.ohlc_frame(d["candles"])
    ref = live.input_matrix(frame, live.detect_columns(frame, cols, det), cols)
    key = detector_cache.cache_key(d["digest"], det, cols)  # type: ignore[arg-type]
    ohlc = (a["open"], a["high"], a["low"], a["close"])  # type: ignore[index]
    x, info = detector_cache.load_or_compute(tmp_path / "c", key, a["det_bars"], ohlc, det, cols)  # type: ignore[index]
    assert not info["hit"] and np.array_equal(x, ref, equal_nan=True)
    y, info = detector_cache.load_or_compute(tmp_path / "c", key, a["det_bars"], ohlc, det, cols)  # type: ignore[index]
    assert info["hit"] and np.array_equal(y, ref, equal_nan=True)
    other = detector_cache.cache_key(d["digest"], {**det, "swing_length": 20}, cols)  # type: ignore[arg-type]
    assert other != key


def test_write_false_leaves_no_entry(tmp_path: Path) -> None:
    d = _data(tmp_path)
    a = d["arrays"]
    spec = bos_orderblock.spec(bos_orderblock.Params())
    det, cols = dict(spec.detector_params), list(spec.columns)
    ohlc = (a["open"], a["high"], a["low"], a["close"])  # type: ignore[index]
    detector_cache.load_or_compute(tmp_path / "c", "k", a["det_bars"], ohlc, det, cols, False)  # type: ignore[index]
    assert not (tmp_path / "c").exists() or not list((tmp_path / "c").iterdir())


def test_prune_keeps_the_cache_under_its_cap_oldest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cdir = tmp_path / "c"
    cdir.mkdir()
    for i in range(4):
        p = cdir / f"e{i}.npy"
        p.write_bytes(b"x" * 1000)
        os.utime(p, (1_000_000 + i, 1_000_000 + i))
    monkeypatch.setattr(tasks, "CACHE_CAP_BYTES", 2500)
    tasks._prune(cdir)
    assert sorted(p.name for p in cdir.iterdir()) == ["e2.npy", "e3.npy"]
