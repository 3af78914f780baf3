"""Each runbook of DISASTER_RECOVERY.md walked on the simulator, command by command.

The `fractal ...` steps run through the real CLI (typer, in this process, on the test's
``FRACTAL_DATA_DIR``). The `fractal live` step is the crash suite's live process: the same
StateKeeper and Executor `fractal live` starts (rebuild, recovery by cloid, reconciliation),
without the strategy and feed actors, which play no part in recovery.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from actors.state import backups_dir, journal_path
from cluster.cli import app
from tests.conftest import PROJECT_ROOT
from tests.crash.harness import Bench, bench, converged, intent

runner = CliRunner()
DOC = PROJECT_ROOT / "DISASTER_RECOVERY.md"


def fractal(*args: str, code: int = 0) -> str:
    res = runner.invoke(app, list(args))
    assert res.exit_code == code, f"fractal {' '.join(args)}: {res.output}"
    return str(res.output)


def status() -> dict[str, Any]:
    return dict(json.loads(fractal("status", "--json")))


def breaker(name: str) -> str:
    rows = json.loads(fractal("breaker", "status", "--json"))["breakers"]
    return str(next(b["state"] for b in rows if b["name"] == name))


def resume(name: str) -> None:
    code = fractal("breaker", "resume", name).split()[-1]
    fractal("breaker", "confirm", code)
    assert breaker(name) == "armed"


def open_position(b: Bench, tag: str) -> None:
    b.live(b.script(submit=(intent(b, tag).model_dump_json(),)))
    assert converged(b)["positions"] == pytest.approx({"BTC": 0.01})


def test_the_document_has_the_five_runbooks_and_names_only_real_commands() -> None:
    text = DOC.read_text()
    for title in ("Crash with open positions", "Exchange API down", "Drawdown above 20 %",
                  "Data corruption", "Lost server"):  # fmt: skip
        assert f"## {title}" in text or re.search(rf"## \d\. {re.escape(title)}", text), title
    commands = {m.split()[0] for m in re.findall(r"`fractal ([a-z-]+[^`]*)`", text)}
    for name in commands:
        assert runner.invoke(app, [name, "--help"]).exit_code == 0, f"fractal {name} unknown"


def test_runbook_1_crash_with_open_positions(tmp_path: Path, _isolated_data_dir: Path) -> None:
    with bench(tmp_path, data_dir=_isolated_data_dir) as b:
        open_position(b, "dr1")
        second = intent(b, "dr1-b")
        b.crash(b.script(submit=(second.model_dump_json(),), crash="K8",
                         one_entry_per_symbol=False))  # fmt: skip
        st = status()  # step 1: readable while the bot is down
        assert st["store"] == "ok"
        b.restart()  # step 2: fractal live
        facts = converged(b)  # one stop sized to the position, journal = venue
        assert facts["positions"] == pytest.approx({"BTC": 0.02})
        st = status()  # step 3
        assert st["reconciliation"]["clean"]
        fractal("kill", "--reason", "operator_decides")  # step 4
        assert breaker("kill") == "tripped"


def test_runbook_2_exchange_api_down(tmp_path: Path, _isolated_data_dir: Path) -> None:
    with bench(tmp_path, data_dir=_isolated_data_dir) as b:
        open_position(b, "dr2")
        b.sim.faults.inject("http_5xx", count=10_000, path="/info")
        b.sim.faults.inject("http_5xx", count=10_000, path="/exchange")
        fractal("breaker", "trip", "exchange_failures", "--reason", "api_down")  # step 1
        assert breaker("exchange_failures") == "tripped"
        assert status()["store"] == "ok"  # step 2: the journal answers without the venue
        stops = [o for o in b.sim.venue.open_orders_of(None) if o.is_trigger]
        assert len(stops) >= 1  # the venue's stop keeps protecting while the API is down
        b.restart()  # step 3: the venue answers again (restart clears the faults)
        converged(b)
        assert status()["reconciliation"]["clean"]
        resume("exchange_failures")  # step 4


def test_runbook_3_drawdown(tmp_path: Path, _isolated_data_dir: Path) -> None:
    with bench(tmp_path, data_dir=_isolated_data_dir) as b:
        open_position(b, "dr3")
        fractal("kill", "--reason", "drawdown_20")  # step 1
        assert "kill" in fractal("breaker", "status")  # step 2
        report_day = datetime.now(UTC).date().isoformat()
        fractal("report", "--date", report_day)  # step 3
        assert list((_isolated_data_dir / "reports").glob(f"daily-{report_day}.html"))
        converged(b)  # the stop still rests: halting never removes protection
        resume("kill")  # step 4


def test_runbook_4_journal_corruption(tmp_path: Path, _isolated_data_dir: Path) -> None:
    with bench(tmp_path, data_dir=_isolated_data_dir) as b:
        open_position(b, "dr4")
        (backup,) = sorted(backups_dir(_isolated_data_dir).iterdir())  # the start's backup
        b.live(b.script())  # one more incarnation: the day's backup now holds the position
        jp = journal_path(_isolated_data_dir)
        for extra in ("-wal", "-shm"):
            jp.with_name(jp.name + extra).unlink(missing_ok=True)
        jp.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)  # damaged
        refused = b.start(b.script())  # fractal live refuses: integrity check failed
        refused.join(60)
        assert refused.exitcode == 3
        fractal("status", code=2)
        fractal("restore", "--from", str(backup))  # step 2
        assert list(jp.parent.glob("journal.sqlite.corrupt-*"))  # kept aside
        assert status()["store"] == "ok"  # step 3
        b.restart()  # step 4: reconciliation records what the venue did since
        assert converged(b)["positions"] == pytest.approx({"BTC": 0.01})


def test_runbook_5_lost_server(tmp_path: Path, _isolated_data_dir: Path) -> None:
    offsite = tmp_path / "offsite"
    with bench(tmp_path, data_dir=_isolated_data_dir) as b:
        open_position(b, "dr5")
        out = fractal("backup", "--to", str(offsite))  # prepare
        (copy,) = offsite.iterdir()
        assert str(copy) in out.replace("\n", "")
        shutil.rmtree(_isolated_data_dir)  # the server is gone
        fractal("restore", "--from", str(copy))  # step 2
        assert status()["positions"]  # step 3
        res = runner.invoke(app, ["preflight"])  # step 4: runs, names its failed items
        assert res.exit_code in (0, 1) and "disaster_recovery_doc" in res.output
        b.restart()  # step 5
        assert converged(b)["positions"] == pytest.approx({"BTC": 0.01})


def test_restore_refuses_a_damaged_backup_and_changes_nothing(
    tmp_path: Path, _isolated_data_dir: Path
) -> None:
    with bench(tmp_path, data_dir=_isolated_data_dir) as b:
        open_position(b, "dr6")
        (backup,) = backups_dir(_isolated_data_dir).iterdir()
        (backup / "journal.sqlite").write_bytes(b"tampered")
        before = journal_path(_isolated_data_dir).read_bytes()
        out = fractal("restore", "--from", str(backup), code=2)
        assert "nothing was changed" in out
        assert journal_path(_isolated_data_dir).read_bytes() == before
        fractal("restore", "--from", str(tmp_path / "nope"), code=2)
