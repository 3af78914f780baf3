"""A monotonic nonce source for signed actions, persisted across restarts (failure_modes F11).

Why: Hyperliquid keeps the highest 100 nonces per signer and refuses a reused one, and the SDK
signs with the wall clock in milliseconds: two calls in the same millisecond, a clock set back,
or a restart after a clock step would collide. Every nonce is ``max(now_ms, last + 1)`` and the
new high-water mark is durable (temp file, fsync, rename) **before** the request goes out.

The read-modify-write runs under a thread lock and an ``fcntl`` file lock, so two processes that
sign with the same key through the same ``path`` still never hand out the same nonce.
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


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class NonceStore:
    """``next()`` returns strictly increasing nonces; ``path=None`` keeps them in memory only."""

    def __init__(self, path: Path | None, clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self.path = Path(path) if path is not None else None
        self._clock_ms = clock_ms
        self._lock = threading.Lock()
        self._last = 0
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def last(self) -> int:
        """The highest nonce handed out (or persisted by an earlier run)."""
        with self._lock, self._file_lock():
            return max(self._last, self._read())

    def next(self) -> int:
        with self._lock, self._file_lock():
            last = max(self._last, self._read())
            nonce = max(int(self._clock_ms()), last + 1)
            self._write(nonce)
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
