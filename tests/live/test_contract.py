"""The contract checked from outside: `fractal live` on paper trades and stops by itself, then
`fractal status --json` reports orders and fills and a valid state.json exists.

The command is also the README's (tests/cli/test_readme_commands.py leaves it to this test, its
RUN_BY list): this run checks what that test would (exit 0, no traceback) as well."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from actors.state.snapshot import read_state_json
from tests.cli.test_readme_commands import COMMANDS as README_COMMANDS

FRACTAL = str(Path(sys.executable).with_name("fractal"))
ARGS = ["live", "--network", "paper", "--symbols", "BTC", "--speed", "7200", "--duration", "30s"]


def test_fractal_live_paper_contract(tmp_path: Path) -> None:
    assert " ".join(["fractal", *ARGS]) in README_COMMANDS  # the README's command, as written
    data = tmp_path / "fresh-data"
    env = {**os.environ, "FRACTAL_DATA_DIR": str(data)}
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [FRACTAL, *ARGS], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(  # noqa: B904
            f"fractal live did not stop within 240 s\n{out[-3000:]}\n{err[-3000:]}"
        )
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out[-3000:]}\n{err[-3000:]}"
    assert "Traceback" not in err, err[-3000:]
    assert elapsed < 240
    status = subprocess.run([FRACTAL, "status", "--json"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert status.returncode == 0, status.stderr
    st = json.loads(status.stdout)
    assert st["orders"] >= 1 and st["fills"] >= 1, st
    assert read_state_json(data / "state.json")
