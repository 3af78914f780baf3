"""A monotonic nonce source for signed actions, persisted across restarts (failure_modes F11).

Why: Hyperliquid keeps the highest 100 nonces per signer and refuses a reused one, and the SDK
signs with the wall clock in milliseconds: two calls in the same millisecond, a clock set back,
or a restart after a clock step would collide. Every nonce is ``max(now_ms, last + 1)``.

Why a reserved block instead of a write per nonce: what must survive a restart is only a bound
above every nonce handed out. The store persists a high-water mark ``RESERVE_MS`` ahead of the
nonce that crossed the old one (temp file, fsync, rename, directory fsync) **before** that nonce
goes out; every nonce up to the mark then needs no I/O, and a restart starts above the mark (at
most ``RESERVE_MS`` ahead of the clock: far inside the venue's T + 1 day window). Two processes
that sign with the same key through the same ``path`` reserve disjoint blocks under an ``fcntl``
file lock, so they never hand out the same nonce (each one's nonces strictly increase).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

RESERVE_MS = 10_000  # nonces reserved per durable write (ms of wall clock at one call a ms)


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class NonceStore:
    """``next()`` returns strictly increasing nonces; ``path=None`` keeps them in memory only."""

    def __init__(
        self,
        path: Path | None,
        clock_ms: Callable[[], int] = wall_clock_ms,
        reserve_ms: int = RESERVE_MS,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self._clock_ms = clock_ms
        self._reserve = max(0, int(reserve_ms))
        self._lock = threading.Lock()
        self._last = 0
        self._reserved = 0  # this process may hand out nonces up to here without I/O
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def last(self) -> int:
        """A bound at or above every nonce handed out (here or by an earlier run): the
        persisted high-water mark."""
        with self._lock, self._file_lock():
            return max(self._last, self._read())

    def next(self) -> int:
        with self._lock:
            nonce = max(int(self._clock_ms()), self._last + 1)
            if self.path is not None and nonce > self._reserved:
                with self._file_lock():
                    nonce = max(nonce, self._read() + 1)  # above every block reserved so far
                    self._write(nonce + self._reserve)  # durable before the nonce is used
                    self._reserved = nonce + self._reserve
            self._last = nonce
            return nonce

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        if self.path is None:
            yield
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _read(self) -> int:
        if self.path is None or not self.path.exists():
            return 0
        try:
            value = json.loads(self.path.read_text())["last"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"nonce file {self.path} is corrupt ({exc}); refusing to guess a nonce — "
                "restore it or delete it only if no action was signed in the last 2 days"
            ) from None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"nonce file {self.path} holds an invalid value {value!r}")
        return value

    def _write(self, nonce: int) -> None:
        if self.path is None:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, json.dumps({"last": nonce}).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
