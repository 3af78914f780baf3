"""`fractal mlflow-ui` — the MLflow UI (and REST API) for the sweeps' tracking store, on
127.0.0.1 by default. The process becomes `mlflow server` (exec), so its pid is the server's
and stopping it stops the UI (its workers are in the same process group)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from cluster.cli_common import err_console, fail, settings_or_exit


def mlflow_ui(
    host: str = typer.Option("127.0.0.1", "--host", help="bind address (keep it local)"),
    port: int = typer.Option(5000, "--port"),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="backend store (default: SQLite under FRACTAL_DATA_DIR)"
    ),
) -> None:
    """Serve the MLflow UI for the sweep tracking store."""
    from research.sweep.tracking import artifact_root, default_uri

    if not 0 < port < 65536:
        raise fail(f"--port must be in 1..65535, got {port}", 2)
    data_dir = Path(settings_or_exit().fractal_data_dir)
    uri = tracking_uri or default_uri(data_dir)
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    root = artifact_root(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    err_console.print(f"MLflow UI for {uri} on http://{host}:{port}")
    args = [
        sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri,
        "--default-artifact-root", root.as_uri(), "--host", host, "--port", str(port),
        "--workers", "1",
    ]  # fmt: skip
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, args)
