"""`fractal status [--json]`: read-only view of the state store; clear exits."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from actors.state import journal_path, state_json_path
from actors.state.journal import Journal
from actors.state.snapshot import build_state_payload, write_state_json
from cluster.cli import app
from tests.state.helpers import fill, intent

runner = CliRunner()


def test_missing_store_says_so_with_zero_counts(_isolated_data_dir: Path) -> None:
    res = runner.invoke(app, ["status", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["store"] == "missing" and out["orders"] == 0 and out["fills"] == 0
    human = runner.invoke(app, ["status"])
    assert human.exit_code == 0 and "no state store" in human.stdout
    assert not journal_path(_isolated_data_dir).exists()  # status never creates the store


def test_counts_and_positions_while_the_writer_is_open(_isolated_data_dir: Path) -> None:
    with Journal(journal_path(_isolated_data_dir)) as j:
        e = intent(1)
        j.record_intent(e)
        j.record_fill(fill("t1", cloid=e.cloid, size=0.5, price=100.0, t=1))
        j.record_fill(fill("t2", cloid=e.cloid, size=0.5, price=102.0, t=2))
        write_state_json(state_json_path(_isolated_data_dir), build_state_payload(j))
        res = runner.invoke(app, ["status", "--json"])
        assert res.exit_code == 0, res.output
        out = json.loads(res.stdout)
        assert (out["orders"], out["fills"]) == (1, 2)
        assert isinstance(out["orders"], int) and isinstance(out["fills"], int)
        [p] = out["positions"]
        assert p["size"] == 1.0 and p["entry"] == 101.0 and p["stop"] == 90.0
        assert out["open_orders"] == []  # fully filled by its fills
        assert out["state_json"]["written_ms"] > 0
        human = runner.invoke(app, ["status"])
        assert human.exit_code == 0 and "BTC" in human.stdout and "1 / 2 / 0" in human.stdout


def test_corrupt_journal_exits_2(_isolated_data_dir: Path) -> None:
    path = journal_path(_isolated_data_dir)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage" * 500)
    res = runner.invoke(app, ["status", "--json"])
    assert res.exit_code == 2
    assert "corrupt state store" in res.stderr and "not a readable SQLite journal" in res.stderr


def test_corrupt_state_json_exits_2(_isolated_data_dir: Path) -> None:
    Journal(journal_path(_isolated_data_dir)).close()
    state_json_path(_isolated_data_dir).write_text('{"format": "fractal-state/1", "sta')
    res = runner.invoke(app, ["status"])
    assert res.exit_code == 2 and "truncated" in res.stderr


def test_signals_equity_and_reconciliation_are_reported(_isolated_data_dir: Path) -> None:
    from actors.messages import RiskDecision, Signal
    from actors.state.reconcile import reconcile
    from actors.venues.base import VenuePosition

    with Journal(journal_path(_isolated_data_dir)) as j:
        for n, (approved, rule) in enumerate([(True, "approved"), (False, "max_open_positions")]):
            sig = Signal(source="runner", seq=n, signal_id=f"sig{n}", strategy="s", symbol="BTC",
                         bar_time_ms=1000 * n, side="buy", kind="market", price=None, stop=90.0)  # fmt: skip
            j.record_signal(sig, RiskDecision(source="risk", seq=n, signal_id=sig.signal_id,
                                              approved=approved, rule=rule))  # fmt: skip
        j.record_intent(intent(0))  # sig0 was acted on
        j.record_equity(2000, 9_990.5)
        j.record_reconciliation(reconcile({}, [], [VenuePosition(symbol="SOL", size=1.0,
                                                                 entry_price=20.0)], [], []))  # fmt: skip
    out = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    assert [(s["signal_id"], s["acted"], s["rule"]) for s in out["signals_recent"]] == [
        ("sig1", False, "max_open_positions"), ("sig0", True, "approved")
    ]  # fmt: skip
    assert out["equity"] == {"time_ms": 2000, "equity": 9_990.5}
    assert out["reconciliation"]["clean"] is False
    assert out["reconciliation"]["blocked_symbols"] == ["SOL"]
    assert [o["status"] for o in out["open_orders"]] == ["journaled"]  # never acknowledged
    assert out["last_write_ms"] is not None and out["state_json"] is None
    human = runner.invoke(app, ["status"], terminal_width=200)
    assert human.exit_code == 0
    for text in ("max_open_positions", "difference(s)", "SOL", "9,990.5", "journaled"):
        assert text in human.stdout, text
