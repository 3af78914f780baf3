"""`fractal sim` as a user runs it: prints its URL, serves the SDK, stops on Ctrl-C or SIGTERM
(every time, also right after start-up and with websockets open), resumes state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import eth_account
import pytest
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info


def _start(data_dir: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "FRACTAL_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cluster.cli", "sim", "--port", "0", "--symbols", "BTC", *args],
        cwd=data_dir.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # blocks until the URL line (or EOF if it failed)
        if line.startswith("http://127.0.0.1:"):
            return proc, line.strip()
    proc.wait(timeout=30)
    raise AssertionError(
        f"fractal sim did not print its URL: {proc.stderr.read() if proc.stderr else ''}"
    )


def _stop(proc: subprocess.Popen[str], sig: signal.Signals = signal.SIGINT) -> str:
    """Signal the simulator and wait for it, draining its pipes (a child blocked on a full
    stdout/stderr pipe could never exit); if it does not stop, kill it and show its stderr.
    Returns its stdout."""
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=30)
        raise AssertionError(
            f"fractal sim did not stop on {sig.name} within 60 s; stderr:\n{err[-3000:]}"
        ) from None
    assert proc.returncode == 0, f"{sig.name}: exit {proc.returncode}; stderr:\n{err[-3000:]}"
    assert f"{sig.name}: stopping simulator" in out
    return out


def test_fractal_sim_demo_account_trades_and_resumes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc, url = _start(data_dir)
    try:
        key_file = data_dir / "sim" / "demo_account.key"
        wallet = eth_account.Account.from_key(key_file.read_text().strip())
        ex = Exchange(wallet, url)
        st = ex.order("BTC", True, 0.001, 100_000, {"limit": {"tif": "Gtc"}})
        oid = st["response"]["data"]["statuses"][0]["resting"]["oid"]
        assert (
            float(
                Info(url, skip_ws=True).user_state(wallet.address)["marginSummary"]["accountValue"]
            )
            == 10_000.0
        )
    finally:
        _stop(proc)
    proc, url = _start(data_dir)
    try:
        assert [o["oid"] for o in Info(url, skip_ws=True).open_orders(wallet.address)] == [oid]
    finally:
        _stop(proc)


@pytest.mark.parametrize(
    ("sig", "runs"),
    [pytest.param(signal.SIGINT, 6, id="SIGINT"), pytest.param(signal.SIGTERM, 3, id="SIGTERM")],
)
def test_fractal_sim_stops_on_every_signal(tmp_path: Path, sig: signal.Signals, runs: int) -> None:
    """The signal comes right after the URL line (start-up barely over) and, every other run,
    with an SDK websocket subscribed: each run must exit 0 having stopped and persisted. The
    old Event().wait() lost such signals (exit 130 without stopping, or no exit at all) and
    SIGTERM killed the process without a stop."""
    data_dir = tmp_path / "data"
    state = data_dir / "sim" / "sim_state.json"
    for run in range(runs):
        proc, url = _start(data_dir)
        info = None
        try:
            if run % 2:
                info = Info(url, skip_ws=False)
                got = threading.Event()
                info.subscribe({"type": "allMids"}, lambda _msg, got=got: got.set())
                assert got.wait(30), "no allMids snapshot"
            before = state.stat().st_mtime_ns if state.exists() else 0
        finally:
            _stop(proc, sig)
        assert state.stat().st_mtime_ns > before  # stop() persisted
        if info is not None:
            assert info.ws_manager is not None
            info.ws_manager.join(timeout=30)  # the server closed the socket on its way out
            assert not info.ws_manager.is_alive()


def test_an_answered_order_survives_sigkill(tmp_path: Path) -> None:
    """No stop, no final snapshot: the order's journal line (fsynced before the reply) is
    what the restarted simulator resumes from."""
    data_dir = tmp_path / "data"
    proc, url = _start(data_dir)
    try:
        wallet = eth_account.Account.from_key(
            (data_dir / "sim" / "demo_account.key").read_text().strip()
        )
        st = Exchange(wallet, url).order("BTC", True, 0.001, 100_000, {"limit": {"tif": "Gtc"}})
        oid = st["response"]["data"]["statuses"][0]["resting"]["oid"]
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert (data_dir / "sim" / "sim_state.journal").stat().st_size > 0
    proc, url = _start(data_dir)
    try:
        assert [o["oid"] for o in Info(url, skip_ws=True).open_orders(wallet.address)] == [oid]
    finally:
        _stop(proc)
