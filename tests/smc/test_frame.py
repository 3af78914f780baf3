"""detect()'s frame: typed blocks, written once, wrapped by pandas without a copy; the values
are the numpy core's (``detect_arrays``) whatever the dtype."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from strategies.smc import bars_from_frame, detect, make_params
from strategies.smc._frame import BOOL, DTYPES, F64, I8, I16, I32, I64, FrameLayout, column_dtype
from strategies.smc._fused_batch import CHUNK
from strategies.smc.pipeline import concept_nodes, detect_arrays
from tests.smc.helpers import BTC_5M, load_frame


def _naive_frame(outs: dict[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
    """Column by column from the core's float64 arrays, each cast to its documented dtype."""
    cols: dict[str, np.ndarray] = {}
    for node in concept_nodes():
        for j, col in enumerate(node.columns):
            dt = DTYPES[column_dtype(col, col in node.int_columns, len(index))]
            cols[col] = outs[node.name][:, j].astype(dt)
    return pd.DataFrame(cols, index=index)


@pytest.mark.parametrize("threads", [1, 2])
def test_detect_frame_equals_a_column_by_column_build(threads: int) -> None:
    df = load_frame(BTC_5M).iloc[: 3 * CHUNK + 17]  # chunks plus a ragged end
    p = make_params(swing_length=10)
    got = detect(df, swing_length=10, threads=threads)
    outs = detect_arrays(bars_from_frame(df), p, threads=1)
    want = _naive_frame(outs, df.index)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.index is df.index or got.index.equals(df.index)
    for node in concept_nodes():  # by value: the cast changed no number
        np.testing.assert_array_equal(
            got[list(node.columns)].to_numpy(np.float64), outs[node.name], strict=True
        )


def test_frame_dtypes_are_the_documented_ones() -> None:
    got = detect(load_frame(BTC_5M).iloc[:300])
    ints = {c for n in concept_nodes() for c in n.int_columns}
    floats = set(got.columns) - ints
    assert {c for c in got.columns if got[c].dtype == np.float64} == floats
    assert {c for c in ints if c.endswith(("_ref", "_from", "_first", "_start", "_known"))} == {
        c for c in got.columns if got[c].dtype == np.int32
        and c not in ("liq_eqh", "liq_eql") and not c.endswith("_near_count")
    }  # fmt: skip
    for col, dt in [("swing_high", np.bool_), ("structure_swing_bull_kind", np.int8),
                    ("structure_swing_trend", np.int8), ("fvg_dir", np.int8),
                    ("session_london_active", np.bool_), ("ob_swing_active", np.int16),
                    ("fvg_touched", np.int16), ("liq_eqh", np.int32), ("zone_in_ote", np.bool_),
                    ("swing_high_ref", np.int32), ("prev_d_start", np.int32)]:  # fmt: skip
        assert got[col].dtype == dt, col
    assert got.memory_usage(index=False).sum() < 0.65 * 8 * got.size  # 61 % of all-8-byte


def test_frame_wraps_the_blocks_without_a_copy() -> None:
    nodes = concept_nodes()
    df = load_frame(BTC_5M).iloc[:700]
    outs = detect_arrays(bars_from_frame(df), make_params(), threads=1)
    layout = FrameLayout(nodes, len(df))
    blocks = layout.alloc(len(df))
    for node in nodes:
        layout.split(node.name, outs[node.name], blocks)
    frame = layout.frame(blocks, df.index)
    for node in nodes:
        for col, (_, code, row) in zip(node.columns, layout.plans[node.name], strict=True):
            arr = frame[col].to_numpy()
            assert arr.dtype == DTYPES[code]
            assert np.shares_memory(arr, blocks[code][row]), col
    # detect()'s own frame: one block per dtype used, every column a view of its block
    got = detect(df)
    blks = got._mgr.blocks
    assert sorted(str(b.values.dtype) for b in blks) == sorted(
        {str(np.dtype(d)) for d in got.dtypes}
    )
    for col in got.columns:
        owner = [b for b in blks if b.values.dtype == got[col].dtype]
        assert np.shares_memory(got[col].to_numpy(), owner[0].values), col


def test_a_value_the_dtype_cannot_hold_raises() -> None:
    cols = ("lvl", "swing_high", "x_kind", "x_ref", "fvg_touched")
    layout = FrameLayout([_N("a", cols, frozenset(cols[1:]))], 10)
    good = np.array([[1.5, 1.0, -1.0, 7.0, 3.0], [np.nan, 0.0, 2.0, -1.0, 0.0]])
    blocks = layout.alloc(2)
    layout.split("a", good, blocks)
    frame = layout.frame(blocks, pd.RangeIndex(2))
    assert [frame[c].dtype for c in cols] == [np.float64, np.bool_, np.int8, np.int32, np.int16]
    assert frame["x_kind"].tolist() == [-1, 2] and frame["swing_high"].tolist() == [True, False]
    for j, bad, what in [(1, 2.0, "swing_high"), (2, 0.5, "x_kind"), (2, 300.0, "x_kind"),
                         (3, np.nan, "x_ref"), (4, 40000.0, "fvg_touched")]:  # fmt: skip
        arr = good.copy()
        arr[1, j] = bad
        with pytest.raises(RuntimeError, match=f"'{what}'"):
            layout.split("a", arr, layout.alloc(2))


def test_dtype_rules() -> None:
    assert column_dtype("atr", False, 10) == F64
    assert column_dtype("swing_high_ref", True, 2**31 - 1) == I32
    assert column_dtype("swing_high_ref", True, 2**31) == I64  # wide enough for the data
    assert column_dtype("ob_internal_active", True, 10) == I16  # a table count
    assert column_dtype("session_asia_active", True, 10) == BOOL
    assert column_dtype("liq_bsl_near_count", True, 10) == I32
    assert column_dtype("structure_internal_bear_kind", True, 10) == I8
    with pytest.raises(RuntimeError, match="'new_thing'"):
        column_dtype("new_thing", True, 10)
    every = {c: column_dtype(c, c in n.int_columns, 10) for n in concept_nodes() for c in n.columns}
    assert len(every) == 299


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
        FrameLayout([_N("a", ("x", "y"), frozenset()), _N("b", ("x",), frozenset())], 4)
    layout = FrameLayout([_N("a", ("x", "k_ref"), frozenset({"k_ref"}))], 4)
    blocks = layout.alloc(4)
    with pytest.raises(ValueError, match="node 'a'"):
        layout.split("a", np.zeros((4, 3)), blocks)
    layout.split("a", np.array([[1.5, 2.0], [2.5, -1.0], [np.nan, 7.0], [0.0, 0.0]]), blocks)
    frame = layout.frame(blocks, pd.RangeIndex(4))
    assert list(frame.columns) == ["x", "k_ref"]
    assert frame["k_ref"].tolist() == [2, -1, 7, 0]
    assert frame["x"].iloc[:2].tolist() == [1.5, 2.5]


def test_cached_layout_is_shared_per_node_set_and_reference_width() -> None:
    from strategies.smc._frame import INT32_MAX_BARS

    nodes = [_N("a", ("x", "k_ref"), frozenset({"k_ref"}))]
    small = FrameLayout.cached(nodes, 4)
    assert FrameLayout.cached(nodes, 1_000) is small  # same node set, same reference width
    wide = FrameLayout.cached(nodes, INT32_MAX_BARS + 1)
    assert wide is not small
    assert (small.dtypes()["k_ref"], wide.dtypes()["k_ref"]) == (np.int32, np.int64)
    other = FrameLayout.cached([_N("a", ("x", "k_ref"), frozenset())], 4)  # k_ref as a float
    assert other is not small and other.dtypes()["k_ref"] == np.float64


def test_frames_of_a_shared_layout_do_not_share_their_columns_object() -> None:
    df = load_frame(BTC_5M).iloc[:300]
    first = detect(df, threads=1)
    first.columns.name = "renamed in place"
    second = detect(df, threads=1)
    assert second.columns.name is None
    assert list(second.columns) == list(first.columns)


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
