"""The fused streaming step (``strategies.smc.fused``) behind ``SMCStream``.

Stream == batch exactly (all columns, NaN = NaN) for several parameter sets, across DST
changes and "split" hours of non-UTC zones, across row-buffer growth and long time gaps;
bad bars are rejected with a clear message and leave the stream's state intact.
"""

from __future__ import annotations

import inspect
import sys
import types

import numpy as np
import pandas as pd
import pytest
from numba import njit

from strategies.smc import SMCStream, _fused_batch, bars_from_frame, detect, fused, make_params
from strategies.smc import _fused_clock as clock
from strategies.smc._fused_views import view
from strategies.smc.periods import local_ms
from strategies.smc.pipeline import concept_nodes as _nodes
from tests.smc.helpers import BTC_5M, assert_stream_equals_batch, load_frame, stream_frame

MIN_MS = 60_000


def retimed(df: pd.DataFrame, start: str, step_ms: int) -> pd.DataFrame:
    """Same prices on a new regular clock (to place bars across chosen zone transitions)."""
    t0 = pd.Timestamp(start, tz="UTC").value // 1_000_000
    ms = t0 + step_ms * np.arange(len(df), dtype=np.int64)
    out = df.copy()
    out.index = pd.DatetimeIndex(pd.to_datetime(ms, unit="ms", utc=True), name="time")
    return out


PARAM_SETS = {
    "defaults": {},
    "small-wick-unfiltered": {
        "swing_length": 10,
        "internal_length": 3,
        "structure_wick_break": True,
        "structure_filter_internal": False,
    },
    "concept-options": {
        "swing_length": 20,
        "internal_length": 2,
        "atr_period": 7,
        "ob_use_body": True,
        "ob_close_invalidation": False,
        "ob_atr_mult": 1.5,
        "ob_max_active": 4,
        "fvg_middle_dir": True,
        "fvg_min_atr": 0.2,
        "fvg_merge": False,
        "fvg_max_active": 8,
        "liq_tol_atr": 0.3,
        "liq_reclaim_bars": 3,
        "liq_max_swings": 4,
        "liq_max_pools": 3,
        "retracement_use_close": True,
        "zone_equilibrium_band": 0.1,
    },
    "zones-custom-session": {
        "periods_zone": "America/New_York",
        "session_custom_zone": "Asia/Kolkata",
        "session_custom_start": "22:30",
        "session_custom_end": "03:15",
    },
}


@pytest.mark.parametrize("params", PARAM_SETS.values(), ids=PARAM_SETS.keys())
def test_stream_equals_batch_on_btc_for_parameter_sets(params: dict) -> None:
    """8,000 bars of BTC 5m from 2025-03-14: spans the London DST change (2025-03-30)."""
    assert_stream_equals_batch(load_frame(BTC_5M).iloc[:8000], **params)


@pytest.mark.parametrize(
    ("start", "zone", "session"),
    [
        ("2025-03-06 00:00", "America/St_Johns", ("02:45", "04:00")),
        ("2025-10-30 00:00", "America/St_Johns", ("01:00", "01:45")),
        ("2025-10-02 00:00", "Australia/Lord_Howe", ("02:15", "05:00")),
    ],
    ids=["st-johns-dst-start", "st-johns-dst-end", "lord-howe-dst-start"],
)
def test_stream_equals_batch_across_dst_and_split_hours(
    start: str, zone: str, session: tuple[str, str]
) -> None:
    """St John's (UTC-3:30/-2:30) and Lord Howe (+10:30/+11) change offset in the middle of a
    UTC hour; those hours take the per-bar path of the batch rule. The custom session edge sits
    where the hour-start offset would put a bar on the wrong side. The New York presets cross
    the US DST change in the first two cases."""
    df = retimed(load_frame(BTC_5M).iloc[:3000], start, 5 * MIN_MS)
    assert_stream_equals_batch(
        df,
        periods_zone=zone,
        session_custom_zone=zone,
        session_custom_start=session[0],
        session_custom_end=session[1],
    )


def test_stream_equals_batch_across_buffer_growth_and_time_gaps() -> None:
    """Bars 1023..1025 and 2047..2049 cross the capacity doublings (1024 → 2048 → 4096); gaps
    of 100 days and 3 years leave the local-time tables behind (refill from the new hour)."""
    df = load_frame(BTC_5M).iloc[:4500].copy()
    ms = df.index.as_unit("ms").asi8.copy()
    ms[1500:] += 100 * 86_400_000
    ms[3000:] += 3 * 365 * 86_400_000
    df.index = pd.DatetimeIndex(pd.to_datetime(ms, unit="ms", utc=True), name="time")
    params = {"periods_zone": "Europe/Berlin", "session_custom_zone": "America/St_Johns",
              "session_custom_start": "09:30", "session_custom_end": "16:00"}  # fmt: skip
    full = detect(df, **params)
    for n in (1023, 1024, 1025, 2048, 2049, 4500):
        part = df.iloc[:n]
        got = stream_frame(part, **params)
        want = full.iloc[:n].copy()
        want.index = got.index
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_series_rows_match_batch_across_growth() -> None:
    df = load_frame(BTC_5M).iloc[:1100]
    batch = detect(df, swing_length=10, internal_length=3)
    s = SMCStream(swing_length=10, internal_length=3)
    for k, (t, row) in enumerate(df.iterrows()):
        got = s.update(t, row.open, row.high, row.low, row.close, row.volume)
        if k >= 1000:
            assert list(got.index) == list(batch.columns)
            np.testing.assert_array_equal(
                got.to_numpy(dtype=np.float64), batch.iloc[k].to_numpy(dtype=np.float64)
            )
    np.testing.assert_array_equal(
        np.concatenate(s.row(-1)), batch.iloc[-1].to_numpy(dtype=np.float64)
    )
    with pytest.raises(IndexError):
        s.row(1100)


def test_rejected_bars_leave_the_state_intact() -> None:
    df = load_frame(BTC_5M).iloc[:600]
    times = df.index.as_unit("ms").asi8.astype(np.float64)
    arr = df.to_numpy()
    s = SMCStream(periods_zone="America/New_York")
    for k in range(len(df)):
        if k == 300:
            with pytest.raises(ValueError, match="later than the previous"):
                s.update_arrays(times[k - 1], *arr[k])
            with pytest.raises(ValueError, match="NaN or infinite prices"):
                s.update_arrays(times[k], arr[k, 0], np.nan, arr[k, 2], arr[k, 3])
            with pytest.raises(ValueError, match="NaN or infinite prices"):
                s.update_arrays(times[k], arr[k, 0], arr[k, 1], arr[k, 2], np.inf)
            with pytest.raises(ValueError, match="not a finite epoch-ms"):
                s.update_arrays(np.inf, *arr[k])
            assert s.n == 300
        s.update_arrays(times[k], *arr[k])
    want = detect(df, periods_zone="America/New_York")
    got = s.frame()
    want.index = got.index
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_first_bar_with_nan_time_is_rejected() -> None:
    s = SMCStream()
    with pytest.raises(ValueError, match="not a finite epoch-ms"):
        s.update_arrays(np.nan, 1.0, 2.0, 0.5, 1.5)
    assert s.n == 0


def test_columns_and_graph_order_match_detect() -> None:
    df = load_frame(BTC_5M).iloc[:5]
    assert SMCStream().columns == list(detect(df).columns)
    assert tuple(node.name for node in _nodes()) == fused.NODE_NAMES
    assert tuple(len(node.columns) for node in _nodes()) == fused.NODE_NCOLS


@pytest.mark.parametrize(
    "zone", ["UTC", "America/New_York", "America/St_Johns", "Australia/Lord_Howe", "Asia/Kolkata"]
)
def test_clock_lookup_equals_batch_local_time(zone: str) -> None:
    """Every 7 minutes over 2024-2025 plus a few odd instants: the njit lookup (with Python
    refreshes on a miss) gives exactly ``periods.local_ms``."""
    t = np.arange(
        pd.Timestamp("2024-01-01", tz="UTC").value // 1_000_000,
        pd.Timestamp("2026-01-01", tz="UTC").value // 1_000_000,
        7 * MIN_MS,
        dtype=np.int64,
    ).astype(np.float64)
    t = np.concatenate([[-86_400_000.0 * 400], t, t[-1:] + 1.0, t[-1:] + 10 * 365 * 86_400_000])
    bars = np.zeros((len(t), 6))
    bars[:, 5] = t
    want = local_ms(bars, zone)
    pieces = clock.init_pieces(1)
    got = np.empty_like(t)
    refreshes = 0
    for k, tk in enumerate(t):
        lt = clock.local_time(tk, 0, *pieces)
        if np.isnan(lt):
            clock.refresh(tk, (zone,), *pieces)
            refreshes += 1
            lt = clock.local_time(tk, 0, *pieces)
        got[k] = lt
    np.testing.assert_array_equal(got, want)
    assert refreshes < len(t) // 100  # lookups, not conversions, on almost every bar


def test_layout_grow_keeps_rows_and_bad_capacity_is_named() -> None:
    p = make_params()
    lay = fused.Layout(p, capacity=2)
    bars = bars_from_frame(load_frame(BTC_5M).iloc[:5])
    for i in range(5):
        if i == lay.cap:
            lay.grow(i)
        code = fused.fused_step(i, bars[i, 5], *bars[i, :5], lay.outs, lay.st)
        if code == fused.NEED_CLOCK:
            lay.refresh_clock(bars[i, 5])
            code = fused.fused_step(i, bars[i, 5], *bars[i, :5], lay.outs, lay.st)
        assert code == fused.OK
    assert lay.cap == 8
    np.testing.assert_array_equal(lay.bars[:5], bars)
    assert fused.fused_step(8, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, lay.outs, lay.st) == (
        fused.ERR_CAPACITY
    )
    with pytest.raises(ValueError, match="capacity"):
        fused.Layout(p, capacity=0)


def test_cache_key_covers_every_linked_concept_module() -> None:
    """numba invalidates a cached function only when its own file changes; the fused step
    carries a digest of every module it links in (a closure value, part of numba's key)."""
    py_func = fused.fused_step.py_func
    assert [c.cell_contents for c in py_func.__closure__] == [fused.SOURCES_DIGEST]
    # detect()'s batch runner links the same graph (and the frame's emit): same key
    batch = _fused_batch.run_chunks.py_func
    assert [c.cell_contents for c in batch.__closure__] == [fused.SOURCES_DIGEST]
    referenced: set[types.ModuleType] = set()
    funcs = [py_func, fused._graph_rows.py_func, batch]  # the graph body is a shared njit function
    for func in funcs:
        for name in func.__code__.co_names:
            obj = func.__globals__.get(name)
            if isinstance(obj, types.ModuleType) and obj.__name__.startswith("strategies."):
                referenced.add(obj)
    referenced.add(inspect.getmodule(_fused_batch.emit_column))  # type: ignore[arg-type]
    assert len(referenced) >= 12  # the ten concept modules, the clock and the frame
    assert referenced - {fused} <= set(fused.DEPENDENCIES)


@njit
def _views_of(arena: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    v1 = view(arena, 2, (3,))
    v2 = view(arena, 5, (2, 3))
    v3 = view(arena, 11, (2, 2, 2))
    v3[1, 1, 1] = -1.0  # writes through to the arena
    return v1.copy(), v2.copy(), v3.copy()


def test_borrowed_views_match_numpy_reshape() -> None:
    arena = np.arange(20, dtype=np.float64)
    v1, v2, v3 = _views_of(arena)
    np.testing.assert_array_equal(v1, np.arange(2.0, 5.0))
    np.testing.assert_array_equal(v2, np.arange(5.0, 11.0).reshape(2, 3))
    assert arena[18] == -1.0
    np.testing.assert_array_equal(v3, arena[11:19].reshape(2, 2, 2))


def test_int_bar_values_are_converted_and_other_types_named() -> None:
    df = load_frame(BTC_5M).iloc[:50]
    ms = df.index.as_unit("ms").asi8
    s = SMCStream()
    for k, row in enumerate(df.itertuples(index=False)):
        if k % 2:  # ints, as an exchange feed may deliver them
            s.update_arrays(int(ms[k]), *(int(round(x)) for x in row))
        else:
            s.update_arrays(float(ms[k]), *row)
    fed = df.copy()
    fed.iloc[1::2] = df.iloc[1::2].round()
    want = detect(fed)
    got = s.frame()
    want.index = got.index
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    with pytest.raises(TypeError, match="real numbers, got str"):
        s.update_arrays("2025-01-01", 1.0, 2.0, 0.5, 1.5)
    assert s.n == 50


def _smc_modules_used_by(mods: tuple[types.ModuleType, ...]) -> set[str]:
    """``strategies.smc`` submodules whose objects (modules, njit functions, classes) the given
    modules hold at run time — found without reading source, unlike ``fused._linked``."""
    used = set()
    for mod in mods:
        for value in vars(mod).values():
            owner = value if isinstance(value, types.ModuleType) else None
            if owner is None:
                name = getattr(getattr(value, "py_func", value), "__module__", None)
                owner = sys.modules.get(name) if isinstance(name, str) else None
            if owner is not None and owner.__name__.startswith("strategies.smc."):
                used.add(owner.__name__)
    return used


def test_cache_key_covers_the_helper_modules_the_concepts_import() -> None:
    """An njit helper imported from another module is compiled into the fused kernel too, so its
    file must change the digest; the hand-kept list once missed ``_ob_table`` (the control: the
    graph's own modules alone do miss it)."""
    deps = {m.__name__ for m in fused.DEPENDENCIES}
    assert _smc_modules_used_by(fused.DEPENDENCIES) <= deps
    roots = tuple(m for m in fused.DEPENDENCIES if not m.__name__.endswith("_table"))
    assert "strategies.smc._ob_table" in _smc_modules_used_by(roots) - {m.__name__ for m in roots}
    assert {"strategies.smc._ob_table", "strategies.smc._fvg_table"} <= deps
