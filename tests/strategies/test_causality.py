"""One code path, no look-ahead: bar-by-bar == batch exactly, prefix property, Python == numba."""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numba import njit

from strategies import bos_orderblock as bo
from strategies import liquidity_sweep as ls
from strategies import live
from strategies.signals import MARKET
from strategies.smc.pipeline import detect
from tests.causality import prefix_failure
from tests.strategies.helpers import BTC_15M, assert_same_signals, run, shipped, timed

# parameter sets that exercise every rule on real data (confirmations, filters, targets, sides)
CASES: list[tuple[ModuleType, dict[str, Any]]] = [
    (ls, {}),
    (ls, {"confirm_bars": 8, "target_mode": "liquidity", "cooldown": 0, "liq_reclaim_bars": 2}),
    (ls, {"trend_filter": True, "discount_only": True, "side": "long", "sweep_pools": False}),
    (bo, {}),
    (bo, {"scale": "swing", "target_mode": "structure", "entry_level": "mid", "swing_length": 20}),
    (bo, {"break_kind": "choch", "trend_filter": True, "side": "short", "ob_use_body": True}),
]
IDS = [f"{m.NAME}-{i}" for i, (m, _) in enumerate(CASES)]


@pytest.fixture(autouse=True)
def _need_data() -> None:
    if not BTC_15M.exists():
        pytest.skip(f"shipped data missing: {BTC_15M}")


@pytest.mark.parametrize(("module", "kw"), CASES, ids=IDS)
def test_bar_by_bar_equals_batch(module: ModuleType, kw: dict[str, Any]) -> None:
    df = shipped(n=6000)
    params = module.Params(**kw)
    batch = module.generate(df, params)
    stream = module.stream(params)
    rows = []
    for r in df.itertuples(index=False):
        rows.append(stream.update(float(r.timestamp), r.open, r.high, r.low, r.close, r.volume))
    assert_same_signals(stream.signals(), batch)
    # the per-bar dicts are what the live runner sends: the same as the batch rows
    for t in np.flatnonzero(batch.entry)[:50]:
        got, want = rows[t], batch.row(int(t))
        assert got.keys() == want.keys()
        for k in got:
            assert got[k] == want[k] or (np.isnan(got[k]) and np.isnan(want[k])), (t, k)
    assert np.count_nonzero(batch.entry) > 0  # the case is not vacuous


def test_stream_fed_by_an_external_detector_row() -> None:
    df = timed(shipped(n=1500))
    params = ls.Params(cooldown=0)
    spec = ls.spec(params)
    det = detect(df, **params.detector_params())
    s = live.StrategyStream(spec)
    for t in range(len(df)):
        bar = df.iloc[t]
        s.push(bar.open, bar.high, bar.low, bar.close, det.iloc[t][list(spec.columns)].tolist())
    assert_same_signals(s.signals(), ls.generate(df, params, detections=det))
    with pytest.raises(ValueError, match="expected 21 detector values, got 2"):
        s.push(1.0, 1.0, 1.0, 1.0, [0.0, 0.0])


def kernel_prefix_failure(spec: live.Spec, df: pd.DataFrame) -> str | None:
    """The prefix check of a strategy (detectors + kernel, every Signals field and row) on
    fresh copies of prefixes cut at random bars and around its entries; None = it holds."""
    run = lambda d: live.to_signals(live.run_batch(spec, d))  # noqa: E731
    try:
        full = run(df)
    except IndexError as err:  # an out-of-bounds read under NUMBA_BOUNDSCHECK
        return f"full run: out-of-bounds read ({err})"
    rng = np.random.default_rng(7)
    events = np.flatnonzero(full.entry)
    cuts = set(rng.integers(0, len(df), 12).tolist())
    for e in events[:: max(1, len(events) // 8)]:
        cuts |= {int(e) - 1, int(e), int(e) + 1}
    return prefix_failure(run, df, sorted(c for c in cuts if 0 <= c < len(df)))


@pytest.mark.causality
@pytest.mark.parametrize(("module", "kw"), CASES, ids=IDS)
def test_prefix_property(module: ModuleType, kw: dict[str, Any]) -> None:
    df = timed(shipped(n=2500))
    params = module.Params(**kw)
    assert np.count_nonzero(module.generate(df, params).entry) > 0  # the case is not vacuous
    found = kernel_prefix_failure(module.spec(params), df)
    assert found is None, found


def peeking(kernel: live.Kernel, guarded: bool) -> live.Kernel:
    """``kernel`` plus a one-bar look-ahead: go long at bar i when bar i + 1 closes higher."""

    @njit
    def peek(start: int, stop: int, x: np.ndarray, p: np.ndarray, s: np.ndarray, out: np.ndarray):  # type: ignore[no-untyped-def]
        kernel(start, stop, x, p, s, out)
        for i in range(start, stop):
            if guarded and i + 1 >= x.shape[0]:
                continue
            if x[i + 1, live.X_CLOSE] > x[i, live.X_CLOSE] and out[i, live.OUT_ENTRY] == 0.0:
                out[i, live.OUT_ENTRY] = 1.0
                out[i, live.OUT_KIND] = MARKET

    return peek  # type: ignore[no-any-return]


@pytest.mark.causality
@pytest.mark.parametrize("guarded", [False, True], ids=["reads-past-the-end", "guarded"])
def test_negative_control_a_look_ahead_kernel_fails_the_same_check(guarded: bool) -> None:
    """Strategy-kernel layer (strategies/live.py): the check above flags a kernel that reads
    the next bar's close."""
    spec = ls.spec(ls.Params())
    found = kernel_prefix_failure(
        dataclasses.replace(spec, kernel=peeking(spec.kernel, guarded)), timed(shipped(n=2500))
    )
    assert found is not None
    assert ("out-of-bounds" in found) is not guarded, found


@pytest.mark.parametrize(("module", "kw"), CASES, ids=IDS)
def test_python_kernel_equals_compiled_on_real_data(module: ModuleType, kw: dict[str, Any]) -> None:
    df = timed(shipped())
    params = module.Params(**kw)
    spec = module.spec(params)
    det = detect(df, **params.detector_params())
    x = live.input_matrix(df, det, spec.columns)
    compiled = run(spec, x, python=False)
    assert np.array_equal(run(spec, x, python=True), compiled, equal_nan=True)
    assert np.array_equal(live.run_batch(spec, df, det), compiled, equal_nan=True)


def test_precomputed_detections_give_the_same_signals() -> None:
    df = shipped(n=3000)
    for module in (ls, bo):
        params = module.Params()
        det = detect(timed(df), **params.detector_params())
        assert_same_signals(module.generate(df, params, detections=det), module.generate(df))
