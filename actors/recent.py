"""A set that remembers only the newest N keys (insertion order).

Why: the Executor answers a re-delivered intent from memory when it can; the journal is the truth
for every cloid (``record_intent`` refuses a known one), so forgetting old cloids costs one journal
round trip for a very late duplicate, while an unbounded set grows ~100 B per order forever."""

from __future__ import annotations

from collections import OrderedDict


class RecentSet:
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"RecentSet capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._keys: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self.capacity:
            self._keys.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)
