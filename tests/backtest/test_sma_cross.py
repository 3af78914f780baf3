"""sma_cross: the crossing rule, causality (prefix == batch), grid == single, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from strategies import sma_cross


def test_enters_on_cross_above_and_exits_on_cross_below() -> None:
    close = np.array([5, 4, 3, 2, 1, 2, 3, 4, 5, 4, 3, 2, 1], dtype=float)
    s = sma_cross.generate(close, sma_cross.Params(fast=1, slow=3))
    # fast = close; slow(3) at t: mean of the last 3. Cross above at t=5 (2 > 5/3 after
    # 1 < 2), below at t=9 (4 < 13/3 after 5 > 4)
    assert np.flatnonzero(s.entry).tolist() == [5]
    assert np.flatnonzero(s.exit_long).tolist() == [9]
    assert (s.entry >= 0).all()  # long-only


def test_cross_through_an_exact_tie_still_fires() -> None:
    # fast - slow goes -, 0, + : fast[t-1] <= slow[t-1] catches it (documented vs crossover())
    close = np.array([4, 3, 2, 1, 1.5, 5], dtype=float)  # close == SMA3 exactly at t=4
    s = sma_cross.generate(close, sma_cross.Params(fast=1, slow=3))
    d = close - pd.Series(close).rolling(3).mean().to_numpy()
    assert d[3] < 0 and d[4] == 0 and d[5] > 0
    assert np.flatnonzero(s.entry).tolist() == [5]


def test_sma_matches_pandas_rolling_mean() -> None:
    x = np.random.default_rng(0).lognormal(11, 0.1, 50_000)
    ref = pd.Series(x).rolling(37).mean().to_numpy()
    np.testing.assert_allclose(sma_cross.sma(x, 37), ref, rtol=1e-13, equal_nan=True)


@settings(max_examples=30)
@given(st.integers(0, 1000), st.integers(30, 300), st.data())
def test_prefix_of_the_data_gives_a_prefix_of_the_signals(seed: int, n: int, data) -> None:  # type: ignore[no-untyped-def]
    """Bar-by-bar (each prefix computed alone) equals the batch result."""
    close = 100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, n)))
    p = sma_cross.Params(fast=3, slow=11)
    full = sma_cross.generate(close, p)
    t = data.draw(st.integers(1, n))
    part = sma_cross.generate(close[:t], p)
    assert (part.entry == full.entry[:t]).all() and (part.exit_long == full.exit_long[:t]).all()


def test_grid_rows_equal_single_runs() -> None:
    close = 100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.01, 5_000)))
    fast, slow = [5, 10, 5], [20, 20, 40]
    e, x = sma_cross.generate_grid(close, fast, slow)
    for v, (f, s) in enumerate(zip(fast, slow, strict=True)):
        one = sma_cross.generate(close, sma_cross.Params(fast=f, slow=s))
        assert (e[v] == one.entry).all() and (x[v] == one.exit_long).all()
    dirty = (np.ones((4, close.size), np.int8), np.ones((4, close.size), np.bool_))
    e2, x2 = sma_cross.generate_grid(close, fast, slow, out=dirty)
    assert (e2 == e).all() and (x2 == x).all() and e2.base is dirty[0]
    with pytest.raises(ValueError, match="out buffers"):
        sma_cross.generate_grid(close, fast, slow, out=(dirty[0][:, :10], dirty[1][:, :10]))


def test_input_forms() -> None:
    close = np.linspace(100, 110, 50)
    df = pd.DataFrame({"close": close})

    class HasClose:
        def __init__(self) -> None:
            self.close = close

    a = sma_cross.generate(df).entry
    assert (a == sma_cross.generate(HasClose()).entry).all()
    assert (a == sma_cross.generate(close).entry).all()


@pytest.mark.parametrize(
    ("data", "exc", "needle"),
    [
        (pd.DataFrame({"open": [1.0]}), ValueError, "'close' column"),
        (object(), TypeError, "cannot read closes"),
        (np.array([]), ValueError, "non-empty"),
        (np.array([1.0, np.nan]), ValueError, "NaN/inf at bar 1"),
    ],
)
def test_bad_data(data: object, exc: type, needle: str) -> None:
    with pytest.raises(exc, match=needle):
        sma_cross.generate(data)


def test_params_validation_and_sweep_ranges() -> None:
    with pytest.raises(ValidationError, match="must be shorter"):
        sma_cross.Params(fast=50, slow=20)
    with pytest.raises(ValidationError):
        sma_cross.Params(fast=0)
    with pytest.raises(ValidationError):
        sma_cross.Params(window=3)  # type: ignore[call-arg]
    schema = sma_cross.Params.model_json_schema()["properties"]
    assert schema["fast"]["sweep"] == [5, 50, 5] and schema["slow"]["minimum"] == 2
    with pytest.raises(ValueError, match="same length"):
        sma_cross.generate_grid(np.ones(10), [1, 2], [3])
    with pytest.raises(ValidationError):
        sma_cross.generate_grid(np.ones(10), [5], [3])
