"""detect()'s frame cache: a dropped frame's pages serve the next frame, never a live one's."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from strategies.smc import detect, set_frame_cache
from strategies.smc._frame_pool import POOL, SMALL, FramePool
from tests.smc.helpers import BTC_5M, load_frame

ROWS = 4_000  # a frame above the pool's SMALL threshold


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return load_frame(BTC_5M).iloc[:ROWS]


@pytest.fixture(autouse=True)
def _cache_on() -> Iterator[None]:
    limit, decay = POOL.limit, POOL.decay_s
    set_frame_cache(0)  # start empty
    set_frame_cache(256 << 20, decay_s=600.0)  # nothing decays during a test unless asked
    yield
    set_frame_cache(limit, decay)


def _blocks(frame: pd.DataFrame) -> list[np.ndarray]:
    return [b.values for b in frame._mgr.blocks]


def _shares(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return any(np.shares_memory(x, y) for x in _blocks(a) for y in _blocks(b))


def test_the_frame_is_large_enough_to_use_the_pool(df: pd.DataFrame) -> None:
    got = detect(df)
    assert got.memory_usage(index=False).sum() >= SMALL


def test_a_dropped_frame_is_reused_with_the_same_values(df: pd.DataFrame) -> None:
    set_frame_cache(0)
    want = detect(df)  # fresh pages, cache off
    set_frame_cache(256 << 20)
    first = detect(df)
    for block in _blocks(first):  # dirty every byte: the next frame must write them all
        block[...] = 1 if block.dtype == np.bool_ else 99
    del first, block
    assert POOL.cached_bytes() > 0
    hits = POOL.hits
    again = detect(df)
    assert POOL.hits == hits + 1
    assert POOL.cached_bytes() == 0  # the arena is in use again
    pd.testing.assert_frame_equal(again, want, check_exact=True)


def test_a_live_frame_or_column_is_never_handed_out(df: pd.DataFrame) -> None:
    a = detect(df)
    b = detect(df)  # a still alive: fresh pages
    assert not _shares(a, b)
    col = a["swing_high_level"].to_numpy()
    keep = col.copy()
    del a  # the column view still reads the arena
    assert POOL.cached_bytes() == 0
    c = detect(df.iloc[::-1].set_index(df.index))  # other values into whatever it gets
    assert not any(np.shares_memory(col, x) for x in _blocks(c))
    np.testing.assert_array_equal(col, keep)
    del col
    assert POOL.cached_bytes() > 0  # now the arena is free
    del b, c


def test_limit_bounds_the_cache_and_zero_turns_it_off(df: pd.DataFrame) -> None:
    frames = [detect(df) for _ in range(3)]
    size = frames[0].memory_usage(index=False).sum()
    set_frame_cache(int(size * 1.5))  # room for one arena
    del frames
    assert size <= POOL.cached_bytes() <= size * 1.5
    set_frame_cache(0)
    assert POOL.cached_bytes() == 0
    misses = POOL.misses
    detect(df)
    assert POOL.misses == misses + 1 and POOL.cached_bytes() == 0


def test_a_free_arena_much_larger_than_asked_is_left_for_a_larger_frame() -> None:
    pool = FramePool(limit=64 << 20)
    big = pool.lease(32 << 20)
    del big
    small = pool.lease(5 << 20)  # 32 MiB > 4 x 5 MiB: a new mapping
    assert pool.hits == 0 and pool.cached_bytes() == 32 << 20
    mid = pool.lease(10 << 20)  # fits within 4x: reused
    assert pool.hits == 1 and pool.cached_bytes() == 0
    mid[:] = 7
    small[:] = 1
    assert mid.sum() == 7 * (10 << 20)
    del mid, small


def test_a_free_arena_is_unmapped_after_the_decay_unless_reused() -> None:
    pool = FramePool(limit=64 << 20, decay_s=30.0)
    a, b = pool.lease(8 << 20), pool.lease(8 << 20)
    del a
    t_a = time.monotonic()
    del b
    assert pool.cached_bytes() == 16 << 20
    assert pool.release_expired(t_a + 29.0) == 0  # not yet
    assert pool.release_expired(time.monotonic() + 30.0) == 16 << 20
    assert pool.cached_bytes() == 0
    c = pool.lease(8 << 20)
    assert pool.hits == 0  # both arenas were unmapped: fresh pages
    del c


def test_the_reaper_thread_releases_the_pages_once_calls_stop() -> None:
    pool = FramePool(limit=64 << 20, decay_s=0.05)
    x = pool.lease(8 << 20)
    x[:] = 3
    del x
    assert pool.cached_bytes() == 8 << 20
    assert pool.wait_empty(timeout=10.0)
    assert pool.cached_bytes() == 0


def test_a_bad_setting_is_refused_and_changes_nothing() -> None:
    before = (POOL.limit, POOL.decay_s)
    with pytest.raises(ValueError, match="frame cache limit"):
        set_frame_cache(-1)
    with pytest.raises(ValueError, match="frame cache decay"):
        set_frame_cache(decay_s=float("nan"))
    assert (POOL.limit, POOL.decay_s) == before
