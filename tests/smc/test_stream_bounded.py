"""A bounded ``SMCStream`` (``max_rows``): the same rows as the batch on long real series, with
old bars dropped as they stop being readable, and memory that stays flat (issue #15)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies.smc import SMCStream, bars_from_frame, make_params
from strategies.smc.pipeline import concept_nodes, detect_arrays
from tests.conftest import MARKET
from tests.smc.helpers import BTC_5M, load_frame

BTC_1H_2017 = MARKET / "binance_spot_btc_2017_2024" / "binance_BTCUSDT_1h.csv.gz"


def _batch_rows(df: pd.DataFrame, **params: object) -> np.ndarray:
    outs = detect_arrays(bars_from_frame(df), make_params(**params))
    return np.concatenate([outs[n.name][: len(df)] for n in concept_nodes()], axis=1)


def _stream_rows(
    df: pd.DataFrame, max_rows: int | None, **params: object
) -> tuple[SMCStream, np.ndarray, list[int]]:
    s = SMCStream(max_rows=max_rows, **params)
    arr = df[["open", "high", "low", "close", "volume"]].to_numpy(dtype=np.float64)
    times = pd.DatetimeIndex(df.index).as_unit("ms").asi8.astype(np.float64)
    rows = np.empty((len(df), len(s.columns)))
    sizes = []
    for k in range(len(df)):
        assert s.update_arrays(times[k], *arr[k]) == k
        rows[k] = np.concatenate(s.row())
        sizes.append(s.nbytes())
    return s, rows, sizes


@pytest.mark.parametrize(
    "params",
    [{}, {"swing_length": 10, "internal_length": 3, "structure_wick_break": True}],
    ids=["defaults", "short-swings"],
)
def test_bounded_stream_equals_batch_on_58k_hourly_bars(params: dict[str, object]) -> None:
    df = load_frame(BTC_1H_2017)
    assert len(df) > 50_000
    s, rows, sizes = _stream_rows(df, 8, **params)
    np.testing.assert_array_equal(rows, _batch_rows(df, **params))  # NaN == NaN, bit for bit
    assert s.first_row > len(df) - 5_000  # old bars really were dropped
    assert max(sizes) < 40 * 1024 * 1024  # vs ~2.5 KB per bar x 58k = 145 MB unbounded
    with pytest.raises(IndexError, match="dropped"):
        s.row(0)
    assert len(s.frame()) == s.n - s.first_row


def test_bounded_stream_memory_is_flat_over_100k_bars() -> None:
    rng = np.random.default_rng(7)
    n = 100_000
    close = 30_000 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    opn = np.concatenate([[close[0]], close[:-1]])
    wick = np.abs(rng.normal(0, 0.001, (2, n))) * close
    df = pd.DataFrame(
        {
            "open": opn,
            "high": np.maximum(opn, close) + wick[0],
            "low": np.minimum(opn, close) - wick[1],
            "close": close,
            "volume": rng.uniform(1, 10, n),
        },
        index=pd.DatetimeIndex(
            pd.to_datetime(1_600_000_000_000 + 300_000 * np.arange(n), unit="ms", utc=True),
            name="time",
        ),
    )
    s, rows, sizes = _stream_rows(df, 4)
    assert len(set(sizes[20_000:])) == 1, "arena size changed after warm-up"
    np.testing.assert_array_equal(rows[-2_000:], _batch_rows(df)[-2_000:])


def test_unbounded_stream_keeps_every_row() -> None:
    df = load_frame(BTC_5M).iloc[:3_000]
    s, rows, _ = _stream_rows(df, None, swing_length=10, internal_length=3)
    assert s.first_row == 0 and len(s.frame()) == len(df)
    np.testing.assert_array_equal(np.concatenate(s.row(0)), rows[0])


def test_max_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_rows"):
        SMCStream(max_rows=0)
