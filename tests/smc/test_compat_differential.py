"""strategies.smc.compat equals the installed smartmoneyconcepts 0.0.27 beyond the golden files.

Differential test (the package is a dev extra; the guard only skips where it is absent): real
crypto files and a seed-42 driftless random walk, non-default parameters. Equality is exact:
same columns, dtypes, NaN cells and bits. Inputs stay at 3-5k bars because the package is
O(n^2) in places.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

os.environ.setdefault("SMC_CREDIT", "0")  # the package prints a banner on import otherwise
# a plain import (a dev dependency): if it failed to install, these tests must fail, not skip
import smartmoneyconcepts  # noqa: E402

from strategies.smc import compat  # noqa: E402
from tests.conftest import MARKET  # noqa: E402

ref = smartmoneyconcepts.smc
N_BARS = 4_000


def random_walk(n: int, seed: int = 42) -> pd.DataFrame:
    """docs/smc.md §8 walk: 1-minute bars, sigma 0.1 %/bar, |N(0, 0.05 %)| wicks, lognormal volume."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    high = np.maximum(open_, close) * (1.0 + np.abs(rng.normal(0.0, 0.0005, n)))
    low = np.minimum(open_, close) * (1.0 - np.abs(rng.normal(0.0, 0.0005, n)))
    volume = rng.lognormal(0.0, 1.0, n)
    index = pd.date_range("2024-01-05 21:00", periods=n, freq="1min")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def market_file(relative: str, n: int) -> pd.DataFrame:
    df = pd.read_csv(MARKET / relative)
    df.index = pd.to_datetime(df.pop("timestamp"), unit="ms", utc=True)
    return df.iloc[-n:]


DATASETS: dict[str, Callable[[], pd.DataFrame]] = {
    "rw42": lambda: random_walk(N_BARS),
    # Hourly walk: enough 4h/1D/W periods for previous_high_low.
    "rw42_1h": lambda: random_walk(N_BARS).set_axis(
        pd.date_range("2023-06-01", periods=N_BARS, freq="1h"), axis=0
    ),
    "hl_btc_15m": lambda: market_file(
        "hyperliquid_perp_2025/hyperliquid_BTCUSDC_15m.csv.gz", N_BARS
    ),
    "binance_btc_1h": lambda: market_file(
        "binance_spot_btc_2017_2024/binance_BTCUSDT_1h.csv.gz", N_BARS
    ),
}
SWING_DATASETS = ["rw42", "hl_btc_15m", "binance_btc_1h"]


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return {name: make() for name, make in DATASETS.items()}


@pytest.fixture(scope="module")
def swings(frames: dict[str, pd.DataFrame]) -> dict[tuple[str, int], pd.DataFrame]:
    """The package's swings, so each structure function is compared on identical input."""
    return {(d, n): ref.swing_highs_lows(frames[d], n) for d in SWING_DATASETS for n in (3, 10, 50)}


def assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, expected, check_exact=True)  # dtypes, NaN cells, values


def test_market_files_are_present(frames: dict[str, pd.DataFrame]) -> None:
    for name in ("hl_btc_15m", "binance_btc_1h"):
        assert len(frames[name]) == N_BARS, name


@pytest.mark.parametrize("dataset", SWING_DATASETS)
@pytest.mark.parametrize("length", [3, 10, 50])
def test_swing_highs_lows(
    frames: dict[str, pd.DataFrame],
    swings: dict[tuple[str, int], pd.DataFrame],
    dataset: str,
    length: int,
) -> None:
    assert_same(compat.swing_highs_lows(frames[dataset], length), swings[(dataset, length)])


@pytest.mark.parametrize("dataset", SWING_DATASETS)
@pytest.mark.parametrize("join", [False, True])
def test_fvg(frames: dict[str, pd.DataFrame], dataset: str, join: bool) -> None:
    df = frames[dataset]
    assert_same(compat.fvg(df, join_consecutive=join), ref.fvg(df, join_consecutive=join))


@pytest.mark.parametrize("dataset", SWING_DATASETS)
@pytest.mark.parametrize("length", [3, 10, 50])
@pytest.mark.parametrize("close_break", [True, False])
def test_bos_choch(
    frames: dict[str, pd.DataFrame],
    swings: dict[tuple[str, int], pd.DataFrame],
    dataset: str,
    length: int,
    close_break: bool,
) -> None:
    df, shl = frames[dataset], swings[(dataset, length)]
    assert_same(compat.bos_choch(df, shl, close_break), ref.bos_choch(df, shl, close_break))


@pytest.mark.parametrize("dataset", SWING_DATASETS)
@pytest.mark.parametrize("length", [3, 10, 50])
@pytest.mark.parametrize("close_mitigation", [False, True])
def test_ob(
    frames: dict[str, pd.DataFrame],
    swings: dict[tuple[str, int], pd.DataFrame],
    dataset: str,
    length: int,
    close_mitigation: bool,
) -> None:
    df, shl = frames[dataset], swings[(dataset, length)]
    got = compat.ob(df, shl, close_mitigation)
    assert_same(got, ref.ob(df, shl, close_mitigation))


@pytest.mark.parametrize("dataset", SWING_DATASETS)
@pytest.mark.parametrize(
    ("length", "range_percent"), [(3, 0.01), (10, 0.01), (10, 0.05), (50, 0.002)]
)
def test_liquidity(
    frames: dict[str, pd.DataFrame],
    swings: dict[tuple[str, int], pd.DataFrame],
    dataset: str,
    length: int,
    range_percent: float,
) -> None:
    df, shl = frames[dataset], swings[(dataset, length)]
    got = compat.liquidity(df, shl, range_percent)
    assert_same(got, ref.liquidity(df, shl, range_percent))


@pytest.mark.parametrize("dataset", SWING_DATASETS)
@pytest.mark.parametrize("length", [3, 10])
def test_retracements(
    frames: dict[str, pd.DataFrame],
    swings: dict[tuple[str, int], pd.DataFrame],
    dataset: str,
    length: int,
) -> None:
    df, shl = frames[dataset], swings[(dataset, length)]
    assert_same(compat.retracements(df, shl), ref.retracements(df, shl))


@pytest.mark.parametrize("dataset", ["rw42", "rw42_1h", "hl_btc_15m", "binance_btc_1h"])
@pytest.mark.parametrize("time_frame", ["4h", "1D", "W", "15min"])
def test_previous_high_low(frames: dict[str, pd.DataFrame], dataset: str, time_frame: str) -> None:
    df = frames[dataset]
    got = compat.previous_high_low(df, time_frame)
    assert_same(got, ref.previous_high_low(df, time_frame))


SESSIONS = [
    ("London", "", "", "UTC"),
    ("Sydney", "", "", "UTC"),
    ("New York kill zone", "", "", "UTC"),
    ("London", "", "", "UTC+2"),
    ("Tokyo", "", "", "GMT-3"),
    ("Custom", "22:30", "03:15", "UTC"),
    ("Custom", "09:05", "09:05", "UTC+2"),
]


@pytest.mark.parametrize(("session", "start", "end", "tz"), SESSIONS)
def test_sessions_on_random_walk(
    frames: dict[str, pd.DataFrame], session: str, start: str, end: str, tz: str
) -> None:
    df = frames["rw42"]  # naive index: the package tz_localizes it for tz != "UTC"
    got = compat.sessions(df, session, start, end, tz)
    assert_same(got, ref.sessions(df, session, start, end, tz))


@pytest.mark.parametrize("dataset", ["hl_btc_15m", "binance_btc_1h"])
def test_sessions_on_tz_aware_market_data(frames: dict[str, pd.DataFrame], dataset: str) -> None:
    df = frames[dataset]
    for session in ("London", "Asian kill zone"):
        assert_same(compat.sessions(df, session), ref.sessions(df, session))


def test_utc_plus_2_is_posix_utc_minus_2(frames: dict[str, pd.DataFrame]) -> None:
    """The package's sign quirk: "UTC+2" London = 05:00-14:00 on the candle clock (not 09-18)."""
    df = frames["rw42"]
    active = compat.sessions(df, "London", time_zone="UTC+2")["Active"].to_numpy() == 1
    minutes = df.index.hour * 60 + df.index.minute
    assert np.array_equal(active, (minutes >= 5 * 60) & (minutes <= 14 * 60))


@settings(max_examples=30)
@given(
    n=st.integers(5, 400),
    seed=st.integers(0, 2**32 - 1),
    tick=st.sampled_from([0.0, 0.01, 0.05, 0.2]),
    length=st.integers(1, 6),
    flag=st.booleans(),
)
def test_small_tied_frames(n: int, seed: int, tick: float, length: int, flag: bool) -> None:
    """Short walks rounded to a coarse tick: ties, flat bars, back-to-back breaks, edges."""
    df = random_walk(n, seed)
    if tick:
        price = ["open", "high", "low", "close"]
        df[price] = (df[price] / tick).round() * tick
        df["volume"] = df["volume"].round()  # zero and equal volumes
    shl = ref.swing_highs_lows(df, length)
    assert_same(compat.swing_highs_lows(df, length), shl)
    assert_same(compat.fvg(df, flag), ref.fvg(df, flag))
    assert_same(compat.bos_choch(df, shl, flag), ref.bos_choch(df, shl, flag))
    assert_same(compat.ob(df, shl, flag), ref.ob(df, shl, flag))
    assert_same(compat.liquidity(df, shl, 0.05), ref.liquidity(df, shl, 0.05))
    assert_same(compat.retracements(df, shl), ref.retracements(df, shl))
    assert_same(compat.previous_high_low(df, "1h"), ref.previous_high_low(df, "1h"))


@pytest.mark.slow
def test_random_walk_100k_default_calls() -> None:
    """docs/smc.md §6: exact on the seed-42 walk at 100k bars, where the package's O(n^2)
    loops (fvg, bos_choch, ob, liquidity) meet many overlapping events (~30 s of package)."""
    df = random_walk(100_000)
    shl = ref.swing_highs_lows(df, 5)
    assert_same(compat.swing_highs_lows(df, 5), shl)
    assert_same(compat.fvg(df), ref.fvg(df))
    assert_same(compat.fvg(df, join_consecutive=True), ref.fvg(df, join_consecutive=True))
    assert_same(compat.bos_choch(df, shl), ref.bos_choch(df, shl))
    assert_same(compat.ob(df, shl), ref.ob(df, shl))
    assert_same(compat.liquidity(df, shl), ref.liquidity(df, shl))
