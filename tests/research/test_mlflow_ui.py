"""`fractal mlflow-ui` serves the sweep store: start it on 127.0.0.1, read a sweep's parent run
and its artifacts back through the REST API, stop it by its pid (process group)."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.research.helpers import sweep, write_slice

pytestmark = pytest.mark.usefixtures("ray_session")
READY = ("Uvicorn running on", "Application startup complete", "Listening at")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(proc: subprocess.Popen[str], timeout: float) -> list[str]:
    """Block until the server logs that it listens (an event, not a guess); its lines."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("mlflow-ui not ready in time:\n" + "".join(seen)) from None
        if line is None:
            raise AssertionError("mlflow-ui exited:\n" + "".join(seen))
        seen.append(line)
        if any(r in line for r in READY):
            return seen


def _until_healthy(
    client: httpx.Client, proc: subprocess.Popen[str], url: str, seen: list[str]
) -> None:
    """The listening line can precede the socket (uvicorn's supervisor logs first): wait,
    on the server process itself (a 0.2 s wait that also notices it dying), until /health
    answers, with a deadline."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if client.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        try:
            proc.wait(timeout=0.2)
            raise AssertionError("mlflow-ui exited:\n" + "".join(seen))
        except subprocess.TimeoutExpired:
            continue
    raise AssertionError("mlflow-ui never answered /health:\n" + "".join(seen))


def test_mlflow_ui_serves_the_sweep_over_rest(tmp_path: Path) -> None:
    data = write_slice(tmp_path / "in", bars=800)
    code, out, err = sweep("--strategy", "bos_orderblock", "--data", str(data), "--method",
                           "grid", "--param", "rr=2:3:1", "--top", "1")  # fmt: skip
    assert code == 0 and out is not None, err
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cluster.cli", "mlflow-ui", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )  # fmt: skip
    try:
        seen = _wait_ready(proc, timeout=180)
        base = f"http://127.0.0.1:{port}/api/2.0/mlflow"
        with httpx.Client(timeout=60) as client:
            _until_healthy(client, proc, f"http://127.0.0.1:{port}/health", seen)
            run = client.get(f"{base}/runs/get", params={"run_id": out["mlflow_run_id"]})
            assert run.status_code == 200, run.text
            body = run.json()["run"]
            tags = {t["key"]: t["value"] for t in body["data"]["tags"]}
            assert tags["fractal.sweep_id"] == out["sweep_id"]
            params = {p["key"]: p["value"] for p in body["data"]["params"]}
            assert params["strategy"] == "bos_orderblock" and params["variants"] == "2"
            metrics = {m["key"]: m["value"] for m in body["data"]["metrics"]}
            assert metrics["dsr"] == pytest.approx(out["dsr"])
            arts = client.get(f"{base}/artifacts/list", params={"run_id": out["mlflow_run_id"]})
            assert arts.status_code == 200, arts.text
            assert "results.parquet" in {f["path"] for f in arts.json()["files"]}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
