"""`fractal dashboard` — the Streamlit monitoring dashboard on 127.0.0.1 only.

Why a child process: Streamlit's server owns its event loop and signal handling; this command
starts it with fixed safe flags (loopback only, headless, no usage statistics, no file watcher,
no error details in the browser), forwards SIGTERM/SIGINT to it and waits, so stopping this
process stops the server. Refuses to start (exit 2) without ``DASHBOARD_TOKEN``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

import typer

from cluster.cli_common import console, fail, settings_or_exit

APP = Path(__file__).resolve().parent / "dashboard" / "app.py"
HOST = "127.0.0.1"


def streamlit_command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", HOST, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        "--server.runOnSave", "false", "--client.showErrorDetails", "none",
        "--client.toolbarMode", "viewer", "--global.developmentMode", "false",
    ]  # fmt: skip


def dashboard(
    port: int = typer.Option(8501, "--port", min=1, max=65535, help="Port on 127.0.0.1."),
    refresh: int | None = typer.Option(
        None,
        "--refresh",
        min=5,
        max=3600,
        help="Seconds between refreshes (default DASHBOARD_REFRESH_SECONDS, 60).",
    ),
) -> None:
    """Monitoring dashboard (Streamlit + Plotly) on 127.0.0.1:PORT: live P&L, positions,
    orders, signals, breakers, health, performance and sweep results. Read-only on the store;
    asks for DASHBOARD_TOKEN on the page. Stops on SIGTERM / Ctrl-C."""
    settings = settings_or_exit()
    if settings.dashboard_token is None:
        raise fail(
            "DASHBOARD_TOKEN is not set: the dashboard refuses to start without an access "
            "token (set it in .env or the environment, at least 12 characters)",
            code=2,
        )
    env = dict(os.environ)
    env["FRACTAL_DATA_DIR"] = str(settings.fractal_data_dir)
    env["DASHBOARD_REFRESH_SECONDS"] = str(refresh or settings.dashboard_refresh_seconds)
    env["DASHBOARD_TOKEN"] = settings.dashboard_token.get_secret_value()  # also from .env
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    console.print(f"dashboard on http://{HOST}:{port} (data {settings.fractal_data_dir}); "
                  "Ctrl-C or SIGTERM stops it", highlight=False, soft_wrap=True)  # fmt: skip
    raise typer.Exit(_run(streamlit_command(port), env))


def _run(cmd: list[str], env: dict[str, str]) -> int:
    """Run the server; forward SIGTERM/SIGINT to it and wait for it to exit. The handlers are
    installed before the child starts, so a signal in between is not lost."""
    children: list[subprocess.Popen[bytes]] = []
    stopping: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)
        for c in children:
            if c.poll() is None:
                c.send_signal(signum)

    old = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        child = subprocess.Popen(cmd, env=env)
        children.append(child)
        if stopping and child.poll() is None:
            child.send_signal(stopping[0])
        rc = child.wait()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    if stopping:
        return 0  # asked to stop, and the server stopped
    return rc if rc >= 0 else 1  # killed by a signal this process did not receive
