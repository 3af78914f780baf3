"""The "live process" of the crash suite: the order-path actors of one venue account in one OS
process, driven by a script, SIGKILLed whole at a crash point (or from outside).

Runs in a child forked by a multiprocessing forkserver that imported everything once, so a case
starts in milliseconds. ``run`` never returns normally: the process ends with ``os._exit(0)``
after a clean stop, or dies by SIGKILL at its crash point.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actors.alerter import Alerter
from actors.crash import CrashPlan
from actors.executor import Executor
from actors.keeper import StateKeeper
from actors.messages import OrderIntent
from actors.venues.factory import VenueSpec
from tests.crash import inproc


@dataclass(frozen=True)
class Script:
    """One incarnation of the live process: what it submits, and where it dies."""

    spec: VenueSpec  # pickled to the child (the key never goes through JSON or a log)
    data_dir: str
    submit: tuple[str, ...] = ()  # OrderIntent JSON, submitted in order
    batch: bool = False  # submit them as one bar close's batch (Executor.submit_many)
    crash: str | None = None  # K1..K8: SIGKILL the whole process there (once)
    marker: str = ""
    resend_within_ms: float = 60_000.0
    one_entry_per_symbol: bool = True
    executor_kw: dict[str, Any] = field(default_factory=dict)


def run(script: Script) -> None:
    """Build the actors (the constructor rebuilds from the journal and the venue: the restart),
    submit the script's intents, do one poll cycle, stop cleanly."""
    try:
        inproc.install()
        spec = script.spec
        keeper = inproc.LocalActor(StateKeeper(Path(script.data_dir), snapshot_s=3600.0))
        alerter = inproc.LocalActor(Alerter())
        crash = CrashPlan(script.crash, Path(script.marker), ()) if script.crash else None
        executor = Executor(spec, keeper, alerter, crash=crash, poll_s=3600.0,
                            reconcile_s=3600.0, resend_within_ms=script.resend_within_ms,
                            one_entry_per_symbol=script.one_entry_per_symbol,
                            **script.executor_kw)  # fmt: skip
        intents = [OrderIntent.model_validate_json(raw) for raw in script.submit]
        if script.batch:
            executor.submit_many(intents)
        for intent in [] if script.batch else intents:
            executor.submit(intent)
        executor.poll_now()
        executor.stop()
        inproc._get(keeper.close.remote())
    except BaseException:
        import traceback

        traceback.print_exc()
        os._exit(3)
    os._exit(0)
