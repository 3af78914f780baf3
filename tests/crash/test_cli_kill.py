"""Whole-CLI crash (issue #18): `fractal live --network paper` runs as the operator starts it, in
its own process group (driver, embedded Ray, workers, the paper simulator's thread); the group is
SIGKILLed the moment an order intent is in the journal, then `fractal live` is started again on
the same FRACTAL_DATA_DIR. After its reconciliation: zero orphan orders, zero duplicates, zero
unprotected positions, journal equal to the venue (tests/crash/harness.py:converged).

What "the venue" is after the kill: the paper simulator runs inside the killed process, and it
persists its whole state (orders, fills, positions, clock) to ``FRACTAL_DATA_DIR/paper/simulator``
with an fsync before it answers any /exchange request, and time-driven changes (triggers,
funding) at least once a second. The restarted `fractal live` resumes that state at its saved
time, so an order the venue accepted before the kill is still on the venue; a trigger that fired
in the last second before the kill fires again on the replayed prices. That persisted simulator
is the exchange the restart reconciles with, and the one this test inspects afterwards (with a
manual clock, so nothing moves while it looks).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.conftest import PROJECT_ROOT
from tests.crash.harness import bench, converged
from tests.live.helpers import wait_for

FRACTAL = [sys.executable, "-m", "cluster.cli"]
LIVE = ["live", "--network", "paper", "--symbols", "BTC", "--strategy", "bos_orderblock",
        "--speed", "3600"]  # fmt: skip


def _entries(journal: Path) -> list[str]:
    """Cloids of the entry intents journaled so far (read-only; none while the journal does not
    exist yet)."""
    if not journal.exists():
        return []
    try:
        c = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=1)
        try:
            rows = c.execute("SELECT cloid FROM intents WHERE purpose='entry'").fetchall()
        finally:
            c.close()
    except sqlite3.Error:  # created but not migrated yet
        return []
    return [r[0] for r in rows]


def _kill_group(proc: subprocess.Popen[bytes]) -> list[int]:
    """SIGKILL the CLI's process group and, in the same instant, every process of its tree:
    Ray's worker processes put themselves in process groups of their own, so the group alone
    would leave them to notice their raylet's death by themselves. Returns the tree's pids
    that were outside the group (killed by pid)."""
    tree = [c for c in psutil.Process(proc.pid).children(recursive=True)]
    os.killpg(proc.pid, signal.SIGKILL)
    outside = []
    for p in tree:
        try:
            if os.getpgid(p.pid) != proc.pid:
                outside.append(p.pid)
            p.kill()
        except (psutil.NoSuchProcess, ProcessLookupError):
            continue
    proc.wait(30)
    gone, alive = psutil.wait_procs(tree, timeout=30)
    assert not alive, f"processes of the killed CLI still alive: {[p.pid for p in alive]}"
    return outside


@pytest.mark.slow
def test_sigkill_of_the_whole_cli_then_restart_converges(_isolated_data_dir: Path) -> None:
    data = _isolated_data_dir
    env = {**os.environ, "FRACTAL_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
    journal = data / "state" / "journal.sqlite"
    out = open(data.parent / "first-run.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([*FRACTAL, *LIVE, "--duration", "10m"], env=env, cwd=PROJECT_ROOT,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        wait_for(lambda: _entries(journal) or proc.poll() is not None, 600,
                 "the first entry intent in the journal", every_s=0.01)  # fmt: skip
        assert proc.poll() is None, (data.parent / "first-run.log").read_text()[-3000:]
    finally:
        if proc.poll() is None:
            _kill_group(proc)
        out.close()
    # the driver, the simulator thread, Ray and every actor died at once: nothing of the old
    # system can still send an order
    assert proc.returncode == -signal.SIGKILL
    before = _entries(journal)
    assert before

    # restart on the same data dir: rebuild, recover the intent by cloid, reconcile, trade on
    again = subprocess.run([*FRACTAL, *LIVE, "--duration", "15s"], env=env, cwd=PROJECT_ROOT,
                           capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]

    with bench(data, data_dir=data) as b:  # the persisted simulator, manual clock: nothing moves
        facts = converged(b)
        with b.journal() as j:
            statuses = {c: j.order_status(c) for c in before}
    # the intents journaled before the kill were settled from the venue, none left unknown
    assert "unknown" not in statuses.values() and None not in statuses.values(), statuses
    assert facts["per_signal"], "no entry reached the venue in either run"
