"""The breaker contract end to end, as the operator runs it (subprocesses, paper venue, Ray):
trip -> a live run places no order -> resume/confirm -> the same live run places orders.

Two ~1 minute live runs; each starts its own Ray in its own process (the CLI's), not in pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

FRACTAL = [sys.executable, "-m", "cluster.cli"]
LIVE = ["live", "--network", "paper", "--symbols", "BTC", "--speed", "7200", "--duration", "30s"]


def _run(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*FRACTAL, *args], env=env, cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip


def _orders(env: dict[str, str]) -> int:
    res = _run(["status", "--json"], env)
    assert res.returncode == 0, res.stderr
    return int(json.loads(res.stdout)["orders"])


@pytest.mark.slow
def test_tripped_breaker_blocks_entries_until_confirmed(_isolated_data_dir: Path) -> None:
    env = {**os.environ, "FRACTAL_DATA_DIR": str(_isolated_data_dir)}
    assert _run(["breaker", "trip", "drawdown", "--reason", "test"], env).returncode == 0
    log = (_isolated_data_dir / "circuit_breaker_events.log").read_text()
    assert "drawdown" in log and "trip" in log

    halted = _run(LIVE, env, timeout=600)
    assert halted.returncode == 0, halted.stderr[-2000:]
    assert "breaker:drawdown" in halted.stdout  # the decisions name the rule
    assert _orders(env) == 0

    resume = _run(["breaker", "resume", "drawdown"], env)
    code = resume.stdout.split()[-1]
    assert _run(["breaker", "confirm", "wrong-" + code], env).returncode == 2
    assert _run(["breaker", "confirm", code], env).returncode == 0
    assert _run(["breaker", "confirm", code], env).returncode == 2

    armed = _run(LIVE, env, timeout=600)
    assert armed.returncode == 0, armed.stderr[-2000:]
    assert _orders(env) > 0
