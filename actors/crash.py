"""Crash-injection points on the order path (docs/failure_modes.md §3).

Why: restart tests must kill the process at an exact point (after the intent is journaled and
before the venue call, ...) without any timing. The point to die at is *passed in* (actors never
read the environment); ``cluster`` reads ``FRACTAL_CRASH_AT``. A marker file makes each point
fire once, so the restarted process gets past it.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

POINTS = ("K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8")


@dataclass(frozen=True)
class CrashPlan:
    """Die with SIGKILL at ``point`` (once: ``marker`` is created first); ``pids`` are killed
    too (e.g. the driver of the live process), then this process."""

    point: str
    marker: Path
    pids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.point not in POINTS:
            raise ValueError(f"unknown crash point {self.point!r}; expected one of {POINTS}")


def crash_point(plan: CrashPlan | None, point: str) -> None:
    """SIGKILL the process here if ``plan`` names ``point`` and has not fired yet."""
    if plan is None or plan.point != point or plan.marker.exists():
        return
    plan.marker.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(plan.marker, os.O_WRONLY | os.O_CREAT, 0o600)
    os.fsync(fd)
    os.close(fd)
    for pid in plan.pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
