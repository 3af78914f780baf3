"""`fractal breaker` / `fractal kill` / `fractal preflight` and the mainnet gate (fast, no Ray)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from actors.state.breakers import BreakerStore, events_log_path, read_states
from cluster.cli import app
from strategies import risk
from strategies.breakers import BREAKERS, halted

runner = CliRunner()
KEY = "0x" + "ab" * 32


def _status() -> dict[str, Any]:
    res = runner.invoke(app, ["breaker", "status", "--json"])
    assert res.exit_code == 0, res.output
    return {b["name"]: b for b in json.loads(res.stdout)["breakers"]}


def _log(data_dir: Path) -> list[str]:
    p = events_log_path(data_dir)
    return p.read_text().splitlines() if p.exists() else []


def test_fresh_store_lists_the_four_breakers_armed() -> None:
    st = _status()
    assert set(BREAKERS) <= set(st)
    assert all(st[n]["state"] == "armed" and not st[n]["tripped"] for n in BREAKERS)


def test_trip_resume_confirm_cycle(_isolated_data_dir: Path) -> None:
    res = runner.invoke(app, ["breaker", "trip", "drawdown", "--reason", "test"])
    assert res.exit_code == 0, res.output
    assert _status()["drawdown"]["state"] == "tripped"
    (line,) = _log(_isolated_data_dir)
    ev = json.loads(line)
    assert (ev["breaker"], ev["action"]) == ("drawdown", "trip") and "time" in ev and "values" in ev

    res = runner.invoke(app, ["breaker", "resume", "drawdown"])
    assert res.exit_code == 0, res.output
    code = res.stdout.split()[-1]
    before = (_status(), _log(_isolated_data_dir))
    wrong = runner.invoke(app, ["breaker", "confirm", "0" * len(code)])
    assert wrong.exit_code == 2
    assert (_status(), _log(_isolated_data_dir)) == before  # a wrong code changes nothing

    assert runner.invoke(app, ["breaker", "confirm", code]).exit_code == 0
    assert _status()["drawdown"]["state"] == "armed"
    n = len(_log(_isolated_data_dir))
    reused = runner.invoke(app, ["breaker", "confirm", code])
    assert reused.exit_code == 2 and "already used" in reused.output
    assert _status()["drawdown"]["state"] == "armed" and len(_log(_isolated_data_dir)) == n


@pytest.mark.parametrize(("args", "needle"), [
    (["breaker", "trip", "nope"], "unknown breaker 'nope'"),
    (["breaker", "resume", "loss_streak"], "not tripped"),
    (["breaker", "confirm", "abcdef12"], "no breaker is waiting"),
])  # fmt: skip
def test_bad_input_exits_2_and_changes_nothing(
    args: list[str], needle: str, _isolated_data_dir: Path
) -> None:
    runner.invoke(app, ["breaker", "trip", "volatility"])
    before = (_status(), _log(_isolated_data_dir))
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and needle in res.output
    assert (_status(), _log(_isolated_data_dir)) == before


def test_garbled_log_line_is_reported_and_nothing_is_lost(_isolated_data_dir: Path) -> None:
    runner.invoke(app, ["breaker", "trip", "loss_streak"])
    with events_log_path(_isolated_data_dir).open("a") as f:
        f.write("{not json\n")
    res = runner.invoke(app, ["breaker", "status"])
    assert res.exit_code == 0 and "garbled" in res.output
    runner.invoke(app, ["breaker", "trip", "kill"])
    lines = _log(_isolated_data_dir)
    assert len(lines) == 3 and lines[1] == "{not json"  # appended after, never rewritten


def test_restart_sees_tripped_breaker_and_risk_rejects_by_name(_isolated_data_dir: Path) -> None:
    BreakerStore(_isolated_data_dir).trip("exchange_failures", "test", {"failures": 3.0})
    states = read_states(_isolated_data_dir)  # a fresh reader, as a restarted process
    tripped = tuple(halted(states))
    assert tripped == ("exchange_failures",)
    s = risk.PortfolioState(equity=10_000.0, reconciled=True, breakers=tripped)
    d = risk.evaluate(risk.Proposal("BTC", "buy", 100.0, 99.0), s, risk.Limits())
    assert (d.approved, d.rule) == (False, "breaker:exchange_failures")


def test_kill_trips_the_kill_breaker() -> None:
    assert runner.invoke(app, ["kill"]).exit_code == 0
    assert _status()["kill"]["state"] == "tripped"


def test_canary_cap_limits_notional() -> None:
    s = risk.PortfolioState(equity=100_000.0, reconciled=True)
    p = risk.Proposal("BTC", "buy", 100.0, 99.0)
    free = risk.evaluate(p, s, risk.Limits())
    capped = risk.evaluate(p, s, risk.Limits(max_position_usd=500.0))
    assert free.size * 100.0 > 500.0
    assert capped.approved and capped.size * 100.0 == pytest.approx(500.0)


def test_preflight_on_fresh_store_fails_with_named_items() -> None:
    res = runner.invoke(app, ["preflight", "--json"])
    assert res.exit_code == 1
    report = json.loads(res.stdout)
    assert report["passed"] is False
    names = {i["name"] for i in report["items"] if not i["passed"]}
    assert {"testnet_run_7_days", "trades_20", "breakers_exercised", "restarts_reconciled",
            "backups_present"} <= names  # fmt: skip
    assert all(i["evidence"] for i in report["items"])


def test_breakers_exercised_passes_after_each_breaker_cycles(_isolated_data_dir: Path) -> None:
    from cluster.cli_preflight import check

    store = BreakerStore(_isolated_data_dir)
    for name in BREAKERS:
        store.trip(name, "drill")
        store.request_resume(name, f"code-{name}")
        store.confirm(f"code-{name}")
    items = {i["name"]: i for i in check(_isolated_data_dir)["items"]}
    assert items["breakers_exercised"]["passed"]


def test_mainnet_refuses_before_any_venue_and_never_prints_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import cluster.cli_live as cli_live

    connects: list[object] = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, addr: connects.append(addr))
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: connects.append(a))
    monkeypatch.setattr(cli_live, "run_live", lambda *a, **k: pytest.fail("run_live started"))
    monkeypatch.setenv("PRIVATE_KEY", KEY)
    monkeypatch.setenv("ACCOUNT_ADDRESS", "0x" + "12" * 20)
    res = runner.invoke(app, ["live", "--network", "mainnet"])
    assert res.exit_code == 1
    assert "preflight failed" in res.output and "trades_20" in res.output
    assert KEY not in res.output and KEY[2:] not in res.output
    assert connects == []


@pytest.mark.parametrize(("typed", "starts"), [("I ACCEPT THE RISK\n", True), ("yes\n", False)])
def test_mainnet_override_needs_the_typed_acknowledgement(
    typed: str, starts: bool, monkeypatch: pytest.MonkeyPatch, _isolated_data_dir: Path
) -> None:
    import cluster.cli_live as cli_live

    started: list[object] = []
    monkeypatch.setattr(cli_live, "run_live", lambda *a, **k: started.append(a))
    monkeypatch.setenv("PRIVATE_KEY", KEY)
    monkeypatch.setenv("ACCOUNT_ADDRESS", "0x" + "12" * 20)
    res = runner.invoke(app, ["live", "--network", "mainnet", "--accept-preflight-failure"],
                        input=typed)  # fmt: skip
    assert (res.exit_code == 0, bool(started)) == (starts, starts)
    assert KEY not in res.output
    logged = [line for line in _log(_isolated_data_dir) if "override_acknowledged" in line]
    assert len(logged) == (1 if starts else 0)
