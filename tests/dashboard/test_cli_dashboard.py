"""`fractal dashboard` contract: refuses without a token (exit 2); serves Streamlit's health
endpoint on 127.0.0.1:P and on no other address; SIGTERM / SIGINT stop it and its server."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from cluster.cli import app
from tests.dashboard.server import dashboard, health
from tests.live.helpers import wait_for

TOKEN = "correct-horse-battery-staple"


def _other_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback."""
    out = []
    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            if a.family == socket.AF_INET and not a.address.startswith("127."):
                out.append(a.address)
    return out


@pytest.mark.parametrize("value", [None, "", "   "])
def test_refuses_without_a_token(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("DASHBOARD_TOKEN", raising=False)
    else:
        monkeypatch.setenv("DASHBOARD_TOKEN", value)
    res = CliRunner().invoke(app, ["dashboard", "--port", "1"])
    assert res.exit_code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "DASHBOARD_TOKEN is not set" in lines[0]


def test_a_short_token_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHBOARD_TOKEN", "tiny-secret")
    res = CliRunner().invoke(app, ["dashboard"])
    assert res.exit_code == 2
    assert "DASHBOARD_TOKEN" in res.stderr and "tiny-secret" not in res.output + res.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_on_loopback_only_and_stops_on_signal(
    _isolated_data_dir: Path, tmp_path: Path, sig: int
) -> None:
    with dashboard(_isolated_data_dir, tmp_path, TOKEN) as srv:
        assert health("127.0.0.1", srv.port) == "ok"
        for addr in _other_addresses():
            assert health(addr, srv.port) is None, f"the dashboard answers on {addr}"
        children = psutil.Process(srv.proc.pid).children(recursive=True)
        assert children, "streamlit runs as a child of `fractal dashboard`"
        assert srv.stop(sig) == 0
        gone, alive = psutil.wait_procs(children, timeout=30)
        assert not alive, f"left running: {[p.pid for p in alive]}"
        wait_for(lambda: health("127.0.0.1", srv.port) is None, 30, "the port to close")
    log = srv.log.read_text()
    assert f"127.0.0.1:{srv.port}" in log and TOKEN not in log
