"""RecentSet keeps the newest N keys only (the Executor's bounded memory of cloids)."""

from __future__ import annotations

import pytest

from actors.recent import RecentSet


def test_keeps_the_newest_keys_and_refreshes_a_re_added_one() -> None:
    s = RecentSet(3)
    for k in "abcd":
        s.add(k)
    assert len(s) == 3 and "a" not in s and {"b", "c", "d"} == {k for k in "abcd" if k in s}
    s.add("b")  # refreshed: now the newest
    s.add("e")
    assert "b" in s and "c" not in s


def test_stays_bounded_on_an_endless_stream() -> None:
    s = RecentSet(100)
    for i in range(10_000):
        s.add(f"cloid-{i}")
    assert len(s) == 100 and "cloid-9999" in s and "cloid-9899" not in s


def test_a_capacity_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        RecentSet(0)
