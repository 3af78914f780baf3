"""Start `fractal dashboard` as a subprocess on a free 127.0.0.1 port, wait for Streamlit's
health endpoint, stop it by pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.live.helpers import wait_for

PROJECT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def health(host: str, port: int) -> str | None:
    """The health endpoint's body, or None when nothing answers there."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/_stcore/health", timeout=2) as r:
            return r.read().decode()
    except OSError:
        return None


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout_s)


@contextmanager
def dashboard(data_dir: Path, work: Path, token: str, *extra: str) -> Iterator[Server]:
    port = free_port()
    env = dict(os.environ, FRACTAL_DATA_DIR=str(data_dir), DASHBOARD_TOKEN=token)
    log = work / f"dashboard-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cluster.cli", "dashboard", "--port", str(port), *extra],
            cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(proc, port, log)
    try:
        wait_for(lambda: proc.poll() is not None or health("127.0.0.1", port) == "ok", 90,
                 "the dashboard's health endpoint")  # fmt: skip
        assert proc.poll() is None, log.read_text()
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()  # the test failed before stopping it: never leave it behind
            proc.wait(timeout=30)
