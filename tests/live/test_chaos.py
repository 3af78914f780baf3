"""Chaos (failure_modes F12, issue #18): kill each actor type at seeded random points of a
replayed paper session; Ray restarts it and it rebuilds from the StateKeeper and the venue. The
final ledger (orders by cloid, fills, positions, P&L; venue and journal) equals the fault-free
run's. The replay is stepped bar by bar on a manual clock (tests/live/chaos.py), so the two runs
are comparable bar for bar."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.live import chaos

pytestmark = pytest.mark.usefixtures("ray_session")
STEPS = 40
SEED = int(os.environ.get("FRACTAL_CHAOS_SEED", "18"))


def _run(tmp: Path, tag: str, kills: dict[int, list[str]], in_flight: bool = False,
         steps: int = STEPS) -> tuple[dict[str, object], list[tuple[int, str]]]:  # fmt: skip
    with chaos.session(tmp / tag, f"chaos{tag}{os.getpid()}") as s:
        chaos.replay(s, steps, kills, in_flight=in_flight)
        return chaos.ledger(s), s.kills


def _same(tmp: Path, reference: dict[str, object], faulty: dict[str, object], what: str) -> None:
    """Equal ledgers, or every difference spelled out (both ledgers kept as JSON in ``tmp``)."""
    problems = chaos.diff(reference, faulty)
    if problems:
        path = tmp / "ledgers.json"
        path.write_text(json.dumps({"fault_free": reference, "chaos": faulty}, default=str))
        raise AssertionError(f"{what}; ledgers in {path}:\n" + "\n".join(problems))


def test_each_actor_type_killed_once_ledger_equals_fault_free_run(tmp_path: Path) -> None:
    reference, _ = _run(tmp_path, "ref", {})
    # the session must trade, or equal ledgers prove nothing
    assert len(reference["intents"]) >= 3, reference["intents"]  # type: ignore[arg-type]
    assert reference["venue_fills"], "the fault-free run filled nothing"
    plan = chaos.schedule(SEED, STEPS)
    faulty, done = _run(tmp_path, "chaos", plan)
    assert sorted(k for _, k in done) == sorted(chaos.ACTOR_TYPES)
    _same(tmp_path, reference, faulty, f"seed {SEED}, kills {done}")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kills_while_a_bar_is_in_flight_ledger_equals_fault_free_run(
    tmp_path: Path, seed: int
) -> None:
    """Harsher: each actor is killed right after the clock moved, while the bar, its signal or
    its order is being handled (messages in flight are re-run or re-submitted)."""
    reference, _ = _run(tmp_path, "ref", {}, steps=60)
    plan = chaos.schedule(seed, 60)
    faulty, done = _run(tmp_path, "chaos", plan, in_flight=True, steps=60)
    _same(tmp_path, reference, faulty, f"seed {seed}, kills {done}")


@pytest.mark.slow
def test_executor_killed_while_an_entry_rests_ledger_equals_fault_free_run(tmp_path: Path) -> None:
    """The kill at step 14 lets Ray restart the Executor after the clock reached the expiry of
    the limit entry placed at step 0: the restarted Executor must expire it before its first
    view (tests/crash/test_restart_ttl.py pins that step alone), or the signal of step 15 is
    refused as entry_in_flight and the fault-free run's trade is missing."""
    reference, _ = _run(tmp_path, "ref", {}, steps=30)
    faulty, done = _run(tmp_path, "chaos", {14: ["executor"]}, steps=30)
    _same(tmp_path, reference, faulty, f"kills {done}")
