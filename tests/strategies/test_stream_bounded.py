"""Bounded strategy streams (``StrategyStream(spec, max_rows=N)``): the same rows as the batch,
flat memory, and fail-closed when a kernel would need a row already dropped (issue #15)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies import bos_orderblock as bo
from strategies import liquidity_sweep as ls
from strategies import live
from tests.smc.helpers import ETH_15M, load_frame

KEYS = ("entry", "entry_kind", "entry_price", "stop", "target")


def _run(stream: live.StrategyStream, df) -> np.ndarray:  # type: ignore[no-untyped-def]
    arr = df[["open", "high", "low", "close", "volume"]].to_numpy(dtype=np.float64)
    times = pd.DatetimeIndex(df.index).as_unit("ms").asi8.astype(np.float64)
    rows = np.empty((len(df), len(KEYS)))
    for k in range(len(df)):
        r = stream.update(times[k], *arr[k])
        rows[k] = [r[key] for key in KEYS]
    return rows


@pytest.mark.parametrize(
    ("module", "params"),
    [
        (ls, {"liq_reclaim_bars": 3, "swing_length": 20, "cooldown": 0}),
        (ls, {"liq_reclaim_bars": 0, "confirm_bars": 5, "target_mode": "liquidity"}),
        (bo, {"swing_length": 20, "cooldown": 0}),
    ],
    ids=["sweep-reclaim3", "sweep-confirm5", "bos-ob"],
)
def test_bounded_strategy_stream_equals_batch(module, params) -> None:  # type: ignore[no-untyped-def]
    df = load_frame(ETH_15M)
    p = module.Params(**params)
    spec = module.spec(p)
    want = live.run_batch(spec, df)
    stream = live.StrategyStream(spec, max_rows=16)
    got = _run(stream, df)
    np.testing.assert_array_equal(got, want[:, : len(KEYS)])
    assert (got[:, 0] != 0).sum() > 5  # the series really produces entries
    assert stream.base > len(df) - 200  # old rows were dropped
    assert len(stream.signals()) == stream.n - stream.base


def test_bounded_strategy_stream_memory_is_flat() -> None:
    df = load_frame(ETH_15M)
    stream = live.StrategyStream(ls.spec(ls.Params(liq_reclaim_bars=3)), max_rows=8)
    arr = df[["open", "high", "low", "close", "volume"]].to_numpy(dtype=np.float64)
    times = pd.DatetimeIndex(df.index).as_unit("ms").asi8.astype(np.float64)
    sizes = []
    for k in range(len(df)):
        stream.update(times[k], *arr[k])
        sizes.append(stream.nbytes())
    assert len(set(sizes[5_000:])) == 1


def test_a_kernel_reading_a_dropped_row_fails_closed() -> None:
    """A spec that under-declares its look-back: the stream refuses instead of reading junk."""
    df = load_frame(ETH_15M)
    good = ls.spec(ls.Params(liq_reclaim_bars=20))
    lying = live.Spec(
        good.columns, good.params, good.state, good.kernel, good.detector_params,
        lookback=0, ref_columns=good.ref_columns,
    )  # fmt: skip
    stream = live.StrategyStream(lying, max_rows=1)
    with pytest.raises(live.HistoryTooShort, match="older than the rows kept"):
        _run(stream, df)
    with pytest.raises(live.HistoryTooShort, match="unusable"):
        stream.update(2e12, 1.0, 1.0, 1.0, 1.0)
