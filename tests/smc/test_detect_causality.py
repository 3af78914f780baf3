"""The causality contract of ``strategies.smc.detect`` for every concept (docs/smc.md §7).

1. prefix property: ``detect(df[:t+1]) == detect(df)[:t+1]`` exactly, every row, for every
   tested t, on fresh copies of each prefix under NUMBA_BOUNDSCHECK (``tests/causality.py``);
2. stream == batch on real files;
3. row invariants: every ``*_ref`` pointer is -1 or ≤ its row;
4. negative controls: the same checks flag a one-bar look-ahead planted in the graph (a swing
   kernel that reads bar i + 1) and the reference package's look-ahead (compat).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.smc import (
    SMCStream,
    _fused_batch,
    bars_from_frame,
    detect,
    detect_arrays,
    make_params,
    swings,
)
from tests.causality import prefix_failure
from tests.conftest import SMC_REFERENCE
from tests.smc.helpers import BTC_5M, ETH_15M, load_frame
from tests.smc.lookahead import peeking_detect_runner, peeking_swings

PARAM_SETS = [
    {},
    {"swing_length": 10, "internal_length": 3},
    {"swing_length": 3, "internal_length": 1},
]


def eurusd() -> pd.DataFrame:
    df = pd.read_csv(SMC_REFERENCE / "EURUSD_15M.csv")
    df.index = pd.DatetimeIndex(pd.to_datetime(df["Date"], format="%Y.%m.%d %H:%M:%S"), name="time")
    df = df.rename(columns=str.lower)
    return df[["open", "high", "low", "close", "volume"]].astype("float64")


def first_divergence(df: pd.DataFrame, cuts: list[int], **params: object) -> str | None:
    """The first cut at which ``detect`` on a copy of the prefix disagrees with the full frame
    (every row and column compared), or None."""
    return prefix_failure(lambda d: detect(d, **params), df, cuts)


def every_cut_failure(source: str, params: dict) -> str | None:
    """The prefix check of the numpy core (every node's output array) at every cut; 1,200 bars
    with the defaults, 500 with the other parameter sets (keeps CI quick)."""
    n = 1200 if not params else 500
    df = (eurusd() if source == "eurusd" else load_frame(BTC_5M)).iloc[:n]
    p = make_params(**params)
    return prefix_failure(lambda b: detect_arrays(b, p), bars_from_frame(df), range(n))


@pytest.mark.causality
@pytest.mark.parametrize("params", PARAM_SETS, ids=["defaults", "10-3", "3-1"])
@pytest.mark.parametrize("source", ["eurusd", "btc5m"])
def test_prefix_property_every_cut_on_first_1200_bars(source: str, params: dict) -> None:
    """Every t, on the numpy core (the pandas wrapper is checked on sampled cuts below)."""
    found = every_cut_failure(source, params)
    assert found is None, found


@pytest.mark.causality
@pytest.mark.parametrize("guarded", [False, True], ids=["reads-past-the-end", "guarded"])
def test_negative_control_a_look_ahead_node_fails_the_same_checks(
    guarded: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pipeline layer: a swing kernel that reads bar i + 1, planted in the graph (both swing
    instances and everything built on them), makes the numpy-core and the frame check fail."""
    monkeypatch.setattr(swings, "run", peeking_swings(guarded))
    found = every_cut_failure("btc5m", PARAM_SETS[1])
    assert found is not None
    assert ("out-of-bounds" in found) is not guarded, found
    # detect() runs the fused graph chunk by chunk (not ``swings.run``): plant it there too
    monkeypatch.setattr(_fused_batch, "run_chunks", peeking_detect_runner(guarded))
    frame_found = first_divergence(
        load_frame(BTC_5M).iloc[:500], list(range(0, 500, 7)), **PARAM_SETS[1]
    )
    assert frame_found is not None


@pytest.mark.causality
def test_prefix_property_of_the_frame_on_sampled_cuts() -> None:
    df = eurusd().iloc[:3000]
    found = first_divergence(df, list(range(0, 3000, 37)) + [2999])
    assert found is None, found


@pytest.mark.causality
@settings(max_examples=25)
@given(cut=st.integers(0, 16_000), params=st.sampled_from(PARAM_SETS))
def test_prefix_property_random_cuts_on_long_file(cut: int, params: dict) -> None:
    df = load_frame(ETH_15M)
    cut = min(cut, len(df) - 1)
    found = first_divergence(df, [cut], **params)
    assert found is None, found


@pytest.mark.causality
def test_prefix_property_around_event_bars() -> None:
    """Cut exactly at, before and after bars where events fire (where look-ahead hides)."""
    df = load_frame(BTC_5M).iloc[:6000]
    full = detect(df)
    event_cols = [c for c in full.columns if full[c].dtype != np.float64 and not c.endswith("_ref")]
    assert len(event_cols) > 100  # every integer / flag column but the references
    rows = np.flatnonzero((full[event_cols] != 0).any(axis=1).to_numpy())
    rng = np.random.default_rng(7)
    picked = rng.choice(rows, size=min(60, len(rows)), replace=False)
    cuts = sorted({int(t + d) for t in picked for d in (-1, 0, 1) if 0 <= t + d < len(df)})
    found = first_divergence(df, cuts)
    assert found is None, found


@pytest.mark.parametrize("path", [BTC_5M, ETH_15M], ids=["btc5m", "eth15m"])
def test_stream_equals_batch_on_real_files(path) -> None:
    df = load_frame(path)
    batch = detect(df)
    stream = SMCStream()
    bars = df.to_numpy()
    times = df.index.as_unit("ms").asi8
    for k in range(len(df)):
        o, h, lo, c, v = bars[k]
        stream.update_arrays(float(times[k]), o, h, lo, c, v)
    pd.testing.assert_frame_equal(stream.frame(), batch, check_exact=True, check_freq=False)


def test_stream_equals_batch_on_golden_input() -> None:
    df = eurusd()
    batch = detect(df, swing_length=10, internal_length=3)
    stream = SMCStream(swing_length=10, internal_length=3)
    bars, times = df.to_numpy(), df.index.as_unit("ms").asi8
    for k in range(len(df)):
        stream.update_arrays(float(times[k]), *bars[k])
    frame = stream.frame()
    batch.index = frame.index
    pd.testing.assert_frame_equal(frame, batch, check_exact=True)


def test_stream_series_form_matches_batch_rows() -> None:
    df = eurusd().iloc[:400]
    batch = detect(df, swing_length=10, internal_length=3)
    stream = SMCStream(swing_length=10, internal_length=3)
    for k, (t, row) in enumerate(df.iterrows()):
        got = stream.update(t, row.open, row.high, row.low, row.close, row.volume)
        assert list(got.index) == list(batch.columns)
        np.testing.assert_array_equal(
            got.to_numpy(dtype=np.float64), batch.iloc[k].to_numpy(dtype=np.float64)
        )


def test_ref_pointers_never_point_forward() -> None:
    full = detect(load_frame(BTC_5M))
    rows = np.arange(len(full))
    for col in (c for c in full.columns if c.endswith("_ref")):
        vals = full[col].to_numpy()
        assert ((vals == -1) | ((vals >= 0) & (vals <= rows))).all(), col


def test_default_parameters_are_validated_once_and_cannot_be_changed() -> None:
    from pydantic import ValidationError

    from strategies.smc.pipeline import make_params

    shared = make_params()
    assert make_params() is shared  # detect() without parameters reuses them
    with pytest.raises(ValidationError):
        shared.swing_length = 3  # type: ignore[misc]  # frozen: no caller can alter the shared
    assert make_params().swing_length == shared.swing_length != 3
    assert make_params(swing_length=7).swing_length == 7


def test_bad_input_is_named() -> None:
    df = load_frame(BTC_5M).iloc[:50].copy()
    with pytest.raises(ValueError, match="unknown SMC parameter"):
        detect(df, swing_lenght=5)
    with pytest.raises(ValueError, match="swing_length"):
        detect(df, swing_length=0)
    with pytest.raises(ValueError, match="missing column"):
        detect(df.drop(columns="close"))
    bad = df.copy()
    bad.iloc[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        detect(bad)
    with pytest.raises(ValueError, match="increasing"):
        detect(df.iloc[::-1])
    stream = SMCStream()
    stream.update(df.index[1], 1, 2, 0.5, 1.5)
    with pytest.raises(ValueError, match="later"):
        stream.update(df.index[0], 1, 2, 0.5, 1.5)


def _compat_divergences(fn, df: pd.DataFrame, cuts: list[int]) -> int:
    """How many cut points the harness flags for a compat (reference-package) function."""
    full = fn(df).reset_index(drop=True)
    bad = 0
    for t in cuts:
        part = fn(df.iloc[: t + 1]).reset_index(drop=True)
        if not part.equals(full.iloc[: t + 1]):
            bad += 1
    return bad


def test_negative_control_harness_flags_reference_look_ahead() -> None:
    """The same prefix check must catch the package's look-ahead (docs/smc.md §4), so a
    passing native run means something."""
    from strategies.smc import compat

    df = eurusd().iloc[:1200]
    cuts = list(range(60, 1200, 7))
    swings_lookahead = _compat_divergences(lambda d: compat.swing_highs_lows(d, 5), df, cuts)
    fvg_lookahead = _compat_divergences(compat.fvg, df, cuts)
    bos_lookahead = _compat_divergences(
        lambda d: compat.bos_choch(d, compat.swing_highs_lows(d, 5)), df, cuts
    )
    assert swings_lookahead > len(cuts) // 2  # last bar forced to be a swing: nearly every cut
    assert fvg_lookahead > 0 and bos_lookahead > 0
    # sessions are causal in the package too: the harness must not cry wolf
    assert _compat_divergences(lambda d: compat.sessions(d, "London"), df, cuts) == 0
