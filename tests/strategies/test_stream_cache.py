"""A strategy stream's per-bar kernel call comes from numba's cache in every new process.

Each StrategyRunner is its own process. A kernel passed to a jitted function as an argument makes
numba compile that function again in every process (its type is not cacheable across processes)
and append one more entry to the cache index on disk each time; ``Spec.on_window`` (the kernel as
a global of its strategy module) is compiled once and loaded afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import dataclasses, sys
sys.path.insert(0, sys.argv[1])
from strategies import liquidity_sweep as ls
from strategies import live
spec = ls.spec(ls.Params())
if sys.argv[2] == "generic":
    spec = dataclasses.replace(spec, on_window=None)
stream = live.StrategyStream(spec, max_rows=8)
for k in range(40):
    c = 100.0 + (k % 7)
    stream.update(1.7e12 + k * 900_000.0, c, c + 1.0, c - 1.0, c + 0.5, 1.0)
print("stepped", stream.n)
"""


def _run(mode: str) -> str:
    env = {**os.environ, "NUMBA_DEBUG_CACHE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("NUMBA_BOUNDSCHECK", None)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT), mode],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "stepped 40" in out.stdout
    return out.stdout + out.stderr


def _saved(log: str, name: str) -> list[str]:
    return [ln for ln in log.splitlines() if "data saved" in ln and f".{name}-" in ln]


def test_the_strategy_window_call_is_loaded_not_compiled_in_a_new_process() -> None:
    _run("own")  # the cache may be cold for this function: compiled (and saved) here at most
    log = _run("own")
    assert [ln for ln in log.splitlines() if "data loaded" in ln and ".on_window-" in ln]
    assert _saved(log, "on_window") == []
    # negative control: the kernel passed as an argument is compiled again in a new process
    assert _saved(_run("generic"), "_kernel_on_window")
