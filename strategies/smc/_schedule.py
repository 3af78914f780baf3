"""Run the concept graph's nodes on a small thread pool.

Every node's batch kernel is an ``@njit(nogil=True)`` loop, so nodes whose inputs are ready run
on separate cores at once (swings, ATR, periods and sessions have no inputs at all). Outputs do
not depend on the schedule: each node is a pure function of the bars and its dependencies'
finished arrays, so ``threads=1`` (graph order, no pool) and ``threads=k`` give identical bytes.

The ready node with the longest remaining chain of work below it goes first (list scheduling
by "bottom level"), so the long swing → structure → order-block chain is never left waiting
behind a short independent node.
"""

from __future__ import annotations

import operator
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

MAX_THREADS = 8


@dataclass(frozen=True)
class Task:
    """One node to run: ``fn(*outputs of deps)``; ``cost`` is its relative run time."""

    name: str
    deps: tuple[str, ...]
    fn: Callable[..., Any]
    cost: float = 1.0


_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()
_default: int | None = None  # set_default_threads; None = the usable cores


def check_threads(threads: int) -> int:
    """A valid thread count (a positive int), capped at ``MAX_THREADS``."""
    try:
        k = operator.index(threads)
    except TypeError:
        k = 0
    if isinstance(threads, bool) or k < 1:
        raise ValueError(f"SMC threads must be a positive integer, got {threads!r}")
    return min(k, MAX_THREADS)


def set_default_threads(threads: int | None) -> None:
    """The thread count ``detect``/``detect_arrays`` use when the call names none (``None``
    restores the usable cores). Why a setter: strategies never read the environment; the
    wiring (``cluster``: ``FRACTAL_SMC_THREADS``) passes the user's choice in once, and the
    strategy code paths that call ``detect_arrays`` need not thread it through."""
    global _default
    _default = None if threads is None else check_threads(threads)


def default_threads() -> int:
    """Threads for one detection: the value given to ``set_default_threads``, else the usable
    cores (≤ 8). Use 1 where many detections already run side by side (one per Ray worker)."""
    if _default is not None:
        return _default
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_THREADS))


def resolve_threads(threads: int | None) -> int:
    """``threads`` checked, or ``default_threads()`` for None."""
    return default_threads() if threads is None else check_threads(threads)


def _get_pool(threads: int) -> ThreadPoolExecutor:
    """A process-wide pool, grown when a caller asks for more threads (never shrunk)."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < threads:
            old = _pool
            _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="smc")
            _pool_size = threads
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def bottom_levels(tasks: Sequence[Task]) -> dict[str, float]:
    """Each task's cost plus the costliest chain of tasks that (transitively) need it."""
    level: dict[str, float] = {}
    for task in reversed(tasks):  # tasks are in dependency order
        below = [level[t.name] for t in tasks if task.name in t.deps]
        level[task.name] = task.cost + max(below, default=0.0)
    return level


def run_graph(tasks: Sequence[Task], threads: int, keep: bool = True) -> dict[str, Any]:
    """Run ``tasks`` (in dependency order) on ``threads`` threads; returns outputs by name.

    With ``keep=False`` an output is dropped as soon as every task that reads it has finished
    (for callers that consume outputs inside the tasks: lower peak memory), and the result
    holds only the outputs nobody reads. An exception in any task is raised here once the tasks
    already running have finished.
    """
    names = [t.name for t in tasks]
    for k, task in enumerate(tasks):
        missing = [d for d in task.deps if d not in names[:k]]
        if missing:
            raise ValueError(f"task {task.name!r} depends on {missing}, which do not run before it")
    outs: dict[str, Any] = {}
    readers = {t.name: sum(t.name in u.deps for u in tasks) for t in tasks}

    def finished(task: Task, out: Any) -> None:
        outs[task.name] = out
        if keep:
            return
        for d in task.deps:
            readers[d] -= 1
            if readers[d] == 0:
                del outs[d]

    if threads <= 1:
        for task in tasks:
            finished(task, task.fn(*[outs[d] for d in task.deps]))
        return outs

    pool = _get_pool(threads)
    level = bottom_levels(tasks)
    pending = sorted(tasks, key=lambda t: -level[t.name])
    running: dict[Future[Any], Task] = {}
    error: BaseException | None = None
    while pending or running:
        while error is None and len(running) < threads:
            ready = next((t for t in pending if all(d in outs for d in t.deps)), None)
            if ready is None:
                break
            pending.remove(ready)
            future = pool.submit(ready.fn, *[outs[d] for d in ready.deps])
            running[future] = ready
        if not running:
            break
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            task = running.pop(future)
            exc = future.exception()
            if exc is not None:
                error = error or exc
            else:
                finished(task, future.result())
    if error is not None:
        raise error
    return outs
