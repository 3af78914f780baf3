"""Contract of strategies.smc.compat beyond equality: API shape, bad input, kept look-ahead.

These run without the reference package installed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies.smc import compat
from strategies.smc.compat import smc

FUNCTIONS = [
    "fvg",
    "swing_highs_lows",
    "bos_choch",
    "ob",
    "liquidity",
    "previous_high_low",
    "sessions",
    "retracements",
]


def walk(n: int = 2_000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.002, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    spread = np.abs(rng.normal(0.0, 0.001, (2, n)))
    return pd.DataFrame(
        {
            "Open": open_,
            "High": np.maximum(open_, close) * (1 + spread[0]),
            "Low": np.minimum(open_, close) * (1 - spread[1]),
            "Close": close,
            "Volume": rng.lognormal(0.0, 1.0, n),
        },
        index=pd.date_range("2024-03-01", periods=n, freq="15min"),
    )


def test_namespace_mirrors_the_package_api() -> None:
    assert smc.__version__ == "0.0.27"
    for name in FUNCTIONS:
        assert getattr(smc, name) is getattr(compat, name)
    assert "look-ahead" in (compat.__doc__ or "").lower()
    assert "never drive trading" in (compat.__doc__ or "").lower()


def test_outputs_are_row_aligned_and_leave_input_untouched() -> None:
    df = walk()
    before = df.copy()
    shl = smc.swing_highs_lows(df, 5)
    outs = [
        smc.fvg(df),
        shl,
        smc.bos_choch(df, shl),
        smc.ob(df, shl),
        smc.liquidity(df, shl),
        smc.previous_high_low(df, "4h"),
        smc.sessions(df, "London", time_zone="UTC+2"),
        smc.retracements(df, shl),
    ]
    for out in outs:
        assert isinstance(out.index, pd.RangeIndex) and len(out) == len(df)
    pd.testing.assert_frame_equal(df, before)  # mixed-case columns accepted, not mutated


def test_missing_column_is_named() -> None:
    with pytest.raises(LookupError, match='"close"'):
        smc.fvg(walk().drop(columns="Close"))
    df = walk()
    with pytest.raises(LookupError, match='"volume"'):
        smc.ob(df.drop(columns="Volume"), smc.swing_highs_lows(df, 5))


def test_nan_prices_are_rejected_with_row() -> None:
    df = walk()
    df.iloc[17, df.columns.get_loc("Low")] = np.nan
    with pytest.raises(ValueError, match="'low'.*row 17"):
        smc.swing_highs_lows(df, 5)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_swing_length(bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match="swing_length"):
        smc.swing_highs_lows(walk(), bad)  # type: ignore[arg-type]


def test_swings_of_another_length_are_rejected() -> None:
    df = walk()
    with pytest.raises(ValueError, match="rows"):
        smc.bos_choch(df, smc.swing_highs_lows(df.iloc[:-1], 5))
    with pytest.raises(LookupError, match="HighLow"):
        smc.ob(df, pd.DataFrame({"x": np.zeros(len(df))}))


def test_bad_sessions() -> None:
    with pytest.raises(ValueError, match="Custom session requires"):
        smc.sessions(walk(), "Custom", start_time="10:00")
    with pytest.raises(ValueError, match="unknown session"):
        smc.sessions(walk(), "Frankfurt")


def test_empty_frame_is_rejected() -> None:
    with pytest.raises(ValueError, match="empty"):
        smc.fvg(walk().iloc[:0])


def test_look_ahead_is_kept_on_purpose() -> None:
    """Negative control for causality checks: the newest swing row changes with every bar,
    and an FVG sits on the bar before the one that confirms it (docs/smc.md §3.1, §3.2)."""
    df = walk(600)
    full = smc.swing_highs_lows(df, 5)
    prefix = smc.swing_highs_lows(df.iloc[:400], 5)
    assert not np.isnan(prefix["HighLow"].iloc[-1])  # forced swing on the last bar ...
    assert not prefix.equals(full.iloc[:400])  # ... so the prefix property fails
    gaps = smc.fvg(df)
    i = int(np.flatnonzero(gaps["FVG"].to_numpy() == 1)[0])
    assert np.isnan(smc.fvg(df.iloc[: i + 1])["FVG"].iloc[i])  # unknown until bar i+1 exists


def test_compat_stands_alone() -> None:
    """compat imports only numpy/numba/pandas/stdlib and its own _compat* modules."""
    import ast
    from pathlib import Path

    package_dir = Path(compat.__file__).parent
    files = [package_dir / "compat.py", *sorted(package_dir.glob("_compat*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                root = name.split(".")[0]
                assert root in {"__future__", "datetime", "numpy", "numba", "pandas", "strategies"}
                if root == "strategies":
                    assert name.startswith("strategies.smc._compat"), (path.name, name)
