"""detect()'s frame assembly: the two-block frame equals a column-by-column build."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from strategies.smc import bars_from_frame, detect, make_params
from strategies.smc._frame import TILE, FrameLayout
from strategies.smc.pipeline import concept_nodes, detect_arrays
from tests.smc.helpers import BTC_5M, load_frame


def _naive_frame(outs: dict[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
    cols: dict[str, np.ndarray] = {}
    for node in concept_nodes():
        for j, col in enumerate(node.columns):
            x = outs[node.name][:, j]
            cols[col] = x.astype(np.int64) if col in node.int_columns else x.copy()
    return pd.DataFrame(cols, index=index)


def test_detect_frame_equals_a_column_by_column_build() -> None:
    df = load_frame(BTC_5M).iloc[: 3 * TILE + 17]  # tiles plus a ragged end
    p = make_params(swing_length=10)
    got = detect(df, swing_length=10)
    want = _naive_frame(detect_arrays(bars_from_frame(df), p, threads=1), df.index)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.index is df.index or got.index.equals(df.index)
    ints = {c for n in concept_nodes() for c in n.int_columns}
    assert {c for c in got.columns if got[c].dtype == np.int64} == ints
    assert {c for c in got.columns if got[c].dtype == np.float64} == set(got.columns) - ints


def test_the_frame_behaves_like_any_frame() -> None:
    df = load_frame(BTC_5M).iloc[:800]
    got = detect(df)
    row = got.iloc[500]
    assert row["swing_high_ref"] == got["swing_high_ref"].iloc[500]
    before = got["atr"].iloc[100]
    assert np.isfinite(before)
    sub = got[["atr", "swing_high_ref"]].copy()
    sub.iloc[100, 0] = -5.0  # a copy is independent of the frame
    assert got["atr"].iloc[100] == before
    view = got["atr"]
    view.iloc[100] = -7.0  # copy-on-write: writing through a column leaves the frame alone
    assert got["atr"].iloc[100] == before
    assert got.shape == (800, sum(len(n.columns) for n in concept_nodes()))


@dataclass(frozen=True)
class _N:
    name: str
    columns: tuple[str, ...]
    int_columns: frozenset[str]


def test_layout_rejects_duplicate_columns_and_wrong_shapes() -> None:
    with pytest.raises(ValueError, match="two nodes: x"):
        FrameLayout([_N("a", ("x", "y"), frozenset()), _N("b", ("x",), frozenset())])
    layout = FrameLayout([_N("a", ("x", "k"), frozenset({"k"}))])
    floats, ints = layout.alloc(4)
    with pytest.raises(ValueError, match="node 'a'"):
        layout.split("a", np.zeros((4, 3)), floats, ints)
    layout.split("a", np.array([[1.5, 2.0], [2.5, -1.0], [np.nan, 7.0], [0.0, 0.0]]), floats, ints)
    frame = layout.frame(floats, ints, pd.RangeIndex(4))
    assert list(frame.columns) == ["x", "k"]
    assert frame["k"].tolist() == [2, -1, 7, 0]
    assert frame["x"].iloc[:2].tolist() == [1.5, 2.5]


def test_column_selection_runs_only_the_needed_concepts_with_the_same_values() -> None:
    from strategies.smc.pipeline import select_nodes

    names = [n.name for n in select_nodes(["fvg_top"])]
    assert names == ["atr", "fvg"]
    ob = [n.name for n in select_nodes(["ob_internal_bull_new_top"])]
    # internal order blocks need internal structure, which filters against the swing scale
    assert ob == ["swings", "int_swings", "structure_swing", "structure_internal", "ob_internal"]
    assert [n.name for n in select_nodes()] == [n.name for n in concept_nodes()]

    df = load_frame(BTC_5M).iloc[:1500]
    full = detect(df)
    part = detect(df, columns=["fvg_top", "ob_internal_bull_new_top"], swing_length=50)
    assert set(part.columns) < set(full.columns)
    assert {"fvg_top", "ob_internal_bull_new_top", "atr"} <= set(part.columns)
    pd.testing.assert_frame_equal(part, full[part.columns], check_exact=True)
    arrays = detect_arrays(bars_from_frame(df), make_params(), columns=["atr"])
    assert list(arrays) == ["atr"]


def test_unknown_columns_are_named() -> None:
    df = load_frame(BTC_5M).iloc[:100]
    with pytest.raises(ValueError, match="unknown detect\\(\\) column\\(s\\): nope"):
        detect(df, columns=["atr", "nope"])
