"""Every `fractal …` command in README.md's code blocks runs as written, on shipped data.

Each runs as a real process of the installed console script, in README order, from a temp
working directory that has `../shared` (so the README's relative paths resolve), with its own
FRACTAL_DATA_DIR. Commands that cannot run here are listed in NOT_RUN with the reason;
long-running servers in SERVERS are started, waited for (they must answer) and stopped by pid;
a command another test runs exactly as written (and checks further) is listed in RUN_BY, and
that test asserts the README still shows it. When you add a command to the README, it is picked
up automatically; extend these lists only for the reasons they name.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import PROJECT_ROOT, SHARED

README = PROJECT_ROOT / "README.md"
FRACTAL = Path(sys.executable).with_name("fractal")

# command prefix -> why it cannot run here (network, credentials, …); keep the list short
NOT_RUN: dict[str, str] = {
    "fractal data fetch": "downloads from the venue's public API",
    # a process of its own would start its own Ray (tests share one session Ray); the command
    # runs in-process on that Ray in tests/research/test_sweep_cli.py
    "fractal sweep": "starts a Ray instance of its own",
    # joins a Ray cluster: run on a two-node cluster on 127.0.0.1 in tests/cluster/test_two_nodes.py
    "fractal live --address": "needs a running Ray cluster (tests/cluster/test_two_nodes.py)",
    # started, read back over REST and stopped by pid in tests/research/test_mlflow_ui.py
    "fractal mlflow-ui": "a long-running MLflow server (tested in tests/research)",
    # needs the one-time code `fractal breaker resume` printed (the cycle: tests/breakers)
    "fractal breaker confirm": "takes the code printed by resume (tests/breakers/test_breaker_cli.py)",
    # exits 1 by design until a store holds testnet evidence (tests/breakers/test_preflight*)
    "fractal preflight": "fails by design on a store without testnet evidence (tests/breakers)",
    # cancels on the venue of a running live run (paper: its simulator), which is not up here
    "fractal kill": "needs a running venue (tests/breakers/test_kill_switch.py)",
    # exchange API keys and the exchange's testnet; the venue runs the conformance suite on a
    # loopback server (tests/venues/), the CLI's checks in tests/live/test_cli_live_ccxt.py
    "fractal live --venue": "needs exchange testnet keys (tests/venues, tests/live)",
    # started on a free port, health checked on 127.0.0.1 only, stopped by pid with SIGTERM and
    # SIGINT in tests/dashboard/test_cli_dashboard.py (it needs DASHBOARD_TOKEN set)
    "fractal dashboard": "a long-running server (tested in tests/dashboard)",
}
# command as written -> the test that runs exactly this command (same argv, a fresh data dir) and
# checks more than this test would; the README is its source (that test asserts the command is
# here), so one run serves both
RUN_BY: dict[str, str] = {
    "fractal live --network paper --symbols BTC --speed 7200 --duration 30s":
        "tests/live/test_contract.py (the paper-trading contract)",
}  # fmt: skip
# command prefix -> (argument overrides, a regex its stdout prints once it serves)
SERVERS: dict[str, tuple[dict[str, str], str]] = {
    # a fixed port may be taken on a shared machine; any free port exercises the same command
    "fractal sim": ({"--port": "0"}, r"^http://127\.0\.0\.1:\d+"),
}


def readme_commands(text: str) -> list[str]:
    """`fractal …` lines of the fenced code blocks, backslash continuations joined."""
    commands = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.M | re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line.startswith("fractal ") or line == "fractal":
                commands.append(" ".join(shlex.split(line, comments=True)))
    return commands


COMMANDS = readme_commands(README.read_text())


def _kind(command: str) -> str:
    if any(command.startswith(p) for p in NOT_RUN):
        return "not run"
    if command in RUN_BY:
        return "run by"
    return "server" if any(command.startswith(p) for p in SERVERS) else "run"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("readme")
    (root / "shared").symlink_to(SHARED.parent, target_is_directory=True)
    cwd = root / "work"
    cwd.mkdir()
    env = {
        **os.environ,
        "FRACTAL_DATA_DIR": str(root / "data"),
        "SHARED_DATA_DIR": str(root / "shared" / "data"),
        "COLUMNS": "200",
    }
    env.pop("NETWORK", None)
    env.pop("PRIVATE_KEY", None)
    return cwd, env


def test_the_readme_shows_the_commands_this_test_knows_about() -> None:
    """Guards the extraction itself: these README commands must be found (and the lists
    must name commands the README still shows)."""
    assert "fractal data import ../shared/data/market/hyperliquid_perp_2025" in COMMANDS
    assert any(c.startswith("fractal backtest --strategy sma_cross") and "--report" in c
               for c in COMMANDS)  # fmt: skip
    assert len(COMMANDS) >= 12
    for prefix in [*NOT_RUN, *SERVERS]:
        assert any(c.startswith(prefix) for c in COMMANDS), f"{prefix} no longer in README"
    for command in RUN_BY:
        assert command in COMMANDS, f"{command} no longer in README"


def _argv(command: str) -> list[str]:
    argv = shlex.split(command)
    for prefix, (overrides, _) in SERVERS.items():
        if command.startswith(prefix):
            for opt, value in overrides.items():
                argv[argv.index(opt) + 1] = value
    return [str(FRACTAL), *argv[1:]]


def _serve_then_stop(command: str, cwd: Path, env: dict[str, str]) -> None:
    """Start the server, wait (on its output, with a deadline) until it says where it serves,
    then stop it by pid with SIGINT (its Ctrl-C path) and expect a clean exit."""
    ready = next(rx for p, (_, rx) in SERVERS.items() if command.startswith(p))
    proc = subprocess.Popen(
        _argv(command), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 180
        while not any(re.match(ready, x) for x in seen):
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, f"{command} exited early:\n{''.join(seen)}"
            seen.append(line)
        url = next(x.strip() for x in seen if re.match(ready, x))
        # it answers: the venue's /info serves the meta the SDK asks for first
        meta = httpx.post(f"{url}/info", json={"type": "meta"}, timeout=60).json()
        assert {u["name"] for u in meta["universe"]} >= {"BTC", "ETH"}
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        reader.join(timeout=30)


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs_as_written(
    command: str, workspace: tuple[Path, dict[str, str]]
) -> None:
    cwd, env = workspace
    kind = _kind(command)
    if kind == "not run":
        pytest.skip(f"{command!r}: {NOT_RUN[next(p for p in NOT_RUN if command.startswith(p))]}")
    if kind == "run by":
        pytest.skip(f"{command!r}: run as written by {RUN_BY[command]}")
    if kind == "server":
        _serve_then_stop(command, cwd, env)
        return
    res = subprocess.run(_argv(command), cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=600)  # fmt: skip
    assert res.returncode == 0, f"{command}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    assert "Traceback" not in res.stderr
    # whatever it writes goes to FRACTAL_DATA_DIR or the named output, never the checkout
    for out in re.findall(r"--(?:out|report) (\S+)", command):
        assert (cwd / out).is_file(), out
