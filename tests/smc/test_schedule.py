"""The concept graph on a thread pool: same bytes for any thread count, errors surface."""

from __future__ import annotations

import gc
import importlib
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from strategies.smc import (
    _fused_batch,
    bars_from_frame,
    detect,
    make_params,
    pipeline,
    set_default_threads,
)
from strategies.smc._schedule import Task, bottom_levels, default_threads, run_graph
from strategies.smc.pipeline import concept_nodes, detect_arrays
from tests.smc.helpers import ETH_15M, load_frame


@pytest.mark.parametrize("threads", [2, 3])
def test_threads_give_the_bytes_of_a_serial_run(threads: int) -> None:
    bars = bars_from_frame(load_frame(ETH_15M).iloc[:6000])
    p = make_params(swing_length=20, internal_length=3)
    serial = detect_arrays(bars, p, threads=1)
    parallel = detect_arrays(bars, p, threads=threads)
    assert list(serial) == [n.name for n in concept_nodes()]
    assert set(parallel) == set(serial)
    for name, arr in serial.items():
        assert arr.tobytes() == parallel[name].tobytes(), name


def test_independent_tasks_really_run_at_once() -> None:
    # two tasks that each wait for the other to start: only a 2-thread schedule finishes them
    started = [threading.Event(), threading.Event()]

    def meet(k: int) -> int:
        started[k].set()
        assert started[1 - k].wait(timeout=30), "the other task never started"
        return k

    outs = run_graph([Task("a", (), lambda: meet(0)), Task("b", (), lambda: meet(1))], threads=2)
    assert outs == {"a": 0, "b": 1}


def test_dependencies_see_finished_outputs_in_any_schedule() -> None:
    tasks = [
        Task("x", (), lambda: 2, cost=1),
        Task("y", (), lambda: 3, cost=50),
        Task("xy", ("x", "y"), lambda x, y: x * y, cost=1),
        Task("z", ("xy",), lambda xy: xy + 1, cost=1),
    ]
    for threads in (1, 2, 4):
        assert run_graph(tasks, threads) == {"x": 2, "y": 3, "xy": 6, "z": 7}


def test_bottom_level_prefers_the_long_chain() -> None:
    tasks = [
        Task("a", (), lambda: 0, cost=1),
        Task("b", ("a",), lambda a: 0, cost=10),
        Task("c", (), lambda: 0, cost=5),
    ]
    assert bottom_levels(tasks) == {"a": 11, "b": 10, "c": 5}


def test_an_error_in_a_task_is_raised_and_nothing_after_it_runs() -> None:
    ran: list[str] = []

    def boom() -> None:
        raise ValueError("bad node")

    tasks = [
        Task("bad", (), boom),
        Task("after", ("bad",), lambda _: ran.append("after")),
    ]
    for threads in (1, 2):
        with pytest.raises(ValueError, match="bad node"):
            run_graph(tasks, threads)
    assert ran == []


def test_a_dependency_that_runs_later_is_rejected() -> None:
    with pytest.raises(ValueError, match="depends on"):
        run_graph([Task("a", ("b",), lambda b: b), Task("b", (), lambda: 1)], threads=2)


@pytest.fixture
def _restore_default_threads() -> Iterator[None]:
    yield
    set_default_threads(None)


@pytest.mark.usefixtures("_restore_default_threads")
def test_thread_count_is_passed_in_never_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """strategies/ is pure: FRACTAL_SMC_THREADS is read by cluster/ (tests/test_settings.py)."""
    seen: list[int] = []
    real = pipeline.run_graph
    real_fill = _fused_batch.fill

    def spy(tasks: list[Task], threads: int, keep: bool = True) -> dict:
        seen.append(threads)
        return real(tasks, threads, keep=keep)

    def spy_fill(*args: Any) -> None:  # detect()'s engine: threads is its last argument
        seen.append(args[-1])
        real_fill(*args)

    monkeypatch.setattr(pipeline, "run_graph", spy)
    monkeypatch.setattr(_fused_batch, "fill", spy_fill)
    df = load_frame(ETH_15M).iloc[:60]
    cores = default_threads()
    monkeypatch.setenv("FRACTAL_SMC_THREADS", "5")
    detect(df)
    assert seen[-1] == cores  # the variable has no effect here
    set_default_threads(3)
    assert default_threads() == 3
    detect(df)
    detect_arrays(bars_from_frame(df), make_params())
    assert seen[-2:] == [3, 3]
    detect(df, threads=2)
    detect_arrays(bars_from_frame(df), make_params(), threads=np.int64(64))
    assert seen[-2:] == [2, 8]  # an explicit count wins; capped at MAX_THREADS
    for bad in (0, -3, "two", 1.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            set_default_threads(bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="positive integer"):
            detect(df, threads=bad)  # type: ignore[arg-type]
    assert default_threads() == 3  # a rejected value changes nothing
    set_default_threads(None)
    assert default_threads() == cores


def test_every_cell_is_written_although_batch_buffers_start_uninitialised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # batch buffers come from np.empty: hand out buffers full of a sentinel instead, and the
    # result must still equal a run on NaN-filled buffers (the old behaviour) bit for bit
    bars = bars_from_frame(load_frame(ETH_15M).iloc[:3000])
    p = make_params()

    def filled(value: float):  # type: ignore[no-untyped-def]
        return lambda n, k: np.full((n, k), value)

    modules = [
        importlib.import_module(f"strategies.smc.{m}")
        for m in ("atr", "fvg", "liquidity", "order_blocks", "periods", "retracements",
                  "sessions", "structure", "swings", "zones")
    ]  # fmt: skip
    runs = []
    for value in (np.nan, 7.25e300):
        for module in modules:
            monkeypatch.setattr(module, "empty_out", filled(value))
        runs.append(detect_arrays(bars, p, threads=1))
    nan_run, sentinel_run = runs
    for name, arr in nan_run.items():
        assert not (sentinel_run[name] == 7.25e300).any(), name
        assert arr.tobytes() == sentinel_run[name].tobytes(), name


class _Box:
    """A weak-referenceable task output."""


def test_keep_false_frees_an_output_once_its_readers_are_done() -> None:
    refs: dict[str, weakref.ref[_Box]] = {}

    def make(name: str) -> _Box:
        box = _Box()
        refs[name] = weakref.ref(box)
        return box

    def late(_b: _Box) -> str:
        gc.collect()
        return "freed" if refs["a"]() is None else "alive"

    tasks = [
        Task("a", (), lambda: make("a")),
        Task("b", ("a",), lambda a: make("b")),
        Task("c", ("b",), late),
    ]
    outs = run_graph(tasks, threads=1, keep=False)
    assert outs == {"c": "freed"}
    kept = run_graph(tasks, threads=2, keep=True)
    assert set(kept) == {"a", "b", "c"} and kept["c"] == "alive"
    assert set(run_graph(tasks, threads=2, keep=False)) == {"c"}


def _frames_equal(a: Any, b: Any) -> None:
    assert list(a.columns) == list(b.columns)
    assert (a.dtypes == b.dtypes).all()
    for col in a.columns:
        assert a[col].to_numpy().tobytes() == b[col].to_numpy().tobytes(), col


def test_concurrent_detect_calls_share_the_kept_helper_thread() -> None:
    """detect()'s second worker is one kept thread: two calls at once still get their own
    frames, equal to a call alone (the second call's helper job waits its turn)."""
    df = load_frame(ETH_15M).iloc[:4000]
    alone = detect(df, threads=2)
    got: dict[int, Any] = {}
    errors: list[BaseException] = []

    def call(k: int) -> None:
        try:
            got[k] = detect(df.iloc[: 4000 - 500 * k], threads=2)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=call, args=(k,)) for k in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    _frames_equal(got[0], alone)
    for k in (1, 2):
        _frames_equal(got[k], alone.iloc[: 4000 - 500 * k])


def test_the_helper_thread_is_made_again_in_another_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A forked child inherits the parent's pool object but not its thread (a job queued there
    would never run): the pool is keyed by pid. Here the inherited pool is played by a shut-down
    one under another pid; without the pid check submit raises on it (negative control)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    dead = ThreadPoolExecutor(1)
    dead.shutdown()
    df = load_frame(ETH_15M).iloc[:3000]
    monkeypatch.setattr(_fused_batch, "_pool", (os.getpid(), dead))
    with pytest.raises(RuntimeError, match="shutdown"):
        detect(df, threads=2)  # the control: a pool of this pid is used as it is
    monkeypatch.setattr(_fused_batch, "_pool", (os.getpid() + 1, dead))
    frame = detect(df, threads=2)
    _frames_equal(frame, detect(df, threads=1))
