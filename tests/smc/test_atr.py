"""Wilder ATR concept; also the small real-data helpers the other tests of this group import."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from strategies.smc import atr
from strategies.smc._common import as_bars
from tests.causality import assert_prefix_property
from tests.conftest import MARKET
from tests.smc.helpers import assert_stream_equals_batch

BTC_5M = MARKET / "hyperliquid_perp_2025" / "hyperliquid_BTCUSDC_5m.csv.gz"
ETH_1H = MARKET / "hyperliquid_perp_2025" / "hyperliquid_ETHUSDC_1h.csv.gz"


@cache
def _load(path: str) -> np.ndarray:
    df = pd.read_csv(path)
    return as_bars(
        df["open"].to_numpy(float),
        df["high"].to_numpy(float),
        df["low"].to_numpy(float),
        df["close"].to_numpy(float),
        df["volume"].to_numpy(float),
        df["timestamp"].to_numpy(float),
    )


def real_bars(path: object = BTC_5M, n: int | None = None) -> np.ndarray:
    """Real OHLCV bars as the (n, 6) float64 array (a fresh copy)."""
    bars = _load(str(path))
    return (bars if n is None else bars[:n]).copy()


def make_bars(rows: list[tuple[float, float, float, float]], t0: float = 0.0) -> np.ndarray:
    """Hand-made (o, h, l, c) bars, one minute apart."""
    a = np.asarray(rows, dtype=float)
    t = t0 + 60_000.0 * np.arange(len(rows))
    return as_bars(a[:, 0], a[:, 1], a[:, 2], a[:, 3], np.ones(len(rows)), t)


def assert_same(a: np.ndarray, b: np.ndarray) -> None:
    """Exactly equal, NaN = NaN."""
    assert a.shape == b.shape
    np.testing.assert_array_equal(a, b)


def assert_int_columns_clean(
    out: np.ndarray, columns: tuple[str, ...], ints: frozenset[str]
) -> None:
    """Columns the pandas wrapper casts to int64 must hold whole numbers, never NaN."""
    assert ints <= set(columns)
    for k, name in enumerate(columns):
        if name in ints:
            assert np.all(np.isfinite(out[:, k])), name
            assert np.all(out[:, k] == np.round(out[:, k])), name


def test_hand_made_wilder_atr() -> None:
    bars = make_bars([(10, 11, 9, 10), (10, 14, 10, 13), (13, 13, 12, 12), (12, 20, 12, 19)])
    out = atr.run(bars, atr.Params(atr_period=3))
    # true ranges: 2, max(4, 4, 0) = 4, max(1, 0, 1) = 1, max(8, 8, 0) = 8
    assert np.isnan(out[0, 0]) and np.isnan(out[1, 0])
    assert out[2, 0] == pytest.approx((2 + 4 + 1) / 3)
    assert out[3, 0] == pytest.approx(((2 + 4 + 1) / 3 * 2 + 8) / 3)


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="6 columns"):
        atr.run(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="float64"):
        atr.run(np.zeros((5, 6), dtype=np.float32))


def test_live_stream_equals_batch() -> None:
    """The live path (``SMCStream``: every concept's ``step`` in one fused call per bar)
    equals batch on every row and column."""
    bars = real_bars(n=5000)
    for period in (14, 3):
        assert_stream_equals_batch(bars, atr_period=period)
    assert np.all(atr.run(bars)[13:, 0] > 0)


@pytest.mark.causality
def test_prefix_property() -> None:
    bars = real_bars(n=5000)
    assert_prefix_property(atr.run, bars, [*range(1500), 3999, 4999])
    assert_prefix_property(lambda b: atr.run(b, atr.Params(atr_period=3)), bars, [3999])
