"""`fractal sim` as a user runs it: prints its URL, serves the SDK, stops on Ctrl-C, resumes state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import eth_account
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


def _stop(proc: subprocess.Popen[str]) -> None:
    """Ctrl-C the simulator and wait for it, draining its pipes (a child blocked on a full
    stdout/stderr pipe could never exit); if it does not stop, kill it and show its stderr."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=30)
        raise AssertionError(
            f"fractal sim did not stop on SIGINT within 60 s; stderr:\n{err[-3000:]}"
        ) from None


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
    assert proc.returncode == 0
    proc, url = _start(data_dir)
    try:
        assert [o["oid"] for o in Info(url, skip_ws=True).open_orders(wallet.address)] == [oid]
    finally:
        _stop(proc)
