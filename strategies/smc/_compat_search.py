"""First-crossing search for the compat kernels: "first j >= s with a[j] < x" in O(log n).

The reference package answers these questions with a forward scan per event (O(n^2) overall);
a min segment tree answers each in O(log n) and gives the *same* index, because it finds the
exact first position, not an approximation. "Greater than" queries use the negated array
(negation is exact in floating point).
"""

from __future__ import annotations

import numpy as np
from numba import njit


def min_tree(a: np.ndarray) -> np.ndarray:
    """Perfect binary min tree over ``a``; leaves padded with +inf (never match a finite x).

    Allocated by numpy, not numba: numpy asks for huge pages on big arrays, and on the VMs
    this runs on 4 KiB page faults made numba-allocated O(n) buffers cost more than the work.
    """
    n = a.size
    p = 1
    while p < n:
        p *= 2
    tree = np.empty(2 * p)
    tree[p : p + n] = a
    tree[p + n :] = np.inf
    _fill_tree(tree)
    return tree


@njit(cache=True)
def _fill_tree(tree: np.ndarray) -> None:
    p = tree.size // 2
    for v in range(p - 1, 0, -1):
        left = tree[2 * v]
        right = tree[2 * v + 1]
        tree[v] = left if left <= right else right


_SCAN = 32  # leaves scanned linearly before descending the tree (cache-friendly)


@njit(cache=True)
def _hit(value: float, x: float, strict: bool) -> bool:
    return value < x if strict else value <= x


@njit(cache=True)
def first_below(tree: np.ndarray, n: int, start: int, x: float, strict: bool) -> int:
    """First j >= start (j < n) with a[j] < x (``strict``) or a[j] <= x; -1 if none."""
    if start >= n or start < 0:
        return -1
    p = tree.size // 2
    stop = min(start + _SCAN, n)
    for j in range(start, stop):  # most answers are a few bars away: scan the leaves first
        if _hit(tree[p + j], x, strict):
            return j
    if stop == n:
        return -1
    v = stop + p
    while True:
        if _hit(tree[v], x, strict):
            while v < p:
                v = 2 * v if _hit(tree[2 * v], x, strict) else 2 * v + 1
            j = v - p
            return j if j < n else -1
        while v & 1:
            v >>= 1
        if v == 0:
            return -1
        v += 1


@njit(cache=True)
def build_pos_tree(m: int, values: np.ndarray) -> np.ndarray:
    """Min tree of int64 ``values`` (length m) for range-min queries with point deletion."""
    p = 1
    while p < m:
        p *= 2
    big = np.iinfo(np.int64).max
    tree = np.full(2 * p, big, dtype=np.int64)
    tree[p : p + m] = values
    for v in range(p - 1, 0, -1):
        tree[v] = min(tree[2 * v], tree[2 * v + 1])
    return tree


@njit(cache=True)
def pos_tree_delete(tree: np.ndarray, leaf: int) -> None:
    """Remove leaf ``leaf`` (set it to +inf) and repair its ancestors."""
    p = tree.size // 2
    v = leaf + p
    tree[v] = np.iinfo(np.int64).max
    v >>= 1
    while v >= 1:
        tree[v] = min(tree[2 * v], tree[2 * v + 1])
        v >>= 1


@njit(cache=True)
def pos_tree_min(tree: np.ndarray, lo: int, hi: int) -> int:
    """Minimum of leaves [lo, hi); int64 max if the range is empty or all deleted."""
    p = tree.size // 2
    res = np.iinfo(np.int64).max
    lo += p
    hi += p
    while lo < hi:
        if lo & 1:
            res = min(res, tree[lo])
            lo += 1
        if hi & 1:
            hi -= 1
            res = min(res, tree[hi])
        lo >>= 1
        hi >>= 1
    return res
