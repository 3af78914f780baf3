"""Pages for ``detect()``'s frames, kept for the next frame once a frame is dropped.

Why: a frame is fresh memory on every call, and on the machines measured for issue #17 a fresh
4 KiB page costs ~2 µs to fault in and more to unmap: at 100k bars the 146 MB frame spent
~40 % of ``detect()`` in the kernel (fill 70 ms into fresh blocks vs 43 ms into blocks already
faulted in, plus 12 ms to unmap the previous frame). Research code calls ``detect()`` again and
again on windows of the same size (sweeps, walk-forward folds), so the pages of a frame nobody
holds any more are the cheapest memory for the next one — what malloc does for small blocks,
done here for the large ones malloc hands straight back to the kernel.

How: a frame's blocks are views of one *arena* (a private anonymous ``mmap``) reached through a
:class:`_Lease`; when the last array viewing the lease is gone (the frame, its columns, any
``to_numpy()`` view), a ``weakref.finalize`` puts the arena on the free list instead of
unmapping it. A lease is never handed out while anything can still read it. Like jemalloc's
dirty-page decay, a free arena is unmapped ``decay_s`` seconds (default 10) after its frame was
dropped, by a daemon thread, unless a new frame takes it first; the free list also holds at
most ``limit`` bytes (default 2 GiB: one 1M-bar frame, 1.4 GB). So a loop of calls reuses its
pages, a one-off call costs as before, and the pages go back to the system once calls stop.
``set_frame_cache(0)`` turns the cache off. Cached memory is resident (it shows in the RSS).

Why a private anonymous mapping of plain 4 KiB pages (measured for issue #17): ``np.empty``
asks for transparent huge pages on arrays of 4 MiB or more, and a fresh huge-page write cost
2-4x the system time of small pages there (the Firecracker VM hands freed 2 MiB blocks back to
the host: the first call at 100k bars paid 0.28 s); ``mmap.mmap(-1, n)`` alone maps *shared*
memory, whose pages cost more to fault and ~2.5x more to release. Pages are faulted in by the
workers that write them (in parallel); ``MAP_POPULATE`` pre-faults serially (slower on 2
cores) and ``MADV_POPULATE_WRITE`` per worker saved only 3-7 %.
"""

from __future__ import annotations

import ctypes
import mmap
import threading
import time
import weakref

import numpy as np

DEFAULT_LIMIT = 2 << 30  # one 1M-bar frame (1.4 GB)
DEFAULT_DECAY_S = 10.0  # as jemalloc's dirty_decay_ms: pages go back once calls stop
SMALL = 1 << 22  # below this numpy's own allocator is cheaper than a mapping
# a free arena serves a request at most this many times smaller (else the pages would sit idle
# under a small frame while a frame of the arena's size maps fresh ones)
MAX_WASTE = 4


class _Lease:
    """The owner every block of one frame points to (numpy keeps it alive through the views)."""

    __slots__ = ("__array_interface__", "__weakref__")

    def __init__(self, address: int, nbytes: int) -> None:
        self.__array_interface__ = {
            "data": (address, False),
            "shape": (nbytes,),
            "typestr": "|u1",
            "version": 3,
        }


class FramePool:
    """Free arenas (whole mappings), at most ``limit`` bytes, each unmapped ``decay_s`` seconds
    after its frame was dropped unless a new frame takes it first; thread-safe."""

    def __init__(self, limit: int = DEFAULT_LIMIT, decay_s: float = DEFAULT_DECAY_S) -> None:
        # reentrant: a GC pass inside a locked section may give a lease back on the same thread
        self._cond = threading.Condition(threading.RLock())
        self._free: list[tuple[mmap.mmap, float]] = []  # (arena, dropped at), oldest first
        self._limit = limit
        self._decay_s = decay_s
        self._reaper: threading.Thread | None = None
        self.hits = 0
        self.misses = 0

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def decay_s(self) -> float:
        return self._decay_s

    def cached_bytes(self) -> int:
        with self._cond:
            return sum(len(m) for m, _ in self._free)

    def configure(self, limit: int | None = None, decay_s: float | None = None) -> None:
        """Set the bound and/or the decay (unmapping at once what no longer fits)."""
        if limit is not None and limit < 0:
            raise ValueError(f"frame cache limit must be >= 0 bytes, got {limit}")
        if decay_s is not None and not decay_s >= 0:
            raise ValueError(f"frame cache decay must be >= 0 s, got {decay_s}")
        with self._cond:
            self._limit = self._limit if limit is None else limit
            self._decay_s = self._decay_s if decay_s is None else decay_s
            drop = self._trim(time.monotonic())
            self._cond.notify_all()
        for m in drop:
            m.close()

    def lease(self, nbytes: int) -> np.ndarray:
        """A writable ``uint8`` array of ``nbytes`` (uninitialised: the caller writes every byte
        it reads), on a free arena when one fits, else on a new mapping."""
        arena = self._take(nbytes)
        if arena is None:
            self.misses += 1
            arena = mmap.mmap(-1, max(nbytes, 1), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        else:
            self.hits += 1
        # the address outlives this export: the arena is closed only once no lease views it
        address = ctypes.addressof(ctypes.c_char.from_buffer(arena))
        owner = _Lease(address, nbytes)
        weakref.finalize(owner, self._give_back, arena).atexit = False
        return np.asarray(owner)

    def release_expired(self, now: float) -> int:
        """Unmap the arenas dropped more than ``decay_s`` before ``now``; bytes released."""
        with self._cond:
            drop = self._trim(now)
        size = sum(len(m) for m in drop)
        for m in drop:
            m.close()
        return size

    def wait_empty(self, timeout: float) -> bool:
        """Block until the free list is empty (the reaper released it) or ``timeout`` passes."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._free, timeout)

    def _take(self, nbytes: int) -> mmap.mmap | None:
        with self._cond:
            fits = [e for e in self._free if nbytes <= len(e[0]) <= nbytes * MAX_WASTE]
            if not fits:
                return None
            best = min(fits, key=lambda e: len(e[0]))
            self._free.remove(best)
            return best[0]

    def _give_back(self, arena: mmap.mmap) -> None:
        with self._cond:
            self._free.append((arena, time.monotonic()))
            drop = self._trim(time.monotonic())
            if self._free and (self._reaper is None or not self._reaper.is_alive()):
                self._reaper = threading.Thread(
                    target=self._reap, name="smc-frame-decay", daemon=True
                )
                self._reaper.start()
            self._cond.notify_all()
        for m in drop:
            m.close()

    def _trim(self, now: float) -> list[mmap.mmap]:
        """Pop expired arenas, then the oldest until the rest fits the limit (lock held)."""
        keep = [e for e in self._free if now - e[1] < self._decay_s]
        drop = [m for m, t in self._free if now - t >= self._decay_s]
        total = sum(len(m) for m, _ in keep)
        while keep and total > self._limit:
            m, _ = keep.pop(0)
            total -= len(m)
            drop.append(m)
        self._free = keep
        return drop

    def _reap(self) -> None:
        """Background: unmap each free arena when its decay is over; ends when none is left."""
        while True:
            with self._cond:
                if not self._free:
                    self._reaper = None
                    self._cond.notify_all()
                    return
                due = min(t for _, t in self._free) + self._decay_s
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
            self.release_expired(time.monotonic())
            with self._cond:
                self._cond.notify_all()


POOL = FramePool()


def set_frame_cache(limit_bytes: int | None = None, decay_s: float | None = None) -> None:
    """Keep at most ``limit_bytes`` of dropped frames' pages for the next ``detect()``, each for
    ``decay_s`` seconds; ``limit_bytes=0`` turns the cache off and unmaps what it holds.
    ``None`` leaves a setting as it is (defaults: 2 GiB, 10 s)."""
    POOL.configure(limit_bytes, decay_s)


def arena(nbytes: int) -> np.ndarray:
    """``nbytes`` of frame memory: numpy's allocator below :data:`SMALL`, else the pool."""
    if nbytes < SMALL or not hasattr(mmap, "MAP_PRIVATE"):  # small, or not POSIX
        return np.empty(nbytes, dtype=np.uint8)
    return POOL.lease(nbytes)
