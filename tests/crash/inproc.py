"""Run the order-path actors (StateKeeper, Executor) inside one plain process, for crash tests.

Why: the crash suite SIGKILLs the *whole* live process at each step of the order path, dozens of
times; a Ray start per case would cost minutes. Here each actor gets a mailbox thread — calls run
in submission order, ``.remote()`` returns a future, fire-and-forget calls may still be queued
when the process dies (as with Ray) — and ``ray.get`` resolves those futures. The actors' code
is unchanged; only this process's ``ray.get`` is replaced (``install``).
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any


class LocalActor:
    """``handle.method.remote(*a)`` runs ``obj.method(*a)`` on the actor's mailbox thread."""

    def __init__(self, obj: Any) -> None:
        self._obj = obj
        self._inbox: queue.SimpleQueue[tuple[Future[Any], str, tuple[Any, ...], dict[str, Any]]]
        self._inbox = queue.SimpleQueue()
        threading.Thread(target=self._run, name=f"actor-{type(obj).__name__}", daemon=True).start()

    def _run(self) -> None:
        while True:
            fut, name, args, kwargs = self._inbox.get()
            try:
                fut.set_result(getattr(self._obj, name)(*args, **kwargs))
            except BaseException as exc:  # delivered to whoever gets the future
                fut.set_exception(exc)

    def __getattr__(self, name: str) -> Any:
        actor = self

        class _Method:
            @staticmethod
            def remote(*args: Any, **kwargs: Any) -> Future[Any]:
                fut: Future[Any] = Future()
                actor._inbox.put((fut, name, args, kwargs))
                return fut

        return _Method


def _get(refs: Any, timeout: float | None = None) -> Any:
    if isinstance(refs, Future):
        return refs.result(timeout)
    if isinstance(refs, list):
        return [_get(r, timeout) for r in refs]
    return refs


def install() -> None:
    """Make ``ray.get`` resolve :class:`LocalActor` futures (this process only)."""
    import ray

    ray.get = _get
