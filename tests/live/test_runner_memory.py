"""The StrategyRunner's streaming state stays flat on an endless feed and emits the same
signals as an unbounded stream (issue #15: "its memory must stay flat")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actors.runner import LIVE_MAX_ROWS, StrategyRunner
from strategies import registry
from tests.conftest import MARKET


@pytest.mark.parametrize("strategy", ["liquidity_sweep", "bos_orderblock"])
def test_runner_stream_is_bounded_and_exact(strategy: str) -> None:
    raw = pd.read_csv(MARKET / "hyperliquid_perp_2025" / "hyperliquid_BTCUSDC_15m.csv.gz")
    bars = raw[["timestamp", "open", "high", "low", "close", "volume"]].to_numpy(np.float64)
    n = 3 * LIVE_MAX_ROWS
    assert len(bars) >= n
    runner = StrategyRunner("BTC", "15m", strategy, {}, feed=None, risk=None)
    unbounded = registry.get(strategy).stream(None)
    sizes = {}
    for i, (t, o, h, lo, c, v) in enumerate(bars[:n]):
        got = runner.stream.update(t, o, h, lo, c, v)
        want = unbounded.update(t, o, h, lo, c, v)
        assert got["entry"] == want["entry"], f"bar {i}"
        if got["entry"]:
            assert got["stop"] == want["stop"] and got["target"] == want["target"]
        if i + 1 in (2 * LIVE_MAX_ROWS, n):
            sizes[i + 1] = runner.stream.nbytes()
    assert sizes[n] == sizes[2 * LIVE_MAX_ROWS]  # flat after warm-up
    assert unbounded.nbytes() > sizes[n]  # the control grows
