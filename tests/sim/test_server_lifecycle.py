"""Server lifecycle: clean shutdown (thread joined, port released), accelerated clock, config
files, persisted state on disk, and the `fractal sim` helpers."""

from __future__ import annotations

import json
import socket
import stat
import threading
from pathlib import Path

import pytest
import requests

from actors.venues.simulator import SimulatorConfig, run_simulator
from actors.venues.simulator.clock import Clock
from actors.venues.simulator.config import parse_account
from actors.venues.simulator.state import STATE_FILE
from tests.conftest import MARKET

ADDR = "0x" + "c" * 40


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_context_manager_joins_thread_and_frees_port(tmp_path: Path) -> None:
    before = {t.name for t in threading.enumerate()}
    cfg = SimulatorConfig(symbols=["BTC"], accounts={ADDR: 100.0}, state_dir=tmp_path, replay=False)
    with run_simulator(cfg) as sim:
        port = sim.port
        assert sim.base_url == f"http://127.0.0.1:{port}"
        assert requests.post(sim.base_url + "/info", json={"type": "meta"}, timeout=5).ok
    assert not _port_open(port)
    assert "hl-simulator" not in {t.name for t in threading.enumerate()} - before
    assert (tmp_path / STATE_FILE).exists()


def test_accelerated_clock_replays_bars(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    cfg = SimulatorConfig(
        symbols=["BTC"],
        clock="accelerated",
        speed=600,
        market_dir=MARKET,
        tick_interval_s=0.05,
        state_dir=tmp_path,
    )
    with run_simulator(cfg) as sim:
        start = sim.clock.now_ms()
        moved = threading.Event()
        sim.clock.add_listener(lambda now: moved.set() if now - start >= 60_000 else None)
        assert moved.wait(10), "accelerated clock did not reach +60 s of market time"
        assert sim.venue.now - start >= 60_000
    assert set(threading.enumerate()) <= before  # server and ticker threads all joined


def test_clock_rules() -> None:
    c = Clock("manual", 1000)
    assert c.advance(seconds=1.5) == 2500
    with pytest.raises(ValueError, match="backwards"):
        c.set_time(100)
    with pytest.raises(ValueError, match="unknown clock mode"):
        Clock("warp")
    with pytest.raises(RuntimeError, match="manual"):
        Clock("real", 0).advance(seconds=1)


def test_config_file_and_bad_values(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(
        f'symbols = ["BTC"]\nreplay = false\n[accounts]\n"{ADDR}" = 250.0\n[faults.latency]\nms = 5\n'
    )
    cfg = SimulatorConfig.from_file(path)
    assert cfg.accounts == {ADDR: 250.0} and cfg.faults == {"latency": {"ms": 5}}
    (tmp_path / "bad.json").write_text(json.dumps({"symbol": ["BTC"]}))
    with pytest.raises(ValueError, match="unknown simulator settings \\['symbol'\\]"):
        SimulatorConfig.from_file(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="loopback"):
        SimulatorConfig(host="0.0.0.0")
    assert parse_account(f"{ADDR.upper().replace('0X', '0x')}=12.5") == (ADDR, 12.5)
    for bad in ("nope", "0x12=5", f"{ADDR}=abc", f"{ADDR}=-1"):
        with pytest.raises(ValueError, match="--account"):
            parse_account(bad)


def test_demo_key_file_is_private(tmp_path: Path) -> None:
    from cluster.cli_sim import write_demo_key

    addr, path = write_demo_key(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert addr.startswith("0x") and addr.lower()[2:] not in path.read_text()
    assert write_demo_key(tmp_path) == (addr, path)  # reused, not replaced


def test_cli_rejects_bad_account_with_clear_error() -> None:
    from typer.testing import CliRunner

    from cluster.cli import app

    result = CliRunner().invoke(app, ["sim", "--account", "0x12=5", "--port", "0"])
    assert result.exit_code == 1
    assert "--account address must be 0x + 40 hex digits" in result.output


def test_start_stop_many_times_with_open_subscriptions(tmp_path: Path) -> None:
    """Every paper run starts and stops a simulator: each stop must close the SDK's websockets,
    join the server thread and free the port, with the ticker running or not."""
    import eth_account
    from hyperliquid.info import Info

    wallet = eth_account.Account.create()
    before = set(threading.enumerate())
    for run in range(12):
        cfg = SimulatorConfig(
            symbols=["BTC"],
            accounts={wallet.address: 10_000.0},
            clock="accelerated" if run % 2 else "manual",
            speed=600,
            tick_interval_s=0.02,
            state_dir=tmp_path,  # each run resumes the previous one's state
            market_dir=MARKET,
        )
        with run_simulator(cfg) as sim:
            port, server = sim.port, sim._thread
            infos, got = [], []
            for _ in range(2):
                info = Info(sim.base_url, skip_ws=False)
                ev = threading.Event()
                info.subscribe({"type": "allMids"}, lambda _m, ev=ev: ev.set())
                info.subscribe({"type": "l2Book", "coin": "BTC"}, lambda _m: None)
                info.subscribe({"type": "candle", "coin": "BTC", "interval": "1m"}, lambda _m: None)
                info.subscribe({"type": "orderUpdates", "user": wallet.address}, lambda _m: None)
                infos.append(info)
                got.append(ev)
            assert all(ev.wait(10) for ev in got), "no allMids snapshot"
            if cfg.clock == "manual":
                sim.step_bar()
        assert server is not None and not server.is_alive()
        assert not _port_open(port)
        for info in infos:
            assert info.ws_manager is not None
            info.ws_manager.join(timeout=10)
            assert not info.ws_manager.is_alive()  # the server closed every socket
            info.disconnect_websocket()  # ends the SDK's own ping thread
    server_threads = {t for t in set(threading.enumerate()) - before if "send_ping" not in t.name}
    assert not server_threads  # server, ticker and executor threads all joined
