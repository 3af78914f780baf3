"""strategies.smc.compat reproduces the 11 golden files of smartmoneyconcepts 0.0.27.

Input and tolerance exactly as docs/smc.md §6: EURUSD 15m, ``Date`` -> naive index taken as
UTC, lower-cased columns (``volume`` = the all-zero ``Volume``), ``shl5 = swing_highs_lows(5)``.
The package's own criterion is ``assert_frame_equal(check_dtype=False)``; on top of it flags
and row pointers must be exact, float32 columns equal after casting both sides to float32 and
float64 columns bit-exact.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from strategies.smc.compat import smc
from tests.conftest import SMC_REFERENCE

Call = Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]

# golden file -> (call, columns that are flags/pointers, float64 columns)
GOLDEN: dict[str, tuple[Call, list[str], list[str]]] = {
    "swing_highs_lows_result_data": (
        lambda df, shl: smc.swing_highs_lows(df, 5),
        ["HighLow"],
        ["Level"],
    ),
    "fvg_result_data": (lambda df, shl: smc.fvg(df), ["FVG", "MitigatedIndex"], ["Top", "Bottom"]),
    "fvg_consecutive_result_data": (
        lambda df, shl: smc.fvg(df, join_consecutive=True),
        ["FVG", "MitigatedIndex"],
        ["Top", "Bottom"],
    ),
    "bos_choch_result_data": (
        lambda df, shl: smc.bos_choch(df, shl),
        ["BOS", "CHOCH", "BrokenIndex"],
        [],
    ),
    "ob_result_data": (lambda df, shl: smc.ob(df, shl), ["OB", "MitigatedIndex"], []),
    "liquidity_result_data": (
        lambda df, shl: smc.liquidity(df, shl),
        ["Liquidity", "End", "Swept"],
        [],
    ),
    "retracements_result_data": (
        lambda df, shl: smc.retracements(df, shl),
        ["Direction"],
        ["CurrentRetracement%", "DeepestRetracement%"],
    ),
    "previous_high_low_result_data_4h": (
        lambda df, shl: smc.previous_high_low(df, time_frame="4h"),
        ["BrokenHigh", "BrokenLow"],
        [],
    ),
    "previous_high_low_result_data_1D": (
        lambda df, shl: smc.previous_high_low(df, time_frame="1D"),
        ["BrokenHigh", "BrokenLow"],
        [],
    ),
    "previous_high_low_result_data_W": (
        lambda df, shl: smc.previous_high_low(df, time_frame="W"),
        ["BrokenHigh", "BrokenLow"],
        [],
    ),
    "sessions_result_data": (
        lambda df, shl: smc.sessions(df, session="London"),
        ["Active"],
        [],
    ),
}


@pytest.fixture(scope="module")
def eurusd() -> pd.DataFrame:
    df = pd.read_csv(SMC_REFERENCE / "EURUSD_15M.csv").set_index("Date")
    df.index = pd.to_datetime(df.index, format="%Y.%m.%d %H:%M:%S")
    df.columns = [c.lower() for c in df.columns]
    assert len(df) == 24_424
    return df


@pytest.fixture(scope="module")
def shl5(eurusd: pd.DataFrame) -> pd.DataFrame:
    return smc.swing_highs_lows(eurusd, swing_length=5)


def _golden(name: str) -> pd.DataFrame:
    return pd.read_csv(SMC_REFERENCE / f"{name}.csv", float_precision="round_trip")


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_file_reproduced(name: str, eurusd: pd.DataFrame, shl5: pd.DataFrame) -> None:
    call, exact_cols, float64_cols = GOLDEN[name]
    expected = _golden(name)
    got = call(eurusd, shl5).reset_index(drop=True)

    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)  # the package's criterion
    for col in expected.columns:
        a, b = got[col].to_numpy(), expected[col].to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{col}: NaN cells differ"
        assert np.array_equal(a.astype(np.float32), b.astype(np.float32), equal_nan=True), col
    for col in exact_cols:
        assert np.array_equal(
            got[col].to_numpy(np.float64), expected[col].to_numpy(np.float64), equal_nan=True
        ), col
    for col in float64_cols:
        assert got[col].dtype == np.float64
        assert np.array_equal(got[col].to_numpy(), expected[col].to_numpy(), equal_nan=True), col


def test_golden_event_counts_match_docs(eurusd: pd.DataFrame, shl5: pd.DataFrame) -> None:
    """The event counts docs/smc.md §6 lists for the golden files (bugs included)."""
    assert shl5["HighLow"].notna().sum() == 2_708
    assert smc.fvg(eurusd)["FVG"].notna().sum() == 5_020
    assert smc.fvg(eurusd, join_consecutive=True)["FVG"].notna().sum() == 3_756
    bos = smc.bos_choch(eurusd, shl5)
    assert bos["BOS"].notna().sum() == 676
    assert bos["CHOCH"].notna().sum() == 453
    assert bos["BrokenIndex"].notna().sum() == 1_296
    stray = bos["BrokenIndex"].notna() & bos["BOS"].isna() & bos["CHOCH"].isna()
    assert stray.sum() == 167
    assert smc.ob(eurusd, shl5)["OB"].notna().sum() == 66
    assert smc.liquidity(eurusd, shl5)["Liquidity"].notna().sum() == 498
    assert smc.sessions(eurusd, "London")["Active"].sum() == 9_427


def test_golden_dtypes_follow_the_package(eurusd: pd.DataFrame, shl5: pd.DataFrame) -> None:
    """float32 levels where the package has them, int32 flags, RangeIndex output (#67)."""
    assert smc.bos_choch(eurusd, shl5)["Level"].dtype == np.float32
    ob = smc.ob(eurusd, shl5)
    assert [str(ob[c].dtype) for c in ob.columns] == [
        "float64", "float32", "float32", "float32", "float64", "float32",
    ]  # fmt: skip
    assert (smc.liquidity(eurusd, shl5).dtypes == np.float32).all()
    phl = smc.previous_high_low(eurusd, "1D")
    assert [str(t) for t in phl.dtypes] == ["float32", "float32", "int32", "int32"]
    assert [str(t) for t in smc.sessions(eurusd, "London").dtypes] == [
        "int32",
        "float32",
        "float32",
    ]
    assert smc.retracements(eurusd, shl5)["Direction"].dtype == np.int32
    assert isinstance(smc.fvg(eurusd).index, pd.RangeIndex)
