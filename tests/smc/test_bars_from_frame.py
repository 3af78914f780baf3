"""``bars_from_frame``'s one-pass packer gives what plain pandas gives, for every index unit.

The packer converts integer open times to ms itself when they are whole ms and falls back to
pandas' ``as_unit("ms")`` otherwise; these cases pin both paths and the error order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies.smc import bars_from_frame


def _pandas_bars(df: pd.DataFrame) -> np.ndarray:
    """The straightforward packing (the packer must equal it bit for bit)."""
    cols = {c.lower(): c for c in df.columns}
    idx = df.index if df.index.tz is not None else df.index.tz_localize("UTC")
    bars = np.empty((len(df), 6))
    for j, name in enumerate(("open", "high", "low", "close")):
        bars[:, j] = df[cols[name]].to_numpy(dtype=np.float64)
    bars[:, 4] = df[cols["volume"]].to_numpy(np.float64) if "volume" in cols else 0.0
    bars[:, 5] = idx.as_unit("ms").asi8.astype(np.float64)
    return bars


def _frame(n: int, unit: str, tz: str | None, volume: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    t = pd.to_datetime(1_700_000_000_000 + 60_000 * np.arange(n), unit="ms", utc=True)
    idx = pd.DatetimeIndex(t if tz == "UTC" else t.tz_localize(None) if tz is None else
                           t.tz_convert(tz)).as_unit(unit)  # fmt: skip
    data = {"Open": rng.random(n), "high": rng.random(n), "low": rng.random(n),
            "close": rng.integers(1, 9, n)}  # fmt: skip
    if volume:
        data["volume"] = rng.random(n)
    return pd.DataFrame(data, index=idx)


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("tz", ["UTC", None, "Asia/Tokyo"])
@pytest.mark.parametrize("volume", [True, False])
def test_packed_bars_equal_the_pandas_packing(unit: str, tz: str | None, volume: bool) -> None:
    df = _frame(40, unit, tz, volume)
    np.testing.assert_array_equal(bars_from_frame(df), _pandas_bars(df))


def test_times_that_are_not_whole_ms_use_pandas_conversion() -> None:
    df = _frame(6, "ns", "UTC")
    for shift in (pd.Timedelta(microseconds=3), -pd.Timedelta(days=365 * 60) + pd.Timedelta(1)):
        moved = df.set_axis(df.index + shift)
        np.testing.assert_array_equal(bars_from_frame(moved), _pandas_bars(moved))
    assert bars_from_frame(df.iloc[:0]).shape == (0, 6)


def test_order_nat_and_price_errors() -> None:
    df = _frame(8, "ns", "UTC")
    with pytest.raises(ValueError, match="strictly increasing"):
        bars_from_frame(df.iloc[::-1])
    dup = df.set_axis(df.index[[0, 1, 1, 3, 4, 5, 6, 7]])
    with pytest.raises(ValueError, match="strictly increasing"):
        bars_from_frame(dup)
    for pos in (0, 3, 7):
        nat = df.set_axis(pd.DatetimeIndex([pd.NaT if k == pos else t for k, t in
                                            enumerate(df.index)]))  # fmt: skip
        with pytest.raises(ValueError, match="strictly increasing"):
            bars_from_frame(nat)
    bad = df.copy()
    bad.iloc[2, 0] = np.nan
    bad.iloc[5, 2] = np.inf
    with pytest.raises(ValueError, match="2 row"):
        bars_from_frame(bad)
    with pytest.raises(ValueError, match="strictly increasing"):  # order is checked first
        bars_from_frame(bad.iloc[::-1])
